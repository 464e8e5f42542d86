"""Label tables derived from cityscapesscripts (never retyped here).

GTA-V labels store Cityscapes label ids as palette indices, so one table serves both domains.
"""
from __future__ import annotations

import numpy as np
from cityscapesscripts.helpers.labels import labels as CITYSCAPES_LABELS

IGNORE = 255
NUM_LABEL_IDS = 256  # lookup tables cover every uint8 value; ids > 33 are "out of range"
MAX_LABEL_ID = max(label.id for label in CITYSCAPES_LABELS if label.id >= 0)

TRAIN_CLASSES = [label.name for label in sorted(
    (lab for lab in CITYSCAPES_LABELS if 0 <= lab.trainId < IGNORE), key=lambda lab: lab.trainId)]
NUM_CLASSES = len(TRAIN_CLASSES)  # 19
LABEL_ID = {label.name: label.id for label in CITYSCAPES_LABELS}

# SG-GAN's 8 semantic groups, as the original code clusters Cityscapes' classes.
SGGAN_GROUPS: dict[str, tuple[str, ...]] = {
    "vehicle": ("car", "truck", "bus", "caravan", "trailer"),
    "pedestrian": ("person", "rider"),
    "cyclist": ("motorcycle", "bicycle"),
    "road": ("road", "sidewalk", "parking", "rail track"),
    "building": ("building", "wall", "fence", "guard rail", "bridge", "tunnel"),
    "sky": ("sky",),
    "tree": ("vegetation",),
    "other": (),  # everything else
}


def _lut(values: dict[int, int], default: int) -> np.ndarray:
    lut = np.full(NUM_LABEL_IDS, default, dtype=np.uint8)
    for label_id, value in values.items():
        lut[label_id] = value
    return lut


# label id -> train id (255 = ignore), for every uint8 value
LABEL_TO_TRAIN = _lut({lab.id: (lab.trainId if 0 <= lab.trainId < IGNORE else IGNORE)
                       for lab in CITYSCAPES_LABELS if lab.id >= 0}, IGNORE)
# train id -> label id (for writing Cityscapes-style predictions)
TRAIN_TO_LABEL = _lut({lab.trainId: lab.id for lab in CITYSCAPES_LABELS
                       if 0 <= lab.trainId < IGNORE}, 0)
# label id -> RGB colour; the palette used for GTA-style label PNGs
PALETTE = np.zeros((NUM_LABEL_IDS, 3), dtype=np.uint8)
for _lab in CITYSCAPES_LABELS:
    if _lab.id >= 0:
        PALETTE[_lab.id] = _lab.color
TRAIN_PALETTE = np.array([PALETTE[LABEL_ID[name]] for name in TRAIN_CLASSES], dtype=np.uint8)


def group_lut(grouping: str = "sggan") -> tuple[np.ndarray, list[str]]:
    """Label id -> semantic group index, and the group names.

    ``sggan``: the 8 groups of the original SG-GAN code; ``cityscapes``: Cityscapes' own
    8 categories (void, flat, construction, object, nature, sky, human, vehicle).
    """
    if grouping == "sggan":
        names = list(SGGAN_GROUPS)
        other = names.index("other")
        lut = np.full(NUM_LABEL_IDS, other, dtype=np.uint8)
        for index, (group, members) in enumerate(SGGAN_GROUPS.items()):
            for name in members:
                lut[LABEL_ID[name]] = index
        return lut, names
    if grouping == "cityscapes":
        categories = sorted({(lab.categoryId, lab.category) for lab in CITYSCAPES_LABELS})
        names = [name for _, name in categories]
        lut = np.full(NUM_LABEL_IDS, 0, dtype=np.uint8)  # out-of-range ids count as void
        for lab in CITYSCAPES_LABELS:
            if lab.id >= 0:
                lut[lab.id] = lab.categoryId
        return lut, names
    raise ValueError(f"unknown semantic grouping {grouping!r}; use 'sggan' or 'cityscapes'")


def to_train_ids(label_ids: np.ndarray) -> np.ndarray:
    return LABEL_TO_TRAIN[label_ids]
