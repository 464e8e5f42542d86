"""Label tables derived from cityscapesscripts (never retyped here).

GTA-V labels store Cityscapes label ids as palette indices, so one table serves both domains.
"""

from __future__ import annotations

import numpy as np
from cityscapesscripts.helpers.labels import labels as CITYSCAPES_LABELS
from PIL import Image

IGNORE = 255
NUM_LABEL_IDS = 256  # lookup tables cover every uint8 value; ids > 33 are "out of range"
MAX_LABEL_ID = max(label.id for label in CITYSCAPES_LABELS if label.id >= 0)

TRAIN_CLASSES = [
    label.name
    for label in sorted((lab for lab in CITYSCAPES_LABELS if 0 <= lab.trainId < IGNORE), key=lambda lab: lab.trainId)
]
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
LABEL_TO_TRAIN = _lut(
    {lab.id: (lab.trainId if 0 <= lab.trainId < IGNORE else IGNORE) for lab in CITYSCAPES_LABELS if lab.id >= 0}, IGNORE
)
# train id -> label id (for writing Cityscapes-style predictions)
TRAIN_TO_LABEL = _lut({lab.trainId: lab.id for lab in CITYSCAPES_LABELS if 0 <= lab.trainId < IGNORE}, 0)
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
        for index, members in enumerate(SGGAN_GROUPS.values()):
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


def boundary_band(label_ids: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """SG-GAN's semantic-boundary map B at ``size`` (H, W), built as the original code builds it.

    Peilun-Li/SG-GAN utils.load_train_data (lines 54-99) reads the *colour* label image as float
    (utils.imread), resizes it with scipy.misc.imresize to 256x512, scales it to [-1, 1];
    model.py (lines 65-78) reflect-pads it by one pixel, filters each colour channel with the
    central differences [-1, 0, 1] in x and in y, and marks a pixel where the summed absolute
    response is nonzero. imresize of a float array first stretches its range to 0..255
    (scipy's bytescale), then resizes with PIL's bilinear filter, which blends colours across
    class edges: the band is 2-3 pixels wide (about 17% of a frame at 256x512), not the 1-2 of
    label-id differences after a nearest resize. Colours are Cityscapes' (GTA-V's label palette
    differs only in "static", (20,20,20) there, black here: 24 of 131,072 pixels of the sample
    frame's band). A summed absolute difference is nonzero exactly when some channel differs,
    so the filter is computed on the uint8 colours without rounding.

    label_ids: (h, w) Cityscapes label ids at any resolution. Returns (H, W) bool.
    """
    height, width = size
    colours = _scipy_bytescale(PALETTE[label_ids])
    resized = np.asarray(Image.fromarray(colours).resize((width, height), Image.BILINEAR)).astype(np.int16)
    padded = np.pad(resized, ((1, 1), (1, 1), (0, 0)), mode="reflect")  # the border is no boundary
    across = padded[1:-1, 2:] != padded[1:-1, :-2]
    down = padded[2:, 1:-1] != padded[:-2, 1:-1]
    return (across | down).any(axis=2)


def _scipy_bytescale(image: np.ndarray) -> np.ndarray:
    """scipy.misc.bytescale as imresize applies it to a float image: its range stretched to 0..255."""
    low, high = int(image.min()), int(image.max())
    scale = 255.0 / ((high - low) or 1)
    return ((image.astype(np.float64) - low) * scale + 0.5).astype(np.uint8)
