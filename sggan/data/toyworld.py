"""The toy world: procedural street scenes in the real GTA-V and Cityscapes on-disk formats.

One layout generator draws a label map (Cityscapes label ids) and an instance map per frame
from a seed; two renderers paint it:

- ``virtual`` (GTA-V lookalike): saturated, bright, flat colour per object, sharp edges,
  warm sky;
- ``real`` (Cityscapes lookalike): a different colour per class, not one global transform
  of the virtual colours (the road gets darker while the sky gets lighter and bluer, poles
  turn lighter than the road, windows darker than walls, cars change hue...), plus per-object
  texture and gentle gradients, sensor noise, slight blur and vignetting.

Both renderers vary each object's colour a little, so a segmenter must also use shape and
context, but the class colours differ so much between styles that a segmenter trained on
virtual frames fails on real ones unless the frames are translated. Because any layout can
be painted in either style, ``ideal/`` holds the GTA layouts painted in the real style: the
perfect translation, the ceiling for every translator.

Output of :func:`generate_toy_world`::

    out/gta/images/NNNNN.png, out/gta/labels/NNNNN.png              (palette label ids)
    out/cityscapes/leftImg8bit/{train,val}/{city}/{city}_{seq:06d}_000019_leftImg8bit.png
    out/cityscapes/gtFine/{train,val}/{city}/{city}_{seq:06d}_000019_gtFine_labelIds.png
    out/ideal/images/NNNNN.png                                        (labels = gta/labels)
    out/README.txt
"""

from __future__ import annotations

import argparse
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from sggan.cli import run
from sggan.data.io import atomic_write_text, write_image, write_label_ids
from sggan.data.labels import LABEL_ID

GTA_SIZE = (1914, 1052)  # width, height of the real GTA-V frames
CITYSCAPES_SIZE = (2048, 1024)  # width, height of the real Cityscapes frames
TRAIN_CITIES = ("toyburg", "mockstadt")
VAL_CITIES = ("fakefurt",)
CITYSCAPES_FRAME = 19  # Cityscapes annotates the 20th frame of each sequence: *_000019

# Per-frame random streams are keyed by (seed, domain, index, purpose), so frames do not
# depend on how many other frames are generated, and the ideal frames reuse GTA layouts.
_DOMAIN_KEY = {"gta": 1, "cityscapes_train": 2, "cityscapes_val": 3, "ideal": 4}
_LAYOUT, _RENDER = 0, 1


def scaled_size(size: tuple[int, int], scale: int) -> tuple[int, int]:
    """(height, width) of a real (width, height) frame size divided by ``scale``."""
    if scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale}")
    width, height = size
    return round(height / scale), round(width / scale)


# ----------------------------------------------------------------------------- layout


@dataclass
class Canvas:
    """A label-id map plus an instance map; each instance has one tone (a colour role)."""

    labels: np.ndarray
    instances: np.ndarray
    tones: list[str] = field(default_factory=list)

    @classmethod
    def empty(cls, height: int, width: int) -> Canvas:
        return cls(np.zeros((height, width), np.uint8), np.zeros((height, width), np.int32))

    @property
    def height(self) -> int:
        return self.labels.shape[0]

    @property
    def width(self) -> int:
        return self.labels.shape[1]

    def part(self, label: str, tone: str | None = None) -> tuple[int, int]:
        """A new instance: (label id, instance index) to draw with."""
        self.tones.append(tone or label)
        return LABEL_ID[label], len(self.tones) - 1

    def polygon(self, part: tuple[int, int], points) -> None:
        pts = [np.round(np.asarray(points, np.float64)).astype(np.int32)]
        cv2.fillPoly(self.labels, pts, part[0])
        cv2.fillPoly(self.instances, pts, part[1])

    def rect(self, part: tuple[int, int], x0: float, y0: float, x1: float, y1: float) -> None:
        self.polygon(part, [(x0, y0), (x1, y0), (x1, y1), (x0, y1)])

    def ellipse(self, part: tuple[int, int], cx: float, cy: float, rx: float, ry: float) -> None:
        centre, axes = (round(cx), round(cy)), (max(1, round(rx)), max(1, round(ry)))
        cv2.ellipse(self.labels, centre, axes, 0, 0, 360, part[0], -1)
        cv2.ellipse(self.instances, centre, axes, 0, 0, 360, part[1], -1)

    def line(self, part: tuple[int, int], p0, p1, thickness: float) -> None:
        a, b, t = (round(p0[0]), round(p0[1])), (round(p1[0]), round(p1[1])), max(1, round(thickness))
        cv2.line(self.labels, a, b, part[0], t)
        cv2.line(self.instances, a, b, part[1], t)

    def ring(self, part: tuple[int, int], cx: float, cy: float, r: float, thickness: float) -> None:
        centre, t = (round(cx), round(cy)), max(1, round(thickness))
        cv2.circle(self.labels, centre, max(1, round(r)), part[0], t)
        cv2.circle(self.instances, centre, max(1, round(r)), part[1], t)


@dataclass(frozen=True)
class LayoutStats:
    """Object counts per frame (inclusive ranges); the domains differ a little, as real ones do."""

    horizon: tuple[float, float]
    cars: tuple[int, int]
    people: tuple[int, int]
    poles: tuple[int, int]
    trees: tuple[int, int]
    ego_hood: bool


VIRTUAL_LAYOUT = LayoutStats(
    horizon=(0.36, 0.50), cars=(2, 7), people=(0, 4), poles=(1, 4), trees=(1, 4), ego_hood=False
)
REAL_LAYOUT = LayoutStats(horizon=(0.34, 0.48), cars=(1, 6), people=(1, 6), poles=(2, 5), trees=(2, 5), ego_hood=True)


@dataclass(frozen=True)
class Street:
    """The ground geometry: horizon, vanishing point, and bottom-row x of the edges."""

    height: int
    width: int
    horizon: float
    vx: float
    road_left: float
    road_right: float
    walk_left: float  # outer edge of the left sidewalk
    walk_right: float  # outer edge of the right sidewalk

    def depth(self, y: float) -> float:
        """Perspective scale at ground row y: 0 at the horizon, 1 at the bottom row."""
        return (y - self.horizon) / (self.height - self.horizon)

    def edge_x(self, bottom_x: float, y: float) -> float:
        """x at row y of the ground line from the vanishing point to (bottom_x, bottom row)."""
        return self.vx + (bottom_x - self.vx) * self.depth(y)

    def edge_y(self, bottom_x: float, x: float) -> float:
        """Row where that ground line passes x (bottom row where it leaves the image first)."""
        if (x - self.vx) * (bottom_x - self.vx) <= 0:
            return self.horizon
        return min(self.height, self.horizon + (self.height - self.horizon) * (x - self.vx) / (bottom_x - self.vx))


def draw_layout(rng: np.random.Generator, height: int, width: int, stats: LayoutStats) -> Canvas:
    """One street scene: label ids and instances, drawn back to front."""
    canvas = Canvas.empty(height, width)
    street = _street(rng, height, width, stats)
    _draw_ground(canvas, street, rng)
    for side in (-1, 1):
        _draw_facades(canvas, street, rng, side)
    for _ in range(rng.integers(stats.trees[0], stats.trees[1] + 1)):
        _draw_tree(canvas, street, rng)
    for depth, draw in sorted(_street_objects(street, rng, stats), key=lambda item: item[0]):
        draw(canvas, street, rng, depth)
    if stats.ego_hood:
        _draw_ego_hood(canvas, rng)
    return canvas


def _street(rng: np.random.Generator, height: int, width: int, stats: LayoutStats) -> Street:
    road_left = width * rng.uniform(-0.25, 0.15)
    road_right = width * rng.uniform(0.85, 1.25)
    return Street(
        height,
        width,
        horizon=height * rng.uniform(*stats.horizon),
        vx=width * rng.uniform(0.38, 0.62),
        road_left=road_left,
        road_right=road_right,
        walk_left=road_left - width * rng.uniform(0.15, 0.45),
        walk_right=road_right + width * rng.uniform(0.15, 0.45),
    )


def _draw_ground(canvas: Canvas, s: Street, rng: np.random.Generator) -> None:
    h, w = s.height, s.width
    canvas.rect(canvas.part("sky"), 0, 0, w, h)
    # Beyond the sidewalks lies a grass verge; the façades later cover most of it.
    canvas.rect(canvas.part("terrain"), 0, s.horizon, w, h)
    top = s.horizon
    canvas.polygon(canvas.part("sidewalk"), [(s.vx, top), (s.road_left, h), (s.walk_left, h)])
    canvas.polygon(canvas.part("sidewalk"), [(s.vx, top), (s.walk_right, h), (s.road_right, h)])
    canvas.polygon(
        canvas.part("road"), [(s.vx - 0.005 * w, top), (s.vx + 0.005 * w, top), (s.road_right, h), (s.road_left, h)]
    )
    _draw_lane_marks(canvas, s, rng)


def _draw_lane_marks(canvas: Canvas, s: Street, rng: np.random.Generator) -> None:
    centre = (s.road_left + s.road_right) / 2 + s.width * rng.uniform(-0.1, 0.1)
    mark = canvas.part("road", "lane")
    # Dashes equally spaced along the ground: ground distance is proportional to 1/depth.
    for distance in np.arange(1.0, 20.0, 1.6):
        near, far = 1.0 / distance, 1.0 / (distance + 0.8)
        y0, y1 = s.horizon + far * (s.height - s.horizon), s.horizon + near * (s.height - s.horizon)
        half0, half1 = 0.006 * s.width * far, 0.006 * s.width * near
        x0, x1 = s.edge_x(centre, y0), s.edge_x(centre, y1)
        canvas.polygon(mark, [(x0 - half0, y0), (x0 + half0, y0), (x1 + half1, y1), (x1 - half1, y1)])


def _draw_facades(canvas: Canvas, s: Street, rng: np.random.Generator, side: int) -> None:
    """Buildings, walls, fences and hedges standing on the outer sidewalk edge of one side."""
    bottom = s.walk_left if side < 0 else s.walk_right
    start = s.vx + side * 0.02 * s.width
    end = 0.0 if side < 0 else float(s.width)
    u = 0.0  # fraction of the way from the vanishing point to the image edge
    while u < 1.0:
        step = rng.uniform(0.06, 0.25) * (u + 0.2)  # segments widen towards the viewer
        xa, xb = start + (end - start) * u, start + (end - start) * min(1.0, u + step)
        u += step
        kind = rng.choice(["building", "wall", "fence", "vegetation", "gap"], p=[0.68, 0.08, 0.08, 0.1, 0.06])
        if kind == "gap":
            continue
        # Height relative to the camera height: a façade's top is a line through the
        # vanishing point, k times as far above the horizon as its foot is below it.
        k = {
            "building": rng.uniform(1.2, 5.0),
            "wall": rng.uniform(0.4, 0.9),
            "fence": rng.uniform(0.35, 0.7),
            "vegetation": rng.uniform(0.5, 1.2),
        }[kind]
        xs = np.linspace(xa, xb, 6)
        feet = np.array([s.edge_y(bottom, x) for x in xs])
        tops = s.horizon - k * (feet - s.horizon)
        part = canvas.part(kind)
        canvas.polygon(part, list(zip(xs, tops)) + list(zip(xs[::-1], feet[::-1])))
        if kind == "building":
            _draw_windows(canvas, rng, xs, tops, feet)


def _draw_windows(canvas: Canvas, rng: np.random.Generator, xs: np.ndarray, tops: np.ndarray, feet: np.ndarray) -> None:
    """Rows of windows on a façade, labelled building (Cityscapes does the same)."""
    if abs(xs[-1] - xs[0]) < 6 or rng.random() < 0.2:
        return
    part = canvas.part("building", "window")
    columns = int(rng.integers(2, 6))
    rows = int(rng.integers(2, 7))
    for c in range(columns):
        fa, fb = (c + 0.25) / columns, (c + 0.75) / columns
        xa, xb = np.interp([fa, fb], [0, 1], [xs[0], xs[-1]])
        middle = (fa + fb) / 2
        top = np.interp(middle, [0, 1], [tops[0], tops[-1]])
        foot = np.interp(middle, [0, 1], [feet[0], feet[-1]])
        for r in range(rows):
            ya = top + (foot - top) * (r + 0.3) / (rows + 0.5)
            yb = top + (foot - top) * (r + 0.8) / (rows + 0.5)
            if yb - ya >= 1:
                canvas.rect(part, xa, ya, xb, yb)


def _draw_tree(canvas: Canvas, s: Street, rng: np.random.Generator) -> None:
    """A tree on the outer sidewalk edge: trunk and canopy, both labelled vegetation."""
    depth = rng.uniform(0.08, 0.9) ** 1.3
    y = s.horizon + depth * (s.height - s.horizon)
    bottom = s.walk_left if rng.random() < 0.5 else s.walk_right
    x = s.edge_x(bottom, y) + rng.uniform(-0.03, 0.03) * s.width * depth
    trunk_h, trunk_w = depth * s.height * rng.uniform(0.5, 0.9), max(1.0, depth * s.width * 0.012)
    canvas.rect(canvas.part("vegetation", "trunk"), x - trunk_w / 2, y - trunk_h, x + trunk_w / 2, y)
    radius = depth * s.width * rng.uniform(0.06, 0.14)
    canvas.ellipse(canvas.part("vegetation"), x, y - trunk_h - radius * 0.5, radius, radius * rng.uniform(0.7, 1.0))


def _street_objects(s: Street, rng: np.random.Generator, stats: LayoutStats):
    """(depth, draw function) for every car, person and pole, to be drawn far to near."""
    objects = []
    for _ in range(rng.integers(stats.cars[0], stats.cars[1] + 1)):
        objects.append((rng.uniform(0.06, 0.95) ** 1.2, _draw_vehicle))
    for _ in range(rng.integers(stats.people[0], stats.people[1] + 1)):
        objects.append((rng.uniform(0.1, 0.95) ** 1.2, _draw_person))
    for _ in range(rng.integers(stats.poles[0], stats.poles[1] + 1)):
        objects.append((rng.uniform(0.08, 0.9) ** 1.2, _draw_pole))
    return objects


def _draw_vehicle(canvas: Canvas, s: Street, rng: np.random.Generator, depth: float) -> None:
    """A car, truck or bus seen from behind, in a lane of the road."""
    y = s.horizon + depth * (s.height - s.horizon)
    lane = rng.uniform(0.15, 0.85)
    x = s.edge_x(s.road_left + lane * (s.road_right - s.road_left), y)
    kind = rng.choice(["car", "truck", "bus"], p=[0.84, 0.08, 0.08])
    w = depth * s.width * rng.uniform(0.2, 0.26) * (1.2 if kind != "car" else 1.0)
    if w < 2:
        return
    if kind == "car":
        _draw_car(canvas, x, y, w)
    else:
        _draw_big_vehicle(canvas, kind, x, y, w, rng)


def _draw_car(canvas: Canvas, x: float, y: float, w: float) -> None:
    h = 0.8 * w
    body = canvas.part("car")
    canvas.rect(body, x - w / 2, y - 0.6 * h, x + w / 2, y - 0.12 * h)
    canvas.polygon(
        body, [(x - 0.42 * w, y - 0.6 * h), (x + 0.42 * w, y - 0.6 * h), (x + 0.32 * w, y - h), (x - 0.32 * w, y - h)]
    )
    canvas.polygon(
        canvas.part("car", "window"),
        [
            (x - 0.36 * w, y - 0.63 * h),
            (x + 0.36 * w, y - 0.63 * h),
            (x + 0.29 * w, y - 0.94 * h),
            (x - 0.29 * w, y - 0.94 * h),
        ],
    )
    wheels = canvas.part("car", "wheel")
    canvas.rect(wheels, x - 0.46 * w, y - 0.15 * h, x - 0.26 * w, y)
    canvas.rect(wheels, x + 0.26 * w, y - 0.15 * h, x + 0.46 * w, y)


def _draw_big_vehicle(canvas: Canvas, kind: str, x: float, y: float, w: float, rng: np.random.Generator) -> None:
    h = w * rng.uniform(1.1, 1.35)
    canvas.rect(canvas.part(kind), x - w / 2, y - h, x + w / 2, y - 0.08 * h)
    if kind == "bus":
        canvas.rect(canvas.part(kind, "window"), x - 0.42 * w, y - 0.92 * h, x + 0.42 * w, y - 0.55 * h)
    wheels = canvas.part(kind, "wheel")
    canvas.rect(wheels, x - 0.45 * w, y - 0.1 * h, x - 0.25 * w, y)
    canvas.rect(wheels, x + 0.25 * w, y - 0.1 * h, x + 0.45 * w, y)


def _draw_person(canvas: Canvas, s: Street, rng: np.random.Generator, depth: float) -> None:
    """A pedestrian on a sidewalk, or a rider on a bicycle at the road's edge."""
    y = s.horizon + depth * (s.height - s.horizon)
    side = -1 if rng.random() < 0.5 else 1
    road_edge = s.road_left if side < 0 else s.road_right
    rider = rng.random() < 0.25
    if rider:
        x = s.edge_x(road_edge, y) - side * rng.uniform(0.02, 0.06) * s.width * depth
    else:
        outer = s.walk_left if side < 0 else s.walk_right
        x = s.edge_x(road_edge + rng.uniform(0.1, 0.9) * (outer - road_edge), y)
    h = depth * s.height * rng.uniform(0.45, 0.6)
    if h < 4:
        return
    if rider:
        wheel_r = 0.17 * h
        bike = canvas.part("bicycle")
        canvas.ring(bike, x, y - wheel_r, wheel_r, max(1.0, 0.04 * h))
        canvas.line(bike, (x, y - wheel_r), (x, y - 0.55 * h), max(1.0, 0.05 * h))
        _draw_figure(canvas, canvas.part("rider"), x, y - 0.35 * h, 0.75 * h)
    else:
        _draw_figure(canvas, canvas.part("person"), x, y, h)


def _draw_figure(canvas: Canvas, clothes: tuple[int, int], x: float, y: float, h: float) -> None:
    """Legs, torso and head of a standing figure of height h whose feet are at (x, y)."""
    w = 0.28 * h
    canvas.rect(clothes, x - 0.4 * w, y - 0.48 * h, x - 0.05 * w, y)
    canvas.rect(clothes, x + 0.05 * w, y - 0.48 * h, x + 0.4 * w, y)
    canvas.polygon(
        clothes,
        [
            (x - 0.5 * w, y - 0.82 * h),
            (x + 0.5 * w, y - 0.82 * h),
            (x + 0.42 * w, y - 0.46 * h),
            (x - 0.42 * w, y - 0.46 * h),
        ],
    )
    head_label = "rider" if clothes[0] == LABEL_ID["rider"] else "person"
    canvas.ellipse(canvas.part(head_label, "skin"), x, y - 0.9 * h, 0.3 * w, 0.09 * h)


def _draw_pole(canvas: Canvas, s: Street, rng: np.random.Generator, depth: float) -> None:
    """A pole near the kerb carrying a traffic sign, a traffic light, or nothing (a lamp post)."""
    y = s.horizon + depth * (s.height - s.horizon)
    side = -1 if rng.random() < 0.5 else 1
    road_edge, outer = (s.road_left, s.walk_left) if side < 0 else (s.road_right, s.walk_right)
    x = s.edge_x(road_edge + rng.uniform(0.05, 0.3) * (outer - road_edge), y)
    h = depth * s.height * rng.uniform(0.9, 1.3)
    w = max(1.0, depth * s.width * 0.01)
    if h < 4:
        return
    canvas.rect(canvas.part("pole"), x - w / 2, y - h, x + w / 2, y)
    kind = rng.choice(["sign", "light", "none"], p=[0.45, 0.4, 0.15])
    size = max(2.0, depth * s.width * 0.05)
    if kind == "sign":
        _draw_sign(canvas, rng, x, y - h + size * 0.6, size)
    elif kind == "light":
        _draw_traffic_light(canvas, x, y - h, size)


def _draw_sign(canvas: Canvas, rng: np.random.Generator, x: float, y: float, size: float) -> None:
    part = canvas.part("traffic sign")
    shape = rng.choice(["round", "square", "triangle"])
    if shape == "round":
        canvas.ellipse(part, x, y, size / 2, size / 2)
    elif shape == "square":
        canvas.rect(part, x - size / 2, y - size / 2, x + size / 2, y + size / 2)
    else:
        canvas.polygon(part, [(x - size / 2, y + size / 2), (x + size / 2, y + size / 2), (x, y - size / 2)])


def _draw_traffic_light(canvas: Canvas, x: float, top: float, size: float) -> None:
    w, h = 0.5 * size, 1.3 * size
    canvas.rect(canvas.part("traffic light"), x - w / 2, top, x + w / 2, top + h)
    lamps = canvas.part("traffic light", "lamp")
    for k in range(3):
        canvas.ellipse(lamps, x, top + h * (k + 0.5) / 3, 0.3 * w, 0.3 * w)


def _draw_ego_hood(canvas: Canvas, rng: np.random.Generator) -> None:
    """The bonnet of the recording car at the bottom of every Cityscapes frame."""
    h, w = canvas.height, canvas.width
    rise = h * rng.uniform(0.07, 0.12)
    canvas.ellipse(canvas.part("ego vehicle"), w * rng.uniform(0.45, 0.55), h + 2.5 * rise, 0.9 * w, 3.5 * rise)


# ----------------------------------------------------------------------------- rendering


@dataclass(frozen=True)
class Style:
    """Colours per tone (one picked per object), texture, gradients and camera effects."""

    name: str
    colours: dict[str, tuple[tuple[int, int, int], ...]]
    jitter: float  # relative brightness spread between objects of one tone
    offset: float  # per-channel colour spread between objects (0..255 units)
    texture: dict[str, float] = field(default_factory=dict)  # luminance texture std per tone
    gradient: dict[str, float] = field(default_factory=dict)  # vertical brightness slope per tone
    object_gradient: float = 0.0  # random per-object brightness slope (uneven lighting)
    sensor_noise: float = 0.0
    blur_sigma: float = 0.0  # at scale 8; grows gently for larger frames
    vignetting: float = 0.0  # share of brightness lost in the corners


VIRTUAL = Style(
    name="virtual",
    colours={
        "sky": ((255, 196, 120),),
        "road": ((170, 140, 165),),
        "lane": ((255, 250, 235),),
        "sidewalk": ((236, 200, 150),),
        "terrain": ((205, 230, 90),),
        "building": ((214, 110, 80), (205, 150, 90), (226, 120, 140)),
        "window": ((120, 205, 255),),
        "wall": ((240, 228, 130),),
        "fence": ((195, 120, 40),),
        "vegetation": ((110, 232, 50),),
        "trunk": ((160, 95, 40),),
        "pole": ((80, 80, 125),),
        "traffic sign": ((255, 235, 0),),
        "traffic light": ((255, 130, 0),),
        "lamp": ((255, 40, 40),),
        "person": ((250, 40, 170), (175, 40, 250), (250, 80, 80)),
        "skin": ((255, 205, 165),),
        "rider": ((20, 215, 240),),
        "bicycle": ((255, 20, 20),),
        "car": ((30, 70, 255), (0, 175, 255), (125, 0, 255)),
        "wheel": ((25, 25, 35),),
        "truck": ((40, 170, 250),),
        "bus": ((255, 210, 0),),
        "ego vehicle": ((30, 30, 30),),
    },
    jitter=0.1,
    offset=8.0,
    gradient={"sky": 0.12},  # a warm glow towards the horizon, nothing else shaded
)

# Real colours are chosen per class: brightness order changes (road now darker than poles,
# windows darker than walls, sky brighter than sidewalk), hues move different ways (sky to
# blue, vegetation to dark green, buildings to grey, cars to everyday paints), so no single
# colour mapping turns virtual frames into real ones.
REAL = Style(
    name="real",
    colours={
        "sky": ((215, 232, 250),),
        "road": ((72, 72, 78),),
        "lane": ((200, 200, 195),),
        "sidewalk": ((150, 145, 140),),
        "terrain": ((125, 128, 78),),
        "building": ((122, 114, 106), (96, 92, 90), (142, 132, 120)),
        "window": ((55, 65, 78),),
        "wall": ((152, 146, 132),),
        "fence": ((110, 104, 94),),
        "vegetation": ((45, 86, 35),),
        "trunk": ((62, 46, 36),),
        "pole": ((168, 168, 162),),
        "traffic sign": ((210, 50, 45), (40, 80, 170), (230, 230, 224)),
        "traffic light": ((34, 34, 36),),
        "lamp": ((225, 205, 80),),
        "person": ((60, 55, 60), (92, 72, 60), (40, 50, 82), (150, 140, 130)),
        "skin": ((200, 160, 136),),
        "rider": ((112, 40, 35), (50, 50, 52)),
        "bicycle": ((32, 32, 36),),
        "car": ((150, 30, 30), (182, 182, 188), (32, 32, 36), (228, 228, 228), (40, 52, 92)),
        "wheel": ((18, 18, 18),),
        "truck": ((214, 214, 204),),
        "bus": ((60, 110, 160),),
        "ego vehicle": ((26, 29, 36),),
    },
    jitter=0.12,
    offset=6.0,
    texture={
        "road": 9.0,
        "sidewalk": 9.0,
        "terrain": 14.0,
        "vegetation": 18.0,
        "building": 10.0,
        "wall": 8.0,
        "fence": 8.0,
        "sky": 2.5,
        "trunk": 8.0,
    },
    gradient={"sky": 0.12, "road": 0.15, "building": -0.1},
    object_gradient=0.2,
    sensor_noise=3.0,
    blur_sigma=0.7,
    vignetting=0.3,
)

STYLES = {"virtual": VIRTUAL, "real": REAL}


def render(canvas: Canvas, style: Style, rng: np.random.Generator, scale: int = 8) -> np.ndarray:
    """Paint a layout: RGB uint8 (H, W, 3)."""
    h, w = canvas.height, canvas.width
    colours, gains, slopes, textures = _instance_appearance(canvas.tones, style, rng)
    image = colours[canvas.instances]  # flat colour per object
    ys = (np.arange(h, dtype=np.float32) / max(1, h - 1) - 0.5)[:, None]
    xs = (np.arange(w, dtype=np.float32) / max(1, w - 1) - 0.5)[None, :]
    shading = 1.0 + gains[canvas.instances] * ys + slopes[canvas.instances] * xs
    image = image * shading[..., None]
    if style.texture:
        image += (textures[canvas.instances] * _texture_field(rng, h, w))[..., None]
    if style.vignetting:
        radius2 = (xs**2 + ys**2) * 2.0  # 0 in the centre, 1 in the corners
        image *= (1.0 - style.vignetting * radius2**2)[..., None]
    if style.blur_sigma:
        image = cv2.GaussianBlur(image, (0, 0), style.blur_sigma * max(1.0, 8.0 / scale) ** 0.5)
    if style.sensor_noise:
        image += rng.normal(0.0, style.sensor_noise, image.shape).astype(np.float32)
    return np.clip(image + 0.5, 0, 255).astype(np.uint8)


def _instance_appearance(tones: list[str], style: Style, rng: np.random.Generator):
    """Per-instance colour, vertical gain, horizontal slope and texture strength."""
    n = len(tones)
    colours = np.empty((n, 3), np.float32)
    gains = np.empty(n, np.float32)
    slopes = np.empty(n, np.float32)
    textures = np.empty(n, np.float32)
    for i, tone in enumerate(tones):
        choices = style.colours[tone]
        base = np.asarray(choices[rng.integers(len(choices))], np.float32)
        brightness = rng.uniform(1.0 - style.jitter, 1.0 + style.jitter)
        colours[i] = base * brightness + rng.normal(0.0, style.offset, 3)
        gains[i] = style.gradient.get(tone, 0.0) + rng.uniform(-1, 1) * style.object_gradient * 0.5
        slopes[i] = rng.uniform(-1, 1) * style.object_gradient
        textures[i] = style.texture.get(tone, 3.0 if style.texture else 0.0)
    return colours, gains, slopes, textures


def _texture_field(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Unit-std luminance texture: blotches a few pixels wide plus fine grain."""
    coarse = rng.standard_normal((max(2, h // 4), max(2, w // 4))).astype(np.float32)
    blotches = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR)
    grain = rng.standard_normal((h, w)).astype(np.float32)
    field_ = blotches * 1.6 + grain * 0.6
    return field_ / max(1e-6, float(field_.std()))


# ----------------------------------------------------------------------------- frames


def _rng(seed: int, domain: str, index: int, purpose: int) -> np.random.Generator:
    return np.random.default_rng([seed, _DOMAIN_KEY[domain], index, purpose])


def gta_frame(seed: int, index: int, scale: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """GTA frame ``index``: (virtual image, label ids, the same layout in the real style)."""
    height, width = scaled_size(GTA_SIZE, scale)
    canvas = draw_layout(_rng(seed, "gta", index, _LAYOUT), height, width, VIRTUAL_LAYOUT)
    virtual = render(canvas, VIRTUAL, _rng(seed, "gta", index, _RENDER), scale)
    ideal = render(canvas, REAL, _rng(seed, "ideal", index, _RENDER), scale)
    return virtual, canvas.labels, ideal


def cityscapes_frame(seed: int, split: str, index: int, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """Cityscapes-like frame ``index`` of ``split`` ("train" or "val"): (image, label ids)."""
    domain = f"cityscapes_{split}"
    height, width = scaled_size(CITYSCAPES_SIZE, scale)
    canvas = draw_layout(_rng(seed, domain, index, _LAYOUT), height, width, REAL_LAYOUT)
    return render(canvas, REAL, _rng(seed, domain, index, _RENDER), scale), canvas.labels


def cityscapes_name(split: str, index: int) -> tuple[str, str]:
    """(city, frame stem) of frame ``index`` of a split: cities take turns, one sequence each."""
    cities = TRAIN_CITIES if split == "train" else VAL_CITIES
    city = cities[index % len(cities)]
    return city, f"{city}_{index // len(cities):06d}_{CITYSCAPES_FRAME:06d}"


def generate_toy_world(
    out: Path, seed: int, scale: int, gta_frames: int, cityscapes_train: int, cityscapes_val: int
) -> None:
    """Write the toy GTA-V, Cityscapes and ideal roots under ``out``.

    Every file is written atomically and is a pure function of (seed, scale, its index), so a
    rerun after an interruption rewrites identical files and never leaves a half-written one.
    """
    out = Path(out)
    for index in range(1, gta_frames + 1):  # GTA-V numbers its frames from 00001
        virtual, labels, ideal = gta_frame(seed, index, scale)
        write_image(out / "gta" / "images" / f"{index:05d}.png", virtual)
        write_label_ids(out / "gta" / "labels" / f"{index:05d}.png", labels, palette=True)
        write_image(out / "ideal" / "images" / f"{index:05d}.png", ideal)
    for split, count in (("train", cityscapes_train), ("val", cityscapes_val)):
        # Split folders exist even when empty, so the root always validates.
        for tree in ("leftImg8bit", "gtFine"):
            (out / "cityscapes" / tree / split).mkdir(parents=True, exist_ok=True)
        for index in range(count):
            image, labels = cityscapes_frame(seed, split, index, scale)
            city, stem = cityscapes_name(split, index)
            write_image(out / "cityscapes" / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png", image)
            write_label_ids(out / "cityscapes" / "gtFine" / split / city / f"{stem}_gtFine_labelIds.png", labels)
    atomic_write_text(out / "README.txt", _readme(seed, scale, gta_frames, cityscapes_train, cityscapes_val))


def _readme(seed: int, scale: int, gta_frames: int, cityscapes_train: int, cityscapes_val: int) -> str:
    gh, gw = scaled_size(GTA_SIZE, scale)
    ch, cw = scaled_size(CITYSCAPES_SIZE, scale)
    train_cities, val_cities = ", ".join(TRAIN_CITIES), ", ".join(VAL_CITIES)
    return f"""Toy world: procedural street scenes for the SG-GAN benchmark (sggan.data.toyworld)
seed {seed}, scale 1/{scale}

gta/         {gta_frames} frames, {gw}x{gh}, "virtual" style (saturated, flat, warm sky).
             images/NNNNN.png RGB; labels/NNNNN.png palette PNG, index = Cityscapes label id.
cityscapes/  {cityscapes_train} train ({train_cities}) + {cityscapes_val} val ({val_cities}) frames,
             {cw}x{ch}, "real" style (per-class colour shifts, texture, noise, blur, vignetting,
             ego-vehicle hood). leftImg8bit/SPLIT/CITY/*_leftImg8bit.png RGB;
             gtFine/SPLIT/CITY/*_gtFine_labelIds.png grey PNG of label ids.
ideal/       images/NNNNN.png: the gta layouts painted in the real style (perfect translation);
             their labels are gta/labels/NNNNN.png.

Same layouts and formats as the real GTA-V ("Playing for Data") and Cityscapes datasets, so the
same readers serve toy and real data. Regenerate with:
  python -m sggan.data.toyworld --out DIR --seed {seed} --scale {scale} --gta-frames {gta_frames} \\
      --cityscapes-train {cityscapes_train} --cityscapes-val {cityscapes_val}
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Generate the procedural toy world (GTA-V and Cityscapes lookalikes).")
    parser.add_argument("--out", type=Path, required=True, help="output folder (gta/, cityscapes/, ideal/ go inside)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scale", type=int, default=8, help="frames are the real sizes divided by this")
    parser.add_argument("--gta-frames", type=int, default=160)
    parser.add_argument("--cityscapes-train", type=int, default=80)
    parser.add_argument("--cityscapes-val", type=int, default=30)
    parser.add_argument(
        "--done",
        type=Path,
        help="write the world's README here once every file is written "
        "(the workflow's marker); a world of other settings in --out is replaced",
    )
    args = parser.parse_args(argv)
    for name in ("scale", "gta_frames", "cityscapes_train", "cityscapes_val"):
        if getattr(args, name) < (1 if name == "scale" else 0):
            parser.error(f"--{name.replace('_', '-')} must be {'positive' if name == 'scale' else 'non-negative'}")
    start = time.perf_counter()
    world = (args.seed, args.scale, args.gta_frames, args.cityscapes_train, args.cityscapes_val)
    readme = args.out / "README.txt"
    if args.done and readme.is_file() and readme.read_text() != _readme(*world):
        # fewer frames than before would leave the old ones to be read as part of this world
        for root in ("gta", "cityscapes", "ideal"):
            shutil.rmtree(args.out / root, ignore_errors=True)
    generate_toy_world(args.out, *world)
    if args.done:
        atomic_write_text(args.done, readme.read_text())
    print(f"toy world written to {args.out} in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    run(main)
