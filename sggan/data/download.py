"""The GTA-V ("Playing for Data") archives: their URLs, and which of them an extracted tree lacks.

    python -m sggan.data.download urls                  # the 20 archive URLs, one a line
    python -m sggan.data.download urls --root DIR       # only those DIR still lacks (wget -i -)
    python -m sggan.data.download check --root DIR      # which archive is missing or incomplete

The dataset comes in 10 parts, each an images and a labels archive (01_images.zip ...
10_labels.zip); part k holds frames 2500*(k-1)+1 .. 2500*k, the last one 24966. Extracted, they
fill DIR/images/NNNNN.png and DIR/labels/NNNNN.png, the layout `data.gta_root` points at
(sggan.data.readers.GTA5Root). An image without its label counts against the labels archive, and
the other way round. The files' contents are the workflow's data check's business (check_gta).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

from sggan.cli import run
from sggan.data.io import DataError
from sggan.data.readers import GTA5_URL, GTA5Root

ARCHIVE_URL = GTA5_URL + "data/"
FRAMES = 24966
FRAMES_PER_PART = 2500
PARTS = 10
KINDS = ("images", "labels")


def part_frame_ids(part: int) -> list[str]:
    """The frame ids (00001 ...) that archive part `part` (1-10) holds."""
    first = FRAMES_PER_PART * (part - 1) + 1
    last = min(FRAMES_PER_PART * part, FRAMES)
    return [f"{n:05d}" for n in range(first, last + 1)]


def archive_name(part: int, kind: str) -> str:
    return f"{part:02d}_{kind}.zip"


def archive_urls() -> list[str]:
    return [ARCHIVE_URL + archive_name(part, kind) for part in range(1, PARTS + 1) for kind in KINDS]


@dataclass(frozen=True)
class Archive:
    name: str
    expected: int
    present: int
    first_missing: str | None

    @property
    def url(self) -> str:
        return ARCHIVE_URL + self.name

    def describe(self) -> str:
        if self.present == 0:
            return f"{self.name} (missing: none of its {self.expected} frames)"
        return f"{self.name} (incomplete: {self.present} of {self.expected} frames, first missing {self.first_missing})"


def archives_in(root: str | os.PathLike) -> list[Archive]:
    """Each archive with how many of its frames the extracted tree at `root` has."""
    tree = GTA5Root(root)  # refuses a root without images/ and labels/ folders
    paired = {frame.id for frame in tree.frames()}
    unpaired = tree.missing()
    present = {"images": paired | set(unpaired["no_label"]), "labels": paired | set(unpaired["no_image"])}
    archives = []
    for part in range(1, PARTS + 1):
        ids = part_frame_ids(part)
        for kind in KINDS:
            absent = [i for i in ids if i not in present[kind]]
            archives.append(
                Archive(archive_name(part, kind), len(ids), len(ids) - len(absent), absent[0] if absent else None)
            )
    return archives


def lacking(root: str | os.PathLike) -> list[Archive]:
    return [a for a in archives_in(root) if a.present < a.expected]


def check(root: str | os.PathLike) -> str:
    """One line saying the tree is complete, or a DataError naming each archive it lacks."""
    incomplete = lacking(root)
    if incomplete:
        raise DataError(
            f"GTA-V root {root}: {len(incomplete)} of {2 * PARTS} archives missing or incomplete: "
            f"{'; '.join(a.describe() for a in incomplete)}. Download them from {ARCHIVE_URL} "
            f"(python -m sggan.data.download urls --root {root} lists them) and extract each into {root}."
        )
    return f"GTA-V root {root}: all {2 * PARTS} archives complete, {FRAMES} frames with image and label"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sggan.data.download", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    urls = commands.add_parser("urls", help="print the archive URLs, one a line")
    urls.add_argument("--root", type=Path, help="print only the archives this extracted tree lacks")
    checked = commands.add_parser("check", help="say which archive an extracted tree lacks")
    checked.add_argument("--root", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "urls":
        print("\n".join(archive_urls() if args.root is None else [a.url for a in lacking(args.root)]))
    else:
        print(check(args.root))
    return 0


if __name__ == "__main__":
    run(main)
