"""The paper's qualitative figures as PNGs, from the pipeline's adapted frames, predictions and loss
logs, and the training's own: the GANs' sample grids and the segmentation stages' loss curves.

    python -m eval.figures fig4 --frames results/splits/heldout_source.tsv \
        --adapted sggan-2k=results/adapted/sggan-2k/images --out results/figures/fig4_translations.png
    python -m eval.figures fig5 --frames results/splits/heldout_source.tsv \
        --with-grad results/adapted/sggan-2k/images --without-grad results/adapted/sggan-2k-no-grad/images \
        --out results/figures/fig5_gradient_zoom.png
    python -m eval.figures fig6 --frames results/splits/heldout_source.tsv \
        --with-sd results/adapted/sggan-2k/images --without-sd results/adapted/sggan-2k-no-sd/images \
        --out results/figures/fig6_discriminator_diff.png
    python -m eval.figures fig7 --frames results/data/cityscapes_val.tsv \
        --prediction source-only=results/predictions/source-only/labels \
        --prediction sggan-25k=results/predictions/sggan-25k/labels --out results/figures/fig7_segmentation.png
    python -m eval.figures loss --log sggan-2k=results/translators/sggan-2k/loss_log.csv \
        --out results/figures/loss_curves.png
    python -m eval.figures samples --run sggan-2k=results/translators/sggan-2k/seed0 \
        --out results/figures/sample_grids.png
    python -m eval.figures segmentation \
        --log source-only/frontend=results/segmentation/source-only/seed0/frontend/train_log.csv \
        --out results/figures/segmentation_curves.png

The image figures (4-7) are plain mosaics: one row per frame, one column per panel, every panel
resized to ``--cell-size`` (height width) with a title row on top, so their pixel size follows
from the layout (see :func:`grid_shape`). Adapted frames are read as ``{images}/{id}.png`` and
predictions as ``{predictions}/{id}_labelIds.png``. Every output is written atomically.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import cv2
import numpy as np

from sggan.cli import UserError, run
from sggan.data.io import DataError, atomic_write, read_frame_list, read_image, read_label, write_image
from sggan.data.labels import PALETTE

PAD = 4  # pixels between panels and around the mosaic
HEADER = 20  # title row height
ZOOM = 4  # Fig. 5's magnification of the crop windows
BACKGROUND = 255
BOOKKEEPING = ("epoch", "iteration", "step", "seconds", "alpha", "beta", "lr")  # not loss terms


# ----------------------------------------------------------------------------------------- layout
def grid_shape(rows: int, cols: int, cell: tuple[int, int]) -> tuple[int, int]:
    """(height, width) of a mosaic of ``rows`` x ``cols`` panels of ``cell`` = (h, w) pixels."""
    h, w = cell
    return HEADER + rows * h + (rows + 1) * PAD, cols * w + (cols + 1) * PAD


def _put_title(canvas: np.ndarray, text: str, x0: int, width: int) -> None:
    font, scale, thickness = cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1
    (tw, th), _ = cv2.getTextSize(text, font, scale, thickness)
    if tw > width:  # shrink to fit the column
        scale *= width / tw
        (tw, th), _ = cv2.getTextSize(text, font, scale, thickness)
    x = x0 + max(0, (width - tw) // 2)
    y = PAD + (HEADER + th) // 2 - 2
    cv2.putText(canvas, text, (x, y), font, scale, (0, 0, 0), thickness, cv2.LINE_AA)


def mosaic(rows: list[list[np.ndarray]], titles: list[str], cell: tuple[int, int]) -> np.ndarray:
    """Panels (RGB uint8, already ``cell`` sized) in a grid on white, with column titles."""
    cols = len(titles)
    if not rows or any(len(r) != cols for r in rows):
        raise ValueError(f"every row needs {cols} panels")
    h, w = cell
    canvas = np.full((*grid_shape(len(rows), cols, cell), 3), BACKGROUND, dtype=np.uint8)
    for c, title in enumerate(titles):
        _put_title(canvas, title, PAD + c * (w + PAD), w)
    for r, row in enumerate(rows):
        y = HEADER + PAD + r * (h + PAD)
        for c, panel in enumerate(row):
            x = PAD + c * (w + PAD)
            canvas[y : y + h, x : x + w] = panel
    return canvas


def fit(image: np.ndarray, cell: tuple[int, int], nearest: bool = False) -> np.ndarray:
    h, w = cell
    if image.shape[:2] == (h, w):
        return image
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_NEAREST if nearest else cv2.INTER_AREA)


def colorize(label_ids: np.ndarray) -> np.ndarray:
    return PALETTE[label_ids]


def adapted_image(images: str | Path, frame_id: str) -> np.ndarray:
    return read_image(Path(images) / f"{frame_id}.png")


def _first(frames_tsv: str | Path, num: int):
    frames = read_frame_list(frames_tsv)
    if not frames:
        raise DataError(f"{frames_tsv} lists no frames")
    return frames[:num]


def save_png(path: str | Path, rgb: np.ndarray) -> None:
    write_image(path, rgb)


# ----------------------------------------------------------------------------------------- Fig. 4
def fig4_translations(
    frames_tsv, adapted: dict[str, str | Path], out, num: int = 4, cell: tuple[int, int] = (128, 256)
) -> np.ndarray:
    """The first ``num`` held-out source frames: the input, then each translator's adapted frame."""
    rows = []
    for frame in _first(frames_tsv, num):
        row = [fit(read_image(frame.image), cell)]
        row += [fit(adapted_image(images, frame.id), cell) for images in adapted.values()]
        rows.append(row)
    figure = mosaic(rows, ["input", *adapted], cell)
    save_png(out, figure)
    return figure


# ----------------------------------------------------------------------------------------- Fig. 5
def boundary_map(label_ids: np.ndarray) -> np.ndarray:
    """1 where a pixel's label differs from its right or lower neighbour."""
    edges = np.zeros(label_ids.shape, dtype=np.float32)
    edges[:, :-1] += label_ids[:, 1:] != label_ids[:, :-1]
    edges[:-1, :] += label_ids[1:, :] != label_ids[:-1, :]
    return (edges > 0).astype(np.float32)


def densest_window(label_ids: np.ndarray, size: tuple[int, int]) -> tuple[int, int]:
    """(y, x) of the ``size`` = (h, w) window holding the most semantic boundary pixels."""
    h, w = size
    H, W = label_ids.shape
    if h > H or w > W:
        raise ValueError(f"crop window {size} is larger than the label {label_ids.shape}")
    integral = cv2.integral(boundary_map(label_ids), sdepth=cv2.CV_64F)  # (H+1, W+1)
    sums = integral[h:, w:] - integral[:-h, w:] - integral[h:, :-w] + integral[:-h, :-w]  # (H-h+1, W-w+1)
    y, x = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return int(y), int(x)


def _box(image: np.ndarray, y: int, x: int, h: int, w: int) -> np.ndarray:
    out = image.copy()
    cv2.rectangle(out, (x, y), (x + w - 1, y + h - 1), (255, 255, 0), 1)
    return out


def fig5_gradient_zoom(
    frames_tsv, with_grad, without_grad, out, num: int = 4, cell: tuple[int, int] = (128, 256)
) -> np.ndarray:
    """Adapted with and without the gradient term, and ``ZOOM``x crops of the window with the densest
    semantic boundaries (from the source label), where the gradient term's sharper edges show."""
    h, w = cell
    ch, cw = max(1, h // ZOOM), max(1, w // ZOOM)
    rows = []
    for frame in _first(frames_tsv, num):
        label = fit(read_label(frame.label), cell, nearest=True)
        y, x = densest_window(label, (ch, cw))
        panels = [
            fit(read_image(frame.image), cell),
            fit(adapted_image(with_grad, frame.id), cell),
            fit(adapted_image(without_grad, frame.id), cell),
        ]
        zooms = [cv2.resize(p[y : y + ch, x : x + cw], (w, h), interpolation=cv2.INTER_NEAREST) for p in panels]
        rows.append([_box(p, y, x, ch, cw) for p in panels] + zooms)
    titles = [
        "input",
        "with gradient",
        "without gradient",
        f"input x{ZOOM}",
        f"with gradient x{ZOOM}",
        f"without gradient x{ZOOM}",
    ]
    figure = mosaic(rows, titles, cell)
    save_png(out, figure)
    return figure


# ----------------------------------------------------------------------------------------- Fig. 6
def difference_maps(diffs: list[np.ndarray]) -> list[np.ndarray]:
    """Mean absolute RGB differences coloured on one shared scale (their 99th percentile)."""
    scale = max(float(np.percentile(np.concatenate([d.ravel() for d in diffs]), 99)), 1.0)
    maps = []
    for d in diffs:
        grey = np.clip(d / scale * 255.0, 0, 255).astype(np.uint8)
        maps.append(cv2.cvtColor(cv2.applyColorMap(grey, cv2.COLORMAP_INFERNO), cv2.COLOR_BGR2RGB))
    return maps


def fig6_discriminator_diff(
    frames_tsv, with_sd, without_sd, out, num: int = 4, cell: tuple[int, int] = (128, 256)
) -> np.ndarray:
    """Input, adapted with and without the semantic-aware discriminator, and absolute difference maps
    (per row, |with - without| on its own colour scale, the two input differences on a shared one)."""
    rows = []
    for frame in _first(frames_tsv, num):
        source = fit(read_image(frame.image), cell)
        sd = fit(adapted_image(with_sd, frame.id), cell)
        no_sd = fit(adapted_image(without_sd, frame.id), cell)
        f = [a.astype(np.float32) for a in (source, sd, no_sd)]
        diffs = [np.abs(f[1] - f[2]).mean(-1), np.abs(f[0] - f[1]).mean(-1), np.abs(f[0] - f[2]).mean(-1)]
        # with-vs-without is much fainter than input-vs-adapted: it gets its own scale, the other two share one
        rows.append([source, sd, no_sd, *difference_maps(diffs[:1]), *difference_maps(diffs[1:])])
    titles = ["input", "with SD", "without SD", "|with - without|", "|input - with SD|", "|input - without SD|"]
    figure = mosaic(rows, titles, cell)
    save_png(out, figure)
    return figure


# ----------------------------------------------------------------------------------------- Fig. 7
def fig7_segmentation(
    frames_tsv, predictions: dict[str, str | Path], out, num: int = 4, cell: tuple[int, int] = (128, 256)
) -> np.ndarray:
    """Target val frames: the image, its ground truth and each method's prediction, in Cityscapes colours."""
    rows = []
    for frame in _first(frames_tsv, num):
        row = [fit(read_image(frame.image), cell), fit(colorize(read_label(frame.label)), cell, nearest=True)]
        row += [
            fit(colorize(read_label(Path(d) / f"{frame.id}_labelIds.png")), cell, nearest=True)
            for d in predictions.values()
        ]
        rows.append(row)
    figure = mosaic(rows, ["image", "ground truth", *predictions], cell)
    save_png(out, figure)
    return figure


# ----------------------------------------------------------------------------------------- losses
def read_loss_log(path: str | Path) -> dict[str, np.ndarray]:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"loss log {path} does not exist; it is written by the translator's training")
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        fields = reader.fieldnames or []
    if "step" not in fields:
        raise DataError(f"{path}: no 'step' column (columns: {fields})")
    columns = {}
    for name in fields:
        try:
            columns[name] = np.array([float(r[name]) for r in rows], dtype=np.float64)
        except (TypeError, ValueError):
            continue  # non-numeric column
    return columns


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average (shorter windows at the start), same length as ``values``."""
    if window <= 1 or len(values) < 2:
        return values
    csum = np.cumsum(np.insert(values, 0, 0.0))
    idx = np.arange(1, len(values) + 1)
    lo = np.maximum(idx - window, 0)
    return (csum[idx] - csum[lo]) / (idx - lo)


def loss_terms(columns: dict[str, np.ndarray]) -> list[str]:
    return [name for name in columns if name not in BOOKKEEPING]


LOSS_DPI = 100
LOSS_PANEL_INCHES = (6.0, 3.0)  # width, height of one panel


def loss_figure_size(panels: int) -> tuple[int, int]:
    """(height, width) in pixels of the loss-curve figure."""
    w, h = LOSS_PANEL_INCHES
    return int(round(h * panels * LOSS_DPI)), int(round(w * LOSS_DPI))


def panels(count: int):
    """A matplotlib figure of ``count`` panels stacked, each LOSS_PANEL_INCHES: (figure, axes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if count < 1:
        raise ValueError("nothing to draw")
    w, h = LOSS_PANEL_INCHES
    fig, axes = plt.subplots(count, 1, figsize=(w, h * count), dpi=LOSS_DPI, squeeze=False)
    return fig, axes[:, 0]


def save_panels(fig, out) -> None:
    """Write a :func:`panels` figure as a PNG of loss_figure_size(count) pixels, atomically."""
    import matplotlib.pyplot as plt

    fig.tight_layout()  # keeps the canvas size; no bbox_inches="tight" so the pixel size is fixed
    atomic_write(Path(out), lambda tmp: fig.savefig(tmp, dpi=LOSS_DPI, format="png"))
    plt.close(fig)


def loss_curves(logs: dict[str, str | Path], out, smoothing: int = 0) -> None:
    """One panel per translator: each loss term against the step, smoothed (window ``smoothing``
    log rows; 0 picks about 1/50 of the log). A missing log gets a panel saying so."""
    fig, axes = panels(len(logs))
    for ax, (method, path) in zip(axes, logs.items()):
        ax.set_title(method, fontsize=10)
        if not Path(path).is_file():
            ax.text(0.5, 0.5, "no loss log", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
            continue
        columns = read_loss_log(path)
        steps = columns["step"]
        window = smoothing or max(1, len(steps) // 50)
        terms = loss_terms(columns)
        positive = True
        for name in terms:
            values = smooth(columns[name], window)
            positive &= bool(len(values)) and bool(np.all(values > 0))
            ax.plot(steps, values, label=name, linewidth=1)
        if terms and positive:
            ax.set_yscale("log")
        ax.set_xlabel("step", fontsize=8)
        ax.set_ylabel(f"loss (moving mean of {window})", fontsize=8)
        ax.tick_params(labelsize=7)
        if terms:
            ax.legend(fontsize=6, ncol=2, loc="upper right")
        ax.grid(alpha=0.3)
    save_panels(fig, out)


# ----------------------------------------------------------------------------------------- GAN samples
def latest_sample(run_dir: str | Path) -> tuple[int, Path] | None:
    """The step and path of the last sample grid a GAN's training wrote (samples/stepNNNNNNN.png)."""
    grids = sorted(Path(run_dir, "samples").glob("step*.png"))
    return (int(grids[-1].stem.removeprefix("step")), grids[-1]) if grids else None


def sample_grids(run_dirs: dict[str, str | Path], out) -> None:
    """One panel per translator: the last sample grid its training wrote (virtual frame, translated,
    cycled over real frame, translated, cycled). A run without samples gets a panel saying so."""
    fig, axes = panels(len(run_dirs))
    for ax, (method, run_dir) in zip(axes, run_dirs.items()):
        ax.set_axis_off()
        latest = latest_sample(run_dir)
        if latest is None:
            ax.set_title(method, fontsize=10)
            ax.text(0.5, 0.5, "no sample grids", ha="center", va="center", transform=ax.transAxes)
            continue
        step, path = latest
        ax.set_title(f"{method}, step {step}", fontsize=10)
        ax.imshow(read_image(path), interpolation="nearest")
    save_panels(fig, out)


# ----------------------------------------------------------------------------------------- segmentation
def read_train_log(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(iteration, loss) of a segmentation stage's train_log.csv (loss: the mean since the previous row)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"training log {path} does not exist; it is written by segmentation.train")
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    try:
        return (
            np.array([int(r["iteration"]) for r in rows], dtype=np.int64),
            np.array([float(r["loss"]) for r in rows], dtype=np.float64),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise DataError(f"{path}: not a segmentation training log (iteration and loss columns): {err}") from None


def segmentation_curves_figure(logs: dict[str, dict[str, str | Path]], smoothing: int = 0):
    """One panel per stage (``logs``: stage -> method -> train_log.csv), each method's loss against
    the iteration, smoothed (window ``smoothing`` log rows; 0 picks about 1/50 of the log)."""
    fig, axes = panels(len(logs))
    for ax, (stage, methods) in zip(axes, logs.items()):
        windows = set()
        for method, path in methods.items():
            iterations, loss = read_train_log(path)
            window = smoothing or max(1, len(loss) // 50)
            windows.add(window)
            ax.plot(iterations, smooth(loss, window), label=method, linewidth=1)
        ax.set_title(f"segmentation: {stage}", fontsize=10)
        ax.set_xlabel("iteration", fontsize=8)
        ax.set_ylabel("loss" + (f" (moving mean of {windows.pop()} rows)" if len(windows) == 1 else ""), fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6, ncol=2, loc="upper right")
        ax.grid(alpha=0.3)
    return fig


def segmentation_curves(logs: dict[str, dict[str, str | Path]], out, smoothing: int = 0) -> None:
    save_panels(segmentation_curves_figure(logs, smoothing), out)


def _by_stage(named: dict[str, str]) -> dict[str, dict[str, str]]:
    """{"METHOD/STAGE": CSV} -> {stage: {method: CSV}}, stages and methods in the order given."""
    logs: dict[str, dict[str, str]] = {}
    for name, path in named.items():
        method, sep, stage = name.rpartition("/")
        if not sep or not method or not stage:
            raise UserError(f"--log expects METHOD/STAGE=CSV, got {name}={path}")
        logs.setdefault(stage, {})[method] = path
    return logs


# ----------------------------------------------------------------------------------------- CLI
def _named(values: list[str], flag: str) -> dict[str, str]:
    named = {}
    for value in values or []:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise UserError(f"{flag} expects NAME=PATH, got {value!r}")
        named[name] = path
    return named


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="figure", required=True)

    def figure_parser(name, help_text, frames=True):
        p = sub.add_parser(name, help=help_text)
        if frames:
            p.add_argument("--frames", required=True, help="frame list TSV (id image label); the first --num are shown")
            p.add_argument("--num", type=int, default=4, help="rows (frames) to show")
            p.add_argument(
                "--cell-size",
                type=int,
                nargs=2,
                default=[128, 256],
                metavar=("H", "W"),
                help="pixel size of each panel",
            )
        p.add_argument("--out", required=True, help="output PNG")
        return p

    p = figure_parser("fig4", "input and each translator's adapted frame")
    p.add_argument(
        "--adapted",
        action="append",
        required=True,
        metavar="NAME=IMAGES",
        help="a translator's adapted images folder ({id}.png); repeat, in column order",
    )
    p = figure_parser("fig5", "with and without the gradient term, with zoomed crops on semantic boundaries")
    p.add_argument("--with-grad", required=True, help="adapted images of SG-GAN")
    p.add_argument("--without-grad", required=True, help="adapted images of SG-GAN without the gradient term")
    p = figure_parser("fig6", "with and without the semantic-aware discriminator, and difference maps")
    p.add_argument("--with-sd", required=True, help="adapted images of SG-GAN")
    p.add_argument("--without-sd", required=True, help="adapted images of SG-GAN without semantic discriminator")
    p = figure_parser("fig7", "target frames, ground truth and predictions in Cityscapes colours")
    p.add_argument(
        "--prediction",
        action="append",
        required=True,
        metavar="NAME=LABELS",
        help="a method's predictions folder ({id}_labelIds.png); repeat, in column order",
    )
    p = figure_parser("loss", "translators' loss curves", frames=False)
    p.add_argument("--log", action="append", required=True, metavar="NAME=CSV", help="a translator's loss_log.csv")
    p.add_argument("--smoothing", type=int, default=0, help="moving-mean window in log rows (0: automatic)")

    p = figure_parser("samples", "the last sample grid of each GAN's training", frames=False)
    p.add_argument("--run", action="append", required=True, metavar="NAME=DIR", help="a translator's run folder")
    p = figure_parser("segmentation", "segmentation training curves, a panel per stage", frames=False)
    p.add_argument("--log", action="append", required=True, metavar="METHOD/STAGE=CSV", help="a stage's train_log.csv")
    p.add_argument("--smoothing", type=int, default=0, help="moving-mean window in log rows (0: automatic)")

    args = parser.parse_args(argv)
    if args.figure == "loss":
        loss_curves(_named(args.log, "--log"), args.out, args.smoothing)
        return 0
    if args.figure == "samples":
        sample_grids(_named(args.run, "--run"), args.out)
        return 0
    if args.figure == "segmentation":
        segmentation_curves(_by_stage(_named(args.log, "--log")), args.out, args.smoothing)
        return 0
    common = dict(num=args.num, cell=tuple(args.cell_size))
    if args.figure == "fig4":
        fig4_translations(args.frames, _named(args.adapted, "--adapted"), args.out, **common)
    elif args.figure == "fig5":
        fig5_gradient_zoom(args.frames, args.with_grad, args.without_grad, args.out, **common)
    elif args.figure == "fig6":
        fig6_discriminator_diff(args.frames, args.with_sd, args.without_sd, args.out, **common)
    elif args.figure == "fig7":
        fig7_segmentation(args.frames, _named(args.prediction, "--prediction"), args.out, **common)
    return 0


if __name__ == "__main__":
    run(main)
