# Input functions and wildcard constraints. The config is read and checked in the Snakefile:
# PLAN (sggan.workflow_config) says what runs, segmentation.stages each training stage's settings.
import json
import os
import re

SEGMENTATION = config["segmentation"]


def alternation(names):
    return "|".join(re.escape(n) for n in names) if names else "(?!)"


# {adapted} is a key of adapted frames: `sggan-2k/seed1` for a translator that trains (one per
# seed), `source-only` or `ideal` for those that all seeds share (Plan.adapted_run); {translated}
# the keys that a translator writes (not the toy world's ideal frames).
wildcard_constraints:
    method=alternation(PLAN.methods),
    seed=alternation([str(s) for s in PLAN.seeds]),
    trained=alternation(PLAN.trainable),
    translated=alternation([PLAN.adapted_run(m, s) for m in PLAN.translators for s in PLAN.seeds]),
    adapted=alternation(PLAN.adapted_runs),
    split="train|val",


def toy_world_done(wildcards=None):
    """The toy world's marker, for the jobs that read it (nothing when the data is real)."""
    return ["results/data/toy_world.txt"] if PLAN.toy else []


def translator_name(wildcards):
    if "translated" in wildcards.keys():
        return wildcards.translated.split(os.sep)[0]  # "{method}/seed{N}" or "{method}" -> the method
    return wildcards.trained


def translator_model(wildcards):
    return PLAN.translators[translator_name(wildcards)]["model"]


def translator_params(wildcards):
    return json.dumps(PLAN.translators[translator_name(wildcards)].get("params", {}), sort_keys=True)


def translator_source_list(wildcards):
    return f"results/splits/{PLAN.translators[wildcards.trained]['regime']}/translator_source.tsv"


def translator_run(key):
    """A translator's training run folder (checkpoint, samples, loss log and the generator), of
    one seed (``sggan-2k/seed0``); a translator with nothing to learn has one folder (its name)."""
    return PLAN.shared(f"results/translators/{key}")


def translator_run_dir(wildcards):
    if "trained" in wildcards.keys():
        return translator_run(f"{wildcards.trained}/seed{wildcards.seed}")
    return translator_run(wildcards.translated)


def translator_checkpoint(wildcards):
    """The generator that adapts these frames, or nothing for a translator with nothing to learn."""
    return (
        [f"results/translators/{wildcards.translated}/generator.pt"]
        if translator_name(wildcards) in PLAN.trainable
        else []
    )


def shard_of(scatteritem):
    index, count = scatteritem.split("-of-")
    return int(index) - 1, int(count)


def shown(method):
    """The adapted-frames key that figures, the A/B kit and the quality table show: the first seed's."""
    return PLAN.adapted_run(method, PLAN.seed)


def adapted_frames(methods):
    """The gathered frame lists of these translators (the first seed's): every adapted image is written."""
    return [f"results/adapted/{shown(m)}/frames.tsv" for m in methods]


def adapted_images(key):
    """The folder of adapted {id}.png of an adapted-frames key (the toy world writes the ideal ones itself)."""
    if key == "ideal":
        return f"{PLAN.toy_dir}/ideal/images"
    return PLAN.shared(f"results/adapted/{key}/images")


def predicted_labels(method, seed):
    return PLAN.shared(f"results/predictions/{method}/seed{seed}/labels")


def scores(method, seed):
    return f"results/scores/{method}/seed{seed}.json"


def no_amp(enabled):
    """The commands' switch for full fp32 on CUDA (bf16 autocast is their default)."""
    return [] if enabled else ["--no-amp"]


def segmentation_frames(wildcards):
    """The frame list a method's segmentation network of this seed trains on."""
    if wildcards.method == "oracle":
        return "results/data/cityscapes_train.tsv"
    return f"results/adapted/{PLAN.adapted_run(wildcards.method, int(wildcards.seed))}/frames.tsv"


def segmentation_settings(stage):
    """The stage's settings, for `python -m segmentation.train --params`."""
    return json.dumps(stages.stage_settings(SEGMENTATION, stage), sort_keys=True)


def segmentation_run(method, seed, stage):
    """A segmentation stage's run folder (checkpoint, train_log.csv; model.pt is also a declared output)."""
    return PLAN.shared(f"results/segmentation/{method}/seed{seed}/{stage}")


def segmentation_run_dir(stage):
    return lambda wildcards: segmentation_run(wildcards.method, wildcards.seed, stage)


def segmentation_model(method, seed):
    """The model.pt that predicts: the last stage's."""
    return f"results/segmentation/{method}/seed{seed}/{stages.final_stage(SEGMENTATION)}/model.pt"


def segmentation_launcher():
    """torchrun with one process per GPU when jobs get several; the interpreter otherwise."""
    gpus = PLAN.gpus_per_job
    return f'"$PYTHON" -m torch.distributed.run --standalone --nproc_per_node {gpus}' if gpus > 1 else '"$PYTHON"'


def tile_flag():
    return ["--tile", SEGMENTATION["tile"]] if SEGMENTATION.get("tile") else []


def kid_weights():
    quality = config.get("quality", {})
    weights = quality.get("kid_weights", "imagenet")
    path = quality.get("kid_weights_file")
    return ["--weights", weights] + (["--weights-file", path] if weights != "random" and path else [])


def figure_frames():
    frames = config.get("figures", {}).get("num_frames")
    return ["--num", frames] if frames else []


def report_figures():
    """The figure PNGs `all` asks for: those configured in `figures:`, the translators' loss curves
    and sample grids, and the segmentation training curves."""
    figures = [f"results/figures/{name}.png" for name in PLAN.figures]
    trained = ["results/figures/loss_curves.png", "results/figures/sample_grids.png"] if PLAN.trainable else []
    return figures + trained + ["results/figures/segmentation_curves.png"]


def table2_scores():
    """``--score`` of every method and seed, as eval.table2 reads them."""
    return [f"--score={m}@{s}={scores(m, s)}" for m in PLAN.methods for s in PLAN.seeds]


def table2_comparisons():
    return [arg for c in PLAN.comparisons for arg in (f"--compare={c['a']},{c['b']}", f"--claim={c['claim']}")]


def bootstrap_draws():
    draws = config.get("evaluation", {}).get("bootstrap_draws")
    return ["--bootstrap-draws", draws] if draws else []


def ab_answers(wildcards):
    """The answers database when raters have started (it is never a Snakemake output, so a rerun
    cannot delete answers); its appearance or any new answer makes Table 1 out of date. It is
    where the raters' app runs, never in a storage provider (local)."""
    return [local(PLAN.ab_answers)] if os.path.exists(PLAN.ab_answers) else []


def study_tables():
    return ["results/tables/table1.csv", "results/tables/table1.md"] if PLAN.ab_pairs else []
