"""Dataset roots of the two real datasets (and of the toy world, which writes the same layouts).

A root is validated when it is constructed, with an error that says what is expected there
and how to obtain the data; ``frames()`` pairs images with labels, ``missing()`` lists the
ids that have only one of the two.
"""

from __future__ import annotations

import os
from pathlib import Path

from sggan.data.io import DataError, Frame

GTA5_URL = "https://download.visinf.tu-darmstadt.de/data/from_games/"
CITYSCAPES_IMAGE_SUFFIX = "_leftImg8bit.png"
CITYSCAPES_LABEL_SUFFIX = "_gtFine_labelIds.png"
CITYSCAPES_TRAIN_ID_SUFFIX = "_gtFine_labelTrainIds.png"


class GTA5Root:
    """``root/images/NNNNN.png`` (RGB) and ``root/labels/NNNNN.png`` (palette label ids)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.images = self.root / "images"
        self.labels = self.root / "labels"
        absent = [p for p in (self.root, self.images, self.labels) if not p.is_dir()]
        if absent:
            raise DataError(
                f"GTA-V root {self.root}: {absent[0]} is not a folder. Expected {self.images}/NNNNN.png "
                f"(RGB, 1914x1052) and {self.labels}/NNNNN.png (palette PNG whose index is the Cityscapes "
                f"label id). Get the 'Playing for Data' GTA-V dataset: download the 10 parts "
                f"(images and labels) from {GTA5_URL} and extract their images/ and labels/ folders into "
                f"{self.root}."
            )

    def _ids(self, folder: Path) -> set[str]:
        return {p.stem for p in folder.iterdir() if p.suffix == ".png" and not p.name.startswith(".")}

    def frames(self) -> list[Frame]:
        """Frames whose id has both an image and a label, sorted by id."""
        ids = sorted(self._ids(self.images) & self._ids(self.labels))
        return [Frame(i, self.images / f"{i}.png", self.labels / f"{i}.png") for i in ids]

    def missing(self) -> dict[str, list[str]]:
        """Ids with an image but no label ("no_label") and a label but no image ("no_image")."""
        images, labels = self._ids(self.images), self._ids(self.labels)
        return {"no_label": sorted(images - labels), "no_image": sorted(labels - images)}


class CityscapesRoot:
    """``root/leftImg8bit/SPLIT/CITY/*_leftImg8bit.png`` and ``root/gtFine/SPLIT/CITY/*_gtFine_labelIds.png``."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.images = self.root / "leftImg8bit"
        self.labels = self.root / "gtFine"
        absent = [p for p in (self.root, self.images, self.labels) if not p.is_dir()]
        if absent:
            raise DataError(
                f"Cityscapes root {self.root}: {absent[0]} is not a folder. Expected "
                f"{self.images}/{{train,val,test}}/CITY/CITY_SEQ_FRAME{CITYSCAPES_IMAGE_SUFFIX} (RGB, 2048x1024) "
                f"and {self.labels}/{{train,val,test}}/CITY/CITY_SEQ_FRAME{CITYSCAPES_LABEL_SUFFIX} (label ids). "
                f"Get them with cityscapesscripts (needs a Cityscapes account from cityscapes-dataset.com): "
                f"`csDownload leftImg8bit_trainvaltest.zip gtFine_trainvaltest.zip`, then unzip both in {self.root}."
            )

    def _split_dir(self, base: Path, split: str) -> Path:
        folder = base / split
        if not folder.is_dir():
            present = sorted(p.name for p in base.iterdir() if p.is_dir())
            raise DataError(
                f"Cityscapes root {self.root}: no split folder {folder} (splits present in "
                f"{base}: {', '.join(present) or 'none'}); use one of train, val, test and check "
                f"that both archives were unzipped there"
            )
        return folder

    def _ids(self, base: Path, split: str, suffix: str) -> dict[str, Path]:
        """Frame id ("{city}_{seq}_{frame}") -> file, for one split of one of the two trees."""
        found = {}
        for city in sorted(p for p in self._split_dir(base, split).iterdir() if p.is_dir()):
            for path in city.iterdir():
                if path.name.endswith(suffix) and not path.name.startswith("."):
                    found[path.name[: -len(suffix)]] = path
        return found

    def frames(self, split: str) -> list[Frame]:
        """Frames of a split that have both an image and a label-id map, sorted by id."""
        images = self._ids(self.images, split, CITYSCAPES_IMAGE_SUFFIX)
        labels = self._ids(self.labels, split, CITYSCAPES_LABEL_SUFFIX)
        if images and not labels and self._ids(self.labels, split, CITYSCAPES_TRAIN_ID_SUFFIX):
            raise DataError(
                f"Cityscapes root {self.root}: {self.labels / split} holds trainIds "
                f"(*{CITYSCAPES_TRAIN_ID_SUFFIX}) but no labelIds (*{CITYSCAPES_LABEL_SUFFIX}); the "
                f"benchmark reads labelIds: unzip gtFine_trainvaltest.zip in {self.root}"
            )
        return [Frame(i, images[i], labels[i]) for i in sorted(images.keys() & labels.keys())]

    def missing(self, split: str) -> dict[str, list[str]]:
        """Ids with an image but no label ("no_label") and a label but no image ("no_image")."""
        images = self._ids(self.images, split, CITYSCAPES_IMAGE_SUFFIX).keys()
        labels = self._ids(self.labels, split, CITYSCAPES_LABEL_SUFFIX).keys()
        return {"no_label": sorted(images - labels), "no_image": sorted(labels - images)}
