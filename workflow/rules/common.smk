# Input functions and wildcard constraints. The config is read and checked in the Snakefile:
# PLAN (sggan.workflow_config) says what runs, segmentation.stages each training stage's settings.
import json
import os
import re

from eval.table2 import default_comparisons

SEGMENTATION = config["segmentation"]


def alternation(names):
    return "|".join(re.escape(n) for n in names) if names else "(?!)"


wildcard_constraints:
    method=alternation(PLAN.methods),
    translator=alternation(list(PLAN.translators)),
    trained=alternation(PLAN.trainable),
    adapted=alternation(PLAN.adapted),
    split="train|val",


def toy_world_done(wildcards=None):
    """The toy world's marker, for the jobs that read it (nothing when the data is real)."""
    return ["results/data/toy_world.txt"] if PLAN.toy else []


def translator_name(wildcards):
    return wildcards.get("trained", wildcards.get("translator"))


def translator_model(wildcards):
    return PLAN.translators[translator_name(wildcards)]["model"]


def translator_params(wildcards):
    return json.dumps(PLAN.translators[translator_name(wildcards)].get("params", {}), sort_keys=True)


def translator_source_list(wildcards):
    return f"results/splits/{PLAN.translators[wildcards.trained]['regime']}/translator_source.tsv"


def translator_run(method):
    """A translator's training run folder: checkpoint, samples, loss log and the generator."""
    return PLAN.shared(f"results/translators/{method}")


def translator_run_dir(wildcards):
    return translator_run(translator_name(wildcards))


def translator_checkpoint(wildcards):
    """A trained translator's generator, or nothing for one with nothing to learn."""
    return [f"results/translators/{wildcards.translator}/generator.pt"] \
        if wildcards.translator in PLAN.trainable else []


def shard_of(scatteritem):
    index, count = scatteritem.split("-of-")
    return int(index) - 1, int(count)


def adapted_frames(methods):
    """The gathered frame lists of these translators: every adapted image is written."""
    return [f"results/adapted/{m}/frames.tsv" for m in methods]


def adapted_images(method):
    """The folder of a method's adapted {id}.png (the toy world writes the ideal ones itself)."""
    if method == "ideal":
        return f"{PLAN.toy_dir}/ideal/images"
    return PLAN.shared(f"results/adapted/{method}/images")


def predicted_labels(method):
    return PLAN.shared(f"results/predictions/{method}/labels")


def no_amp(enabled):
    """The commands' switch for full fp32 on CUDA (bf16 autocast is their default)."""
    return [] if enabled else ["--no-amp"]


def segmentation_frames(wildcards):
    """The frame list a method's segmentation network trains on."""
    if wildcards.method == "oracle":
        return "results/data/cityscapes_train.tsv"
    return f"results/adapted/{wildcards.method}/frames.tsv"


def segmentation_settings(stage):
    """The stage's settings, for `python -m segmentation.train --params`."""
    return json.dumps(stages.stage_settings(SEGMENTATION, stage), sort_keys=True)


def segmentation_run_dir(stage):
    return lambda wildcards: PLAN.shared(f"results/segmentation/{wildcards.method}/{stage}")


def segmentation_model(method):
    """The model.pt that predicts: the last stage's."""
    return f"results/segmentation/{method}/{stages.final_stage(SEGMENTATION)}/model.pt"


def segmentation_launcher():
    """torchrun with one process per GPU when jobs get several; the interpreter otherwise."""
    gpus = PLAN.gpus_per_job
    return f'"$PYTHON" -m torch.distributed.run --standalone --nproc_per_node {gpus}' if gpus > 1 else '"$PYTHON"'


def tile_flag():
    return ["--tile", SEGMENTATION["tile"]] if SEGMENTATION.get("tile") else []


def table2_comparisons():
    """Table 2's paired comparisons: the pairs the paper's claims rest on."""
    pairs = default_comparisons(PLAN.translators, config["splits"]["regimes"])
    return [flag for c in pairs for flag in (f"--compare={c.a},{c.b}", f"--claim={c.claim}")]


def kid_weights():
    quality = config.get("quality", {})
    weights = quality.get("kid_weights", "imagenet")
    path = quality.get("kid_weights_file")
    return ["--weights", weights] + (["--weights-file", path] if weights == "imagenet" and path else [])


def figure_frames():
    frames = config.get("figures", {}).get("num_frames")
    return ["--num", frames] if frames else []


def report_figures():
    """The figure PNGs `all` asks for: those configured in `figures:`, and the loss curves."""
    figures = [f"results/figures/{name}.png" for name in PLAN.figures]
    return figures + (["results/figures/loss_curves.png"] if PLAN.trainable else [])


def ab_answers(wildcards):
    """The answers database when raters have started (it is never a Snakemake output, so a rerun
    cannot delete answers); its appearance or any new answer makes Table 1 out of date. It is
    where the raters' app runs, never in a storage provider (local)."""
    return [local(PLAN.ab_answers)] if os.path.exists(PLAN.ab_answers) else []


def study_tables():
    return ["results/tables/table1.csv", "results/tables/table1.md"] if PLAN.ab_pairs else []
