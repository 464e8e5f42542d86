"""The A/B study kit: the images of each pair of methods, their left/right sides, and a crowd export.

    python -m eval.ab kit --frames results/splits/heldout_source.tsv \
        --adapted sggan-2k=results/adapted/sggan-2k/images --adapted cyclegan-2k=results/adapted/cyclegan-2k/images \
        --pair sggan-2k:cyclegan-2k=79.2 --num 500 --size 256 512 --seed 0 --out results/ab_study/kit

The first ``--num`` frames of ``--frames`` (the held-out list is already a seeded random sample)
adapted by each method of a pair (``DIR/{id}.png``) are resized to ``--size`` and shown side by
side. The kit folder holds:

- ``images/``: one PNG per (method, frame), named by a hash of seed, method and frame so that
  neither a rater nor a crowd worker can tell the method from the file name or URL. PNG rather
  than JPEG because the raters judge exactly the fine texture and artefacts that JPEG blocking
  alters, and would alter differently per method; at 256x512 a PNG is a few hundred KB, which a
  task page loads quickly.
- ``pairs.csv``: one row per (pair, frame) with its stable ``pair_id``, the two methods, and
  which one is on the left. The sides are balanced within each pair (half A-left, half B-left,
  in a random order from a numpy Generator seeded by ``--seed``), so a rater's bias for one
  side cancels out rather than leaking into the share of A.
- ``study.json``: the pairs with the paper's value for each (or null), the size, seed and frame
  count.
- ``crowd/batch.csv`` and ``crowd/task.html``: a batch of image pairs and a static HTML task
  template in the Amazon Mechanical Turk style (``${left_url}``, ``${right_url}``, ``${pair_id}``,
  answer field ``choice`` = left/right). Crowd workers need the images on a public web server:
  host the kit's ``images/`` folder and pass the URL of the folder above it as
  ``--image-base-url`` (default: URLs relative to the kit, fine for a local preview).

The kit is built in a temporary sibling folder and renamed into place at the end, so a killed
run leaves no half kit and an existing kit is replaced whole. Answers are not part of the kit
(they live in a SQLite file, :mod:`eval.ab.store`) and survive a rebuild.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

from eval.ab import QUESTION
from eval.tables import to_csv, unique_methods
from sggan.data.io import DataError, Frame, atomic_write_text, read_frame_list, read_image, umask_mode, write_image

IMAGE_SUFFIX = ".png"
IMAGES, PAIRS_CSV, STUDY_JSON = "images", "pairs.csv", "study.json"
BATCH_CSV, TASK_HTML = "crowd/batch.csv", "crowd/task.html"
BATCH_COLUMNS = ("pair_id", "left_url", "right_url")


@dataclass(frozen=True)
class Pair:
    """A configured comparison: is ``a`` judged more realistic than ``b``?"""

    a: str
    b: str
    paper_percent: float | None = None


@dataclass(frozen=True)
class PairRow:
    """One row of ``pairs.csv``: a frame adapted by both methods of a pair, as shown to raters."""

    pair_id: str
    method_a: str
    method_b: str
    frame_id: str
    left_method: str
    right_method: str
    left_image: str  # relative to the kit
    right_image: str


PAIRS_COLUMNS = tuple(f.name for f in fields(PairRow))


# ------------------------------------------------------------------------------------------ naming
def make_pair_id(a: str, b: str, frame_id: str) -> str:
    """Stable across rebuilds of the kit, so answers stay attached to their pair."""
    return f"{a}__vs__{b}__{frame_id}"


def image_name(method: str, frame_id: str, seed: int) -> str:
    """A file name that does not reveal the method (the seed keeps it from being guessed)."""
    digest = hashlib.sha256(f"{seed}/{method}/{frame_id}".encode()).hexdigest()
    return digest[:16] + IMAGE_SUFFIX


def image_url(base_url: str, relative: str) -> str:
    """``relative`` (``images/x.png``) under the URL where the kit's folder is hosted, if any."""
    return base_url.rstrip("/") + "/" + relative if base_url else relative


# ------------------------------------------------------------------------------------------ checks
def check_pairs(pairs: list[Pair], adapted: dict[str, Path]) -> None:
    if not pairs:
        raise DataError("no --pair given; name at least one pair of methods as A:B")
    seen = set()
    for pair in pairs:
        if pair.a == pair.b:
            raise DataError(f"pair {pair.a}:{pair.b} compares a method with itself")
        unknown = [m for m in (pair.a, pair.b) if m not in adapted]
        if unknown:
            raise DataError(
                f"pair {pair.a}:{pair.b} names {', '.join(unknown)}, which has no --adapted "
                f"NAME=DIR (given: {', '.join(adapted) or 'none'}); add --adapted for it"
            )
        if (pair.a, pair.b) in seen:
            raise DataError(f"pair {pair.a}:{pair.b} is given more than once")
        seen.add((pair.a, pair.b))


def adapted_path(images: Path, frame_id: str) -> Path:
    return Path(images) / f"{frame_id}.png"


def check_adapted(frames: list[Frame], methods: list[str], adapted: dict[str, Path]) -> None:
    """Fail before writing anything if an adapted image is missing, listing the first few."""
    missing = [
        (m, adapted_path(adapted[m], f.id))
        for m in methods
        for f in frames
        if not adapted_path(adapted[m], f.id).is_file()
    ]
    if missing:
        shown = "\n  ".join(f"{path} ({method})" for method, path in missing[:10])
        more = f"\n  ... and {len(missing) - 10} more" if len(missing) > 10 else ""
        names = ", ".join(sorted({m for m, _ in missing}))
        raise DataError(
            f"{len(missing)} adapted images are missing:\n  {shown}{more}\n"
            f"Run the adaptation of {names} first (python -m sggan.adapt, or the pipeline's "
            "adapt and gather_adapted rules) for the held-out frames."
        )


# ------------------------------------------------------------------------------------------ sides
def balanced_sides(count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` booleans (True: A on the left), half each way in random order; an odd one out
    is itself a coin flip, so neither side is favoured."""
    sides = np.r_[np.ones(count // 2, bool), np.zeros(count // 2, bool), rng.integers(0, 2, count % 2).astype(bool)]
    return rng.permutation(sides)


def assign_sides(pairs: list[Pair], frames: list[Frame], seed: int, rng: np.random.Generator) -> list[PairRow]:
    rows = []
    for pair in pairs:
        for frame, a_left in zip(frames, balanced_sides(len(frames), rng)):
            left, right = (pair.a, pair.b) if a_left else (pair.b, pair.a)
            rows.append(
                PairRow(
                    make_pair_id(pair.a, pair.b, frame.id),
                    pair.a,
                    pair.b,
                    frame.id,
                    left,
                    right,
                    f"{IMAGES}/{image_name(left, frame.id, seed)}",
                    f"{IMAGES}/{image_name(right, frame.id, seed)}",
                )
            )
    return rows


# ------------------------------------------------------------------------------------------ images
def resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    h, w = size
    if image.shape[:2] == (h, w):
        return image
    shrink = image.shape[0] >= h and image.shape[1] >= w
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def write_images(
    folder: Path, frames: list[Frame], methods: list[str], adapted: dict[str, Path], size: tuple[int, int], seed: int
) -> int:
    """Each method's frame once, however many pairs show it; returns how many were written."""
    for method in methods:
        for frame in frames:
            image = read_image(adapted_path(adapted[method], frame.id))
            write_image(folder / IMAGES / image_name(method, frame.id, seed), resize(image, size))
    return len(methods) * len(frames)


# ------------------------------------------------------------------------------------------ files
def pairs_csv(rows: list[PairRow]) -> str:
    return to_csv([asdict(r) for r in rows], PAIRS_COLUMNS)


def batch_csv(rows: list[PairRow], base_url: str, rng: np.random.Generator) -> str:
    """One crowd task per (pair, frame), shuffled so that a worker taking tasks in batch order
    does not see one pair of methods over and over."""
    order = rng.permutation(len(rows))
    return to_csv(
        [
            {
                "pair_id": rows[i].pair_id,
                "left_url": image_url(base_url, rows[i].left_image),
                "right_url": image_url(base_url, rows[i].right_image),
            }
            for i in order
        ],
        BATCH_COLUMNS,
    )


TASK_TEMPLATE = """<!-- SG-GAN Table 1 A/B task: an HTML layout for Amazon Mechanical Turk (or any platform
     that fills ${...} variables from a batch CSV). Batch input: crowd/batch.csv, whose columns
     pair_id, left_url and right_url fill ${pair_id}, ${left_url} and ${right_url}. Each result row
     then has Input.pair_id and Answer.choice (left or right): load the results CSV with
     python -m eval.ab import --kit KIT --db results/ab_study/answers.sqlite --results Batch_results.csv -->
<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>
<style>
  .ab-pair { display: flex; gap: 16px; flex-wrap: wrap; }
  .ab-pair label { cursor: pointer; text-align: center; }
  .ab-pair img { width: @@WIDTH@@px; height: @@HEIGHT@@px; max-width: 100%; object-fit: contain; border: 3px solid transparent; }
  .ab-pair input:checked + img { border-color: #1565c0; }
</style>
<crowd-form answer-format="flatten-objects">
  <input type="hidden" name="pair_id" value="${pair_id}">
  <h2>@@QUESTION@@</h2>
  <p>Both images show the same street scene. Choose the one that looks more like a real photograph.
     Keys: <kbd>1</kbd> or <kbd>&larr;</kbd> for the left image, <kbd>2</kbd> or <kbd>&rarr;</kbd> for the right one.</p>
  <div class="ab-pair">
    <label>
      <input type="radio" name="choice" value="left" required>
      <img src="${left_url}" alt="left image"><br>Left
    </label>
    <label>
      <input type="radio" name="choice" value="right" required>
      <img src="${right_url}" alt="right image"><br>Right
    </label>
  </div>
</crowd-form>
<script>
  document.addEventListener("keydown", function (event) {
    var side = {ArrowLeft: "left", "1": "left", ArrowRight: "right", "2": "right"}[event.key];
    if (side) { document.querySelector('input[name="choice"][value="' + side + '"]').checked = true; }
  });
</script>
"""


def task_html(size: tuple[int, int]) -> str:
    h, w = size
    return TASK_TEMPLATE.replace("@@WIDTH@@", str(w)).replace("@@HEIGHT@@", str(h)).replace("@@QUESTION@@", QUESTION)


def study_record(pairs: list[Pair], frames: list[Frame], size: tuple[int, int], seed: int, base_url: str) -> dict:
    return {
        "pairs": [{"a": p.a, "b": p.b, "paper_percent": p.paper_percent} for p in pairs],
        "size": list(size),
        "seed": seed,
        "num_frames": len(frames),
        "question": QUESTION,
        "image_base_url": base_url,
        "created": (
            f"written by python -m eval.ab kit at {datetime.now(UTC).isoformat(timespec='seconds')}; "
            "collect answers with python -m eval.ab serve (in-lab) or crowd/ plus python -m eval.ab import, "
            "then tally them with python -m eval.table1"
        ),
    }


# ------------------------------------------------------------------------------------------ build
def _leftovers(out: Path) -> list[Path]:
    return [p for p in out.parent.glob(f".{out.name}.*") if p.is_dir() and p.suffix in (".tmp", ".old")]


def replace_dir(tmp: Path, out: Path) -> None:
    """Move the finished ``tmp`` to ``out``, replacing an existing ``out`` whole."""
    os.chmod(tmp, umask_mode(0o777))  # mkdtemp made it private; the kit is for others to host
    if out.exists():
        old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".old"))
        os.replace(out, old / out.name)
        os.replace(tmp, out)
        shutil.rmtree(old)
    else:
        os.replace(tmp, out)


def build_kit(
    frames_tsv: str | Path,
    adapted: dict[str, str | Path],
    pairs: list[Pair],
    num: int,
    size: tuple[int, int],
    seed: int,
    out: str | Path,
    image_base_url: str = "",
) -> list[PairRow]:
    """Write the kit to ``out`` (replaced atomically); returns the rows of ``pairs.csv``."""
    if num < 1:
        raise DataError(f"--num must be at least 1, got {num}")
    if len(size) != 2 or min(size) < 1:
        raise DataError(f"--size must be two positive integers H W, got {size}")
    adapted = {name: Path(path) for name, path in adapted.items()}
    check_pairs(pairs, adapted)
    frames = read_frame_list(frames_tsv)[:num]
    if not frames:
        raise DataError(f"{frames_tsv} lists no frames")
    methods = list(dict.fromkeys(m for p in pairs for m in (p.a, p.b)))
    check_adapted(frames, methods, adapted)

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for stale in _leftovers(out):  # of a run killed before it could clean up
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    try:
        rng = np.random.default_rng(seed)
        rows = assign_sides(pairs, frames, seed, rng)
        write_images(tmp, frames, methods, adapted, size, seed)
        atomic_write_text(tmp / PAIRS_CSV, pairs_csv(rows))
        atomic_write_text(tmp / BATCH_CSV, batch_csv(rows, image_base_url, rng))
        atomic_write_text(tmp / TASK_HTML, task_html(size))
        atomic_write_text(
            tmp / STUDY_JSON, json.dumps(study_record(pairs, frames, size, seed, image_base_url), indent=2) + "\n"
        )
        replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return rows


# ------------------------------------------------------------------------------------------ reading
def read_study(kit: str | Path) -> dict:
    path = Path(kit) / STUDY_JSON
    try:
        study = json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"{path} does not exist; build the kit with python -m eval.ab kit") from None
    except json.JSONDecodeError as err:
        raise DataError(f"{path} is not valid JSON ({err}); rebuild the kit with python -m eval.ab kit") from err
    pairs = study.get("pairs")
    if not isinstance(pairs, list) or any(not isinstance(p, dict) or not {"a", "b"} <= p.keys() for p in pairs):
        raise DataError(
            f"{path} has no valid 'pairs' list of {{a, b, paper_percent}}; rebuild the kit with python -m eval.ab kit"
        )
    return study


def study_pairs(study: dict) -> list[Pair]:
    return [Pair(p["a"], p["b"], p.get("paper_percent")) for p in study["pairs"]]


def read_pairs(kit: str | Path) -> list[PairRow]:
    path = Path(kit) / PAIRS_CSV
    try:
        with path.open(newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in PAIRS_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise DataError(
                    f"{path} lacks the columns {', '.join(missing)}; rebuild the kit with python -m eval.ab kit"
                )
            return [PairRow(**{c: row[c] for c in PAIRS_COLUMNS}) for row in reader]
    except FileNotFoundError:
        raise DataError(f"{path} does not exist; build the kit with python -m eval.ab kit") from None


# ------------------------------------------------------------------------------------------ CLI parsing
def adapted_folders(items: list[tuple[str, str]]) -> dict[str, Path]:
    """``--adapted`` values as a dict, refusing a name given twice (which folder would be meant?)."""
    unique_methods(items)
    return {name: Path(folder) for name, folder in items}


def parse_pair(value: str) -> Pair:
    """``A:B`` or ``A:B=PERCENT`` (the paper's value, shown beside the measured one)."""
    spec, sep, percent = value.partition("=")
    a, colon, b = spec.partition(":")
    if not colon or not a or not b or (sep and not percent):
        raise ValueError(f"expected A:B or A:B=PAPER_PERCENT, got {value!r}")
    if not sep:
        return Pair(a, b)
    try:
        paper = float(percent)
    except ValueError:
        raise ValueError(f"paper value of {value!r} is not a number") from None
    if not 0 <= paper <= 100:
        raise ValueError(f"paper value of {value!r} is not a percentage (0-100)")
    return Pair(a, b, paper)
