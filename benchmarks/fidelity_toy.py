"""How far two fidelity choices move the toy world's Table 2 (docs/fidelity.md, issue 13 items 3, 5).

Reruns the segmentation stages of a finished toy run (``snakemake --cores 2 all``) per Table 2 row,
each stage with the arguments its run saved in model.pt, into ``--out/{variant}/{method}``, and
prints and writes the rows' scores beside the run's own:

- ``fp32``: the run's own path (front-end reused, scores dumped again, context, joint, predict):
  on a CPU it must reproduce the run's scores exactly, which checks this harness.
- ``context-full``: as ``fp32``, but the context module learns against the full-resolution
  labels through the network's x8 bilinear upsampling (Yu & Koltun's Cityscapes models, fyu/dilation
  issue 18) instead of the labels at the scores' stride of 8.
- ``bf16``: every stage the CUDA default runs in bf16 autocast (adaptation, front-end, dump,
  context, joint, prediction) in bf16 autocast on the CPU. The commands run fp32 on a CPU
  whatever they are told, so this script replaces ``torch.autocast`` by one that is always on, in
  bf16: CPU autocast runs convolutions and matrix products in bf16 as CUDA autocast does (their
  lists of other ops differ in details).
- ``bf16-predict``: only the prediction in bf16, with the run's (fp32-trained) network.

    python benchmarks/fidelity_toy.py --run /work/baseline --variant context-full --out /tmp/fidelity
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import yaml

from eval.evaluate import evaluate
from segmentation import distributed
from segmentation.data import DumpedScores
from segmentation.dump import dump
from segmentation.frontend import upsample
from segmentation.predict import load_model, predict_frames
from segmentation.train import TrainConfig, build_model, build_optimizer, train
from sggan import runs
from sggan.data.io import Frame, read_frame_list, read_label, write_frame_list
from sggan.data.labels import IGNORE, to_train_ids
from sggan.workflow_config import seeds

VARIANTS = ("fp32", "context-full", "bf16", "bf16-predict")
CPU = torch.device("cpu")


def force_bf16_autocast() -> None:
    """Make every ``torch.autocast(...)`` of the commands a bf16 autocast that is on."""
    original = torch.autocast

    class AlwaysBF16(original):
        def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
            super().__init__(device_type, dtype=torch.bfloat16, enabled=True, cache_enabled=cache_enabled)

    torch.autocast = AlwaysBF16


def stage_config(model_pt: Path, **changes) -> TrainConfig:
    """The arguments a finished stage was trained with, some of them changed."""
    args = torch.load(model_pt, map_location="cpu", weights_only=False)["args"]
    args = {**args, "crop": tuple(args["crop"]), "device": "cpu", "workers": 0, **changes}
    return TrainConfig(**args)


def train_context_on_full_labels(config: TrainConfig, frames: list[Frame]) -> Path:
    """The context stage of segmentation.train, with the loss on the x8-upsampled scores against
    full-resolution labels: the same samples in the same order, the same optimiser."""
    world = distributed.World()
    torch.manual_seed(config.seed)
    model = build_model(config, world)
    optimizer = build_optimizer(model.context, config)
    runs.seed_everything(runs.rank_seed(config.seed, 0))
    dataset = DumpedScores(config.scores, config.seed)
    label_of = {frame.id: frame.label for frame in frames}
    model.train()
    for iteration in range(config.iterations):
        samples = range(iteration * config.batch_size, (iteration + 1) * config.batch_size)
        batch = []
        for k in samples:
            scores, _ = dataset[k]
            frame_id = dataset.ids[dataset.order[k]]
            labels = torch.from_numpy(to_train_ids(read_label(label_of[frame_id])).astype(np.int64))
            batch.append((scores, labels))
        labelled = sum(int((labels != IGNORE).sum()) for _, labels in batch)
        optimizer.zero_grad(set_to_none=True)
        for scores, labels in batch:
            height, width = labels.shape
            logits = upsample(model.context(scores[None].float()))[..., :height, :width]
            loss = F.cross_entropy(logits, labels[None], ignore_index=IGNORE, reduction="sum")
            (loss / max(labelled, 1)).backward()
        optimizer.step()
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.save(
        {"model": model.state_dict(), "model_config": model.config(), "args": dataclasses.asdict(config)},
        out / "model.pt",
    )
    return out / "model.pt"


def adapt_again(run: Path, method: str, translator_dir: Path, out: Path) -> Path:
    """Adapt the method's frames again with its trained translator (in whatever autocast is set)."""
    from sggan.adaptation import AdaptOptions
    from sggan.translators import build_translator

    config = yaml.safe_load((run / "config.yaml").read_text())
    entry = config["translators"][method]
    translator = build_translator(entry["model"], entry.get("params", {}))
    frames = read_frame_list(run / "results" / "data" / "gta.tsv")  # the adapt rule's input
    options = AdaptOptions(
        working_size=tuple(config["adaptation"]["working_size"]), batch_size=8, workers=0, device=CPU, amp=True
    )
    images = out / "adapted"
    translator.adapt(frames, images, translator_dir, options)
    adapted = [Frame(f.id, images / f"{f.id}.png", f.label) for f in frames]
    write_frame_list(out / "frames.tsv", adapted)
    return out / "frames.tsv"


def rerun(run: Path, method: str, variant: str, out: Path) -> dict:
    """The run's first seed's networks of ``method``, retrained or rerun as ``variant`` says."""
    results = run / "results"
    seed = f"seed{seeds(yaml.safe_load((run / 'config.yaml').read_text()))[0]}"
    seg = results / "segmentation" / method / seed
    translator_dir = results / "translators" / method / seed
    trained = (translator_dir / "generator.pt").exists()  # else its frames are shared by the seeds
    frames_tsv = (
        results / "data" / "cityscapes_train.tsv"
        if method == "oracle"
        else results / "adapted" / method / (seed if trained else "") / "frames.tsv"
    )
    if variant == "bf16" and trained:
        frames_tsv = adapt_again(run, method, translator_dir, out)
    val = read_frame_list(results / "data" / "cityscapes_val.tsv")
    ground_truth = Path(val[0].label).parent.parent
    if variant == "bf16-predict":
        predict_frames(load_model(seg / "joint" / "model.pt", CPU), val, out / "labels", CPU, progress=False)
        return evaluate(out / "labels", ground_truth, workers=1, progress=False)
    frames = read_frame_list(frames_tsv)
    frontend = seg / "frontend" / "model.pt"
    if variant == "bf16":
        frontend = train(stage_config(frontend, out=str(out / "frontend"), frames=str(frames_tsv)), progress=False)
    scores = out / "frontend_scores"
    dump(frontend, frames, scores, CPU, progress=False)
    context = stage_config(
        seg / "context" / "model.pt", out=str(out / "context"), scores=str(scores), init_from=str(frontend)
    )
    context_pt = (
        train_context_on_full_labels(context, frames) if variant == "context-full" else train(context, progress=False)
    )
    joint_pt = train(
        stage_config(
            seg / "joint" / "model.pt", out=str(out / "joint"), frames=str(frames_tsv), init_from=str(context_pt)
        ),
        progress=False,
    )
    predict_frames(load_model(joint_pt, CPU), val, out / "labels", CPU, progress=False)
    return evaluate(out / "labels", ground_truth, workers=1, progress=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, required=True, help="a finished toy run (its folder)")
    parser.add_argument("--variant", choices=VARIANTS, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--methods", nargs="+", default=["source-only", "cyclegan-2k", "sggan-2k", "sggan-25k"])
    args = parser.parse_args(argv)
    args.out = args.out.resolve()
    os.chdir(args.run)  # the run's frame lists hold paths relative to it
    args.run = Path(".")
    torch.set_num_threads(1)
    if args.variant.startswith("bf16"):
        force_bf16_autocast()
    rows = {}
    for method in args.methods:
        ours = rerun(args.run, method, args.variant, args.out / args.variant / method)
        theirs = json.loads((args.run / "results" / "scores" / f"{method}.json").read_text())
        rows[method] = {key: [theirs[key], ours[key]] for key in ("pixel_acc", "class_acc", "class_iou")}
        print(
            f"{method}: run {theirs['class_iou']:.2f} -> {args.variant} {ours['class_iou']:.2f} class IoU",
            file=sys.stderr,
            flush=True,
        )
        (args.out / f"{args.variant}.json").write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
