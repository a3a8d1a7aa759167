"""Procedural backgrounds and the object priors of each scene type.

A background is a short list of drawing operations in image-relative coordinates (0..1), so
the scene description stores it exactly and any size can be redrawn.  Only flat shapes,
lines and vertical gradients: PNG compresses them well (no per-pixel noise), which keeps the
shipped benchmark small.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

Op = list  # ["vgrad", y0, y1, rgb0, rgb1(, x0, x1)] | ["rect", x0, y0, x1, y1, rgb] | ["ellipse", ...] | ["poly", pts, rgb] | ["line", pts, rgb, width]


@dataclass(frozen=True)
class SceneType:
    name: str
    priors: dict[str, float]          # category -> relative weight of being in the scene
    places: tuple[str, ...]           # "on the beach": prepositional phrases for captions
    nouns: tuple[str, ...]            # "A sandy beach": noun phrases for "... with X" captions
    draw: Callable[[np.random.Generator], list[Op]]


def _jit(rng: np.random.Generator, rgb: tuple[int, int, int], amount: int = 18) -> list[int]:
    return [int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in rgb]


def _r(x: float) -> float:
    return round(float(x), 4)


def _sky(rng, horizon: float) -> list[Op]:
    ops: list[Op] = [["vgrad", 0.0, _r(horizon), _jit(rng, (96, 160, 230)), _jit(rng, (200, 225, 245))]]
    if rng.random() < 0.6:  # sun
        cx, cy, r = rng.uniform(0.1, 0.9), rng.uniform(0.05, horizon * 0.6), rng.uniform(0.04, 0.08)
        ops.append(["ellipse", _r(cx - r), _r(cy - r), _r(cx + r), _r(cy + r), _jit(rng, (250, 220, 90), 8)])
    for _ in range(rng.integers(0, 3)):  # clouds
        cx, cy, w = rng.uniform(0, 1), rng.uniform(0.03, horizon * 0.7), rng.uniform(0.12, 0.25)
        ops.append(["ellipse", _r(cx - w / 2), _r(cy - w / 6), _r(cx + w / 2), _r(cy + w / 6), [250, 250, 252]])
    return ops


def _trees(rng, horizon: float, n: int, leaf=(70, 150, 70)) -> list[Op]:
    ops: list[Op] = []
    for _ in range(n):
        x, s = rng.uniform(0.05, 0.95), rng.uniform(0.08, 0.14)
        ops.append(["rect", _r(x - s / 6), _r(horizon - s), _r(x + s / 6), _r(horizon + s / 3), [110, 80, 50]])
        ops.append(["ellipse", _r(x - s), _r(horizon - 2.4 * s), _r(x + s), _r(horizon - 0.6 * s), _jit(rng, leaf)])
    return ops


def _park(rng) -> list[Op]:
    h = rng.uniform(0.3, 0.45)
    ops = _sky(rng, h) + [["vgrad", _r(h), 1.0, _jit(rng, (120, 190, 90)), _jit(rng, (80, 150, 60))]]
    ops += _trees(rng, h, int(rng.integers(1, 4)))
    if rng.random() < 0.5:  # footpath
        x = rng.uniform(0.2, 0.8)
        ops.append(["poly", [[_r(x - 0.03), _r(h)], [_r(x + 0.03), _r(h)], [_r(x + 0.25), 1.0], [_r(x - 0.25), 1.0]], _jit(rng, (210, 190, 150))])
    return ops


def _beach(rng) -> list[Op]:
    h = rng.uniform(0.28, 0.4)
    sand = rng.uniform(h + 0.12, h + 0.3)
    ops = _sky(rng, h) + [["vgrad", _r(h), _r(sand), _jit(rng, (60, 140, 200)), _jit(rng, (110, 190, 220))],
                          ["vgrad", _r(sand), 1.0, _jit(rng, (240, 220, 170)), _jit(rng, (225, 200, 145))],
                          ["line", [[0.0, _r(sand)], [1.0, _r(sand)]], [250, 250, 250], 2]]
    return ops


def _street(rng) -> list[Op]:
    h = rng.uniform(0.45, 0.6)
    ops = _sky(rng, h * 0.6)
    x = 0.0
    while x < 1.0:  # row of buildings with window grids
        w, top = rng.uniform(0.18, 0.32), rng.uniform(0.05, h - 0.15)
        ops.append(["rect", _r(x), _r(top), _r(x + w), _r(h), _jit(rng, (170, 150, 140), 40)])
        for wy in np.arange(top + 0.04, h - 0.06, 0.09):
            ops.append(["line", [[_r(x + 0.03), _r(wy)], [_r(x + w - 0.03), _r(wy)]], [210, 225, 240], 3])
        x += w
    ops += [["rect", 0.0, _r(h), 1.0, _r(h + 0.08), _jit(rng, (190, 190, 185))],
            ["rect", 0.0, _r(h + 0.08), 1.0, 1.0, _jit(rng, (95, 95, 100), 10)]]
    lane = _r(rng.uniform(h + 0.2, 0.9))
    for dx in np.arange(0.02, 1.0, 0.22):
        ops.append(["line", [[_r(dx), lane], [_r(dx + 0.12), lane]], [240, 230, 120], 2])
    return ops


def _snow(rng) -> list[Op]:
    h = rng.uniform(0.3, 0.45)
    ops = [["vgrad", 0.0, _r(h), _jit(rng, (150, 180, 215)), _jit(rng, (215, 228, 240))]]
    for _ in range(rng.integers(1, 3)):  # distant hills
        cx, w = rng.uniform(0, 1), rng.uniform(0.4, 0.8)
        ops.append(["ellipse", _r(cx - w), _r(h - 0.12), _r(cx + w), _r(h + 0.3), [236, 240, 248]])
    ops.append(["vgrad", _r(h), 1.0, [246, 248, 252], _jit(rng, (220, 228, 240), 8)])
    for _ in range(rng.integers(1, 4)):  # pine trees
        x, s = rng.uniform(0.05, 0.95), rng.uniform(0.06, 0.1)
        ops.append(["poly", [[_r(x), _r(h - 2.5 * s)], [_r(x + s), _r(h + 0.02)], [_r(x - s), _r(h + 0.02)]], _jit(rng, (50, 110, 80))])
    return ops


def _room(rng, wall, floor, stripes: bool, window: bool, rug: bool) -> list[Op]:
    h = rng.uniform(0.55, 0.7)
    ops: list[Op] = [["vgrad", 0.0, _r(h), _jit(rng, wall, 25), _jit(rng, wall, 25)]]
    if stripes:
        c = _jit(rng, wall, 25)
        for x in np.arange(rng.uniform(0, 0.1), 1.0, 0.16):
            ops.append(["rect", _r(x), 0.0, _r(x + 0.06), _r(h), c])
    if window:
        x, w = rng.uniform(0.05, 0.6), rng.uniform(0.22, 0.35)
        ops += [["rect", _r(x), 0.1, _r(x + w), _r(h - 0.2), [245, 245, 240]],
                ["vgrad", 0.13, _r(h - 0.23), [130, 185, 235], [190, 220, 245], _r(x + 0.02), _r(x + w - 0.02)]]
    ops.append(["vgrad", _r(h), 1.0, _jit(rng, floor), _jit(rng, floor)])
    for y in np.arange(h + 0.08, 1.0, 0.1):  # floor boards / tiles
        ops.append(["line", [[0.0, _r(y)], [1.0, _r(y)]], _jit(rng, floor, 0), 1])
    if rug:
        cx, w = rng.uniform(0.3, 0.7), rng.uniform(0.25, 0.4)
        ops.append(["ellipse", _r(cx - w), _r(h + 0.08), _r(cx + w), _r(0.97), _jit(rng, (170, 70, 70), 50)])
    return ops


def _kitchen(rng) -> list[Op]:
    ops = _room(rng, (235, 230, 215), (200, 200, 205), False, rng.random() < 0.6, False)
    y = _r(rng.uniform(0.45, 0.55))  # counter and backsplash tiles
    ops.append(["rect", 0.0, y, 1.0, _r(y + 0.05), _jit(rng, (120, 100, 90))])
    for x in np.arange(0.0, 1.0, 0.125):
        ops.append(["line", [[_r(x), _r(y - 0.2)], [_r(x), y]], [205, 205, 200], 1])
    return ops


def _living_room(rng) -> list[Op]:
    return _room(rng, (225, 210, 180), (170, 120, 80), rng.random() < 0.4, rng.random() < 0.6, rng.random() < 0.7)


def _bedroom(rng) -> list[Op]:
    return _room(rng, (205, 200, 230), (185, 150, 110), rng.random() < 0.6, rng.random() < 0.5, rng.random() < 0.4)


def _office(rng) -> list[Op]:
    return _room(rng, (220, 225, 230), (150, 155, 165), False, True, False)


def _bathroom(rng) -> list[Op]:
    ops = _room(rng, (215, 235, 240), (230, 230, 230), False, False, False)
    for x in np.arange(0.0, 1.0, 0.1):
        ops.append(["line", [[_r(x), 0.0], [_r(x), 0.6]], [190, 210, 215], 1])
    for y in np.arange(0.0, 0.6, 0.1):
        ops.append(["line", [[0.0, _r(y)], [1.0, _r(y)]], [190, 210, 215], 1])
    return ops


def _farm(rng) -> list[Op]:
    h = rng.uniform(0.3, 0.45)
    ops = _sky(rng, h) + [["vgrad", _r(h), 1.0, _jit(rng, (190, 200, 110)), _jit(rng, (140, 170, 80))]]
    x, w = rng.uniform(0.0, 0.7), rng.uniform(0.18, 0.26)  # barn
    ops += [["rect", _r(x), _r(h - w * 0.7), _r(x + w), _r(h + 0.02), _jit(rng, (180, 50, 40))],
            ["poly", [[_r(x - 0.02), _r(h - w * 0.7)], [_r(x + w / 2), _r(h - w * 1.2)], [_r(x + w + 0.02), _r(h - w * 0.7)]], [120, 40, 35]]]
    fy = _r(h + rng.uniform(0.05, 0.12))  # fence
    ops.append(["line", [[0.0, fy], [1.0, fy]], [150, 110, 70], 2])
    for fx in np.arange(0.03, 1.0, 0.12):
        ops.append(["line", [[_r(fx), _r(fy - 0.05)], [_r(fx), _r(fy + 0.03)]], [150, 110, 70], 2])
    return ops


def _savanna(rng) -> list[Op]:
    h = rng.uniform(0.35, 0.5)
    ops = [["vgrad", 0.0, _r(h), _jit(rng, (240, 180, 110)), _jit(rng, (250, 225, 170))]]
    cx, cy, r = rng.uniform(0.1, 0.9), rng.uniform(0.1, h * 0.6), rng.uniform(0.05, 0.09)
    ops.append(["ellipse", _r(cx - r), _r(cy - r), _r(cx + r), _r(cy + r), [250, 240, 200]])
    ops.append(["vgrad", _r(h), 1.0, _jit(rng, (215, 185, 110)), _jit(rng, (190, 155, 85))])
    for _ in range(rng.integers(1, 3)):  # flat-topped acacias
        x, s = rng.uniform(0.05, 0.95), rng.uniform(0.1, 0.16)
        ops += [["line", [[_r(x), _r(h + 0.02)], [_r(x), _r(h - s)]], [90, 70, 50], 2],
                ["ellipse", _r(x - s), _r(h - s - 0.05), _r(x + s), _r(h - s + 0.02), _jit(rng, (100, 130, 60))]]
    return ops


_PAIRISH = 3.0  # members of the default correlated pairs are frequent where they fit

SCENE_TYPES: dict[str, SceneType] = {s.name: s for s in [
    SceneType("park", {"person": 3, "dog": _PAIRISH, "frisbee": _PAIRISH, "skateboard": 1.5, "bicycle": 1,
                       "bird": 1, "kite": 1, "sports ball": 1, "backpack": 1, "umbrella": 0.7, "horse": 0.5,
                       "apple": 0.5, "sandwich": 0.5, "bottle": 0.5, "potted plant": 0.3},
              ("in a park", "in the park", "on the grass"), ("A park", "A sunny park", "A grassy park"), _park),
    SceneType("beach", {"person": 3, "dog": 2, "frisbee": 2, "umbrella": 2, "kite": 1.5, "sports ball": 1.5,
                        "boat": 1.5, "bird": 1, "bottle": 1, "sandwich": 0.7, "orange": 0.7, "backpack": 0.7,
                        "suitcase": 0.5, "book": 0.5},
              ("on the beach", "at the beach", "by the sea"), ("A beach", "A sandy beach"), _beach),
    SceneType("street", {"person": 3, "car": _PAIRISH, "traffic light": _PAIRISH, "bus": 1.5, "truck": 1.5,
                         "motorcycle": 1.5, "bicycle": 1.5, "stop sign": 1.5, "skateboard": 1.5, "dog": 1,
                         "umbrella": 1, "handbag": 1, "backpack": 1, "suitcase": 0.7, "bird": 0.7, "cell phone": 0.5},
              ("on a street", "on the street", "in the city"), ("A city street", "A busy street"), _street),
    SceneType("snow", {"person": 2.5, "dog": 1.5, "car": 1.5, "truck": 1, "sheep": 1, "horse": 1, "bird": 1,
                       "backpack": 1, "cup": 1, "bottle": 0.7, "train": 1, "clock": 0.3},
              ("in the snow", "on a snowy hill"), ("A snowy hill", "A snowy landscape"), _snow),
    SceneType("kitchen", {"cup": _PAIRISH, "bottle": 1.5, "wine glass": 1.5, "knife": 1.5, "spoon": 1.5,
                          "bowl": 1.5, "banana": 1, "apple": 1, "orange": 1, "broccoli": 1, "carrot": 1,
                          "pizza": 1, "cake": 1, "donut": 1, "sandwich": 1, "hot dog": 1, "cat": 1,
                          "person": 1, "clock": 0.5, "potted plant": 0.5, "laptop": 1},
              ("in a kitchen", "in the kitchen"), ("A kitchen", "A small kitchen"), _kitchen),
    SceneType("living room", {"couch": _PAIRISH, "cat": _PAIRISH, "tv": 2, "laptop": 1.5, "teddy bear": 1,
                              "dog": 1.5, "book": 1.5, "clock": 1, "vase": 1, "potted plant": 1.5, "chair": 1.5,
                              "cup": 1.5, "cell phone": 1, "person": 1.5, "wine glass": 0.7, "keyboard": 0.3},
              ("in a living room", "in the living room"), ("A living room", "A cozy living room"), _living_room),
    SceneType("bedroom", {"bed": _PAIRISH, "teddy bear": _PAIRISH, "cat": 1.5, "book": 1.5, "clock": 1.5,
                          "laptop": 1, "cell phone": 1, "chair": 1, "backpack": 1, "suitcase": 1, "person": 1,
                          "potted plant": 0.7, "dog": 0.7, "tv": 0.5, "vase": 0.5},
              ("in a bedroom", "in the bedroom"), ("A bedroom", "A cozy bedroom"), _bedroom),
    SceneType("office", {"laptop": _PAIRISH, "cup": 2, "keyboard": 2, "mouse": 2, "cell phone": 1.5,
                         "book": 1.5, "chair": 1.5, "scissors": 1, "clock": 1, "potted plant": 1, "person": 1.5,
                         "bottle": 1, "backpack": 1, "handbag": 0.7, "tv": 0.7},
              ("in an office", "at the office"), ("An office", "A quiet office"), _office),
    SceneType("bathroom", {"toilet": 3, "toothbrush": 3, "cup": 1.5, "bottle": 1.5, "scissors": 1, "vase": 1,
                           "potted plant": 1, "clock": 0.7, "book": 0.5, "cat": 0.7, "cell phone": 0.5},
              ("in a bathroom", "in the bathroom"), ("A bathroom", "A clean bathroom"), _bathroom),
    SceneType("farm", {"horse": 2.5, "cow": 2.5, "sheep": 2.5, "dog": 2, "person": 2, "bird": 1.5, "truck": 1.5,
                       "carrot": 1, "apple": 1, "bicycle": 0.7, "frisbee": 0.5},
              ("on a farm", "in a field"), ("A farm", "A green farm"), _farm),
    SceneType("savanna", {"elephant": 3, "giraffe": 3, "zebra": 3, "bird": 1.5, "car": 1, "truck": 1,
                          "person": 1, "airplane": 0.7},
              ("in the savanna", "on the plains"), ("A savanna", "A dry savanna"), _savanna),
]}


def sample_background(rng: np.random.Generator, scene_type: str) -> list[Op]:
    """Drawing operations of a fresh background of `scene_type`."""
    return SCENE_TYPES[scene_type].draw(rng)


def _px(v: float, n: int) -> int:
    return int(round(v * n))


def draw_background(ops: list[Op], width: int, height: int) -> Image.Image:
    """Render background operations to an RGB image (pure function of its inputs)."""
    img = Image.new("RGB", (width, height), (128, 128, 128))
    draw = ImageDraw.Draw(img)
    for op in ops:
        kind = op[0]
        if kind == "vgrad":
            y0, y1, c0, c1 = op[1:5]
            x0, x1 = (op[5], op[6]) if len(op) > 5 else (0.0, 1.0)   # optional horizontal extent
            a, b = _px(y0, height), _px(y1, height)
            xa, xb = _px(x0, width), _px(x1, width) - 1
            for y in range(a, b):  # one flat row each: PNG's "Up" filter makes this nearly free
                t = (y - a) / max(1, b - a - 1)
                draw.line([(xa, y), (xb, y)], fill=tuple(int(round(p + (q - p) * t)) for p, q in zip(c0, c1, strict=True)))
        elif kind in ("rect", "ellipse"):
            _, x0, y0, x1, y1, c = op
            box = [_px(x0, width), _px(y0, height), _px(x1, width) - 1, _px(y1, height) - 1]
            if box[2] < box[0] or box[3] < box[1]:
                continue
            (draw.rectangle if kind == "rect" else draw.ellipse)(box, fill=tuple(c))
        elif kind == "poly":
            draw.polygon([(_px(x, width), _px(y, height)) for x, y in op[1]], fill=tuple(op[2]))
        elif kind == "line":
            width_px = max(1, round(op[3] * width / 128))
            draw.line([(_px(x, width), _px(y, height)) for x, y in op[1]], fill=tuple(op[2]), width=width_px)
        else:
            raise ValueError(f"unknown background operation {kind!r}")
    return img
