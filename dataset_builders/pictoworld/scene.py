"""Sampling and rendering of one PictoWorld scene.

A scene is a JSON-ready dict: the background's drawing operations and the ordered object
layers (glyph, font size, top-left position, flip, relation).  `render_scene` is a pure
function of it, so the exact remover redraws a scene without one category and every other
pixel stays what it was.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from PIL import Image

from .backgrounds import SCENE_TYPES, draw_background, sample_background
from .glyphs import GLYPHS, render_glyph

MASK_ALPHA = 128          # a glyph pixel belongs to the instance when its alpha is at least this
MIN_VISIBLE_FRACTION = 0.3  # instances hidden more than this by later layers are dropped
MIN_VISIBLE_PIXELS = 16

# Relative drawing size: a bus is larger than a spoon (not to scale, but ordered).
_LARGE = {"person", "bus", "train", "truck", "car", "airplane", "boat", "horse", "cow", "elephant",
          "giraffe", "zebra", "couch", "bed", "tv", "toilet", "chair", "motorcycle", "bicycle"}
_SMALL = {"spoon", "knife", "mouse", "cell phone", "toothbrush", "scissors", "apple", "orange", "donut",
          "cup", "wine glass", "bottle", "sports ball", "frisbee", "banana", "carrot", "book", "clock",
          "handbag", "bird", "hot dog", "skateboard"}

# Relations the layout realises and the captions may state.
# (object, anchor): the object is drawn resting on the anchor.
ON = {("cat", "couch"), ("cat", "bed"), ("cat", "chair"), ("dog", "couch"), ("dog", "bed"),
      ("teddy bear", "bed"), ("teddy bear", "couch"), ("teddy bear", "chair"), ("laptop", "bed"),
      ("laptop", "couch"), ("book", "bed"), ("person", "skateboard"), ("bird", "car"), ("cat", "car")}
# objects a person may hold (drawn at the hand of a person).
HELD = {"umbrella", "kite", "frisbee", "handbag", "cell phone", "book", "cup", "bottle", "sports ball",
        "teddy bear", "suitcase", "wine glass", "apple", "banana", "scissors", "toothbrush", "skateboard",
        "backpack", "donut", "hot dog", "sandwich"}


def _scale(category: str) -> float:
    return 1.3 if category in _LARGE else 0.75 if category in _SMALL else 1.0


def _weighted_sample(rng: np.random.Generator, weights: dict[str, float], k: int) -> list[str]:
    names = sorted(weights)
    p = np.array([weights[n] for n in names], dtype=float)
    k = min(k, len(names))
    idx = rng.choice(len(names), size=k, replace=False, p=p / p.sum())
    return [names[i] for i in idx]


def sample_objects(rng: np.random.Generator, correlation: float, pairs: Sequence[tuple[str, str]],
                   n_categories: Sequence[float], pair_rate: float = 0.08,
                   scene_type: str | None = None) -> tuple[str, dict[str, int]]:
    """Scene type, categories and instance counts of a scene.

    Members of correlated pairs come first, regardless of the scene: each is present with
    probability `pair_rate`, independently; then for each pair with exactly one member
    present, the partner is added with probability `correlation`.  So
    P(b | a) = pair_rate + (1 - pair_rate) * correlation, and 0 means independent (drawing
    them from a scene prior would correlate them through the scene).  The scene type is then
    chosen to suit the members present, and the other categories come from its prior.
    """
    members = sorted({c for p in pairs for c in p})
    seeds = {c: rng.random() < pair_rate for c in members}  # drawn for all: pairs don't shift each other
    cats = {c for c, on in seeds.items() if on}
    for a, b in pairs:
        u = rng.random()
        if (a in cats) != (b in cats) and u < correlation:
            cats.add(b if a in cats else a)
    if scene_type is None:
        names = sorted(SCENE_TYPES)
        fit = np.array([np.prod([SCENE_TYPES[n].priors.get(c, 0.0) + 0.2 for c in cats]) for n in names])
        scene_type = names[int(rng.choice(len(names), p=fit / fit.sum()))]
    priors = {c: w for c, w in SCENE_TYPES[scene_type].priors.items() if c not in members}
    k = 1 + int(rng.choice(len(n_categories), p=np.asarray(n_categories) / sum(n_categories)))
    cats |= set(_weighted_sample(rng, priors, k))
    counts = {}
    for c in sorted(cats):
        p = (0.55, 0.3, 0.15) if c == "person" else (0.75, 0.2, 0.05)
        counts[c] = 1 + int(rng.choice(3, p=p))
    return scene_type, counts


def _place(rng, w: int, h: int, size: int, boxes: list[tuple[int, int, int, int]],
           min_y: int = -10**6) -> tuple[int, int]:
    """Random top-left corner; retries to avoid heavy overlap (some overlap is wanted)."""
    best, best_overlap = (0, 0), None
    y_lo = max(size // 6 - h // 2, min(min_y, size - h))
    for _ in range(12):
        x = int(rng.integers(-w // 8, max(1 - w // 8, size - w + w // 8)))
        y = int(rng.integers(y_lo, max(y_lo + 1, size - h + h // 8)))
        overlap = max([_overlap((x, y, w, h), b) for b in boxes], default=0.0)
        if best_overlap is None or overlap < best_overlap:
            best, best_overlap = (x, y), overlap
        if overlap < 0.3:
            break
    return best


def _overlap(a, b) -> float:
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return ix * iy / min(a[2] * a[3], b[2] * b[3])


def sample_scene(rng: np.random.Generator, *, size: int = 128, correlation: float = 0.0,
                 pairs: Sequence[tuple[str, str]] = (), scene_type: str | None = None,
                 n_categories: Sequence[float] = (0.2, 0.4, 0.3, 0.1), pair_rate: float = 0.08) -> dict:
    """A random scene description (see module doc); hidden instances are already dropped."""
    scene_type, counts = sample_objects(rng, correlation, pairs, n_categories, pair_rate, scene_type)
    background = sample_background(rng, scene_type)

    # One entry per instance; relation targets are chosen among instances of the anchor.
    instances = [c for c in sorted(counts) for _ in range(counts[c])]
    rng.shuffle(instances)
    layers: list[dict] = []
    for cat in instances:
        cp = GLYPHS[cat][int(rng.integers(len(GLYPHS[cat])))]
        font = int(round(size * rng.uniform(0.3, 0.46) * _scale(cat)))
        layers.append({"category": cat, "glyph": cp, "size": font, "flip": bool(rng.random() < 0.5)})
    free = [i for i, _ in enumerate(layers)]
    # Relations: a few objects rest on an anchor or are held by a person.  Anchors stay free
    # (placed at random), so relations never chain; a person holds at most one thing.
    anchored: set[int] = set()
    holding: set[int] = set()
    for i, layer in enumerate(layers):
        if i in anchored:
            continue
        cat = layer["category"]
        anchors = [j for j in free if j != i and (cat, layers[j]["category"]) in ON]
        holders = [j for j in free if j != i and layers[j]["category"] == "person" and j not in holding]
        if anchors and rng.random() < 0.7:
            layer["rel"] = ["on", anchors[int(rng.integers(len(anchors)))]]
        elif cat in HELD and holders and rng.random() < 0.5:
            layer["rel"] = ["held by", holders[int(rng.integers(len(holders)))]]
            layer["size"] = int(round(layer["size"] * 0.8))
            holding.add(layer["rel"][1])
        if "rel" in layer:
            free.remove(i)
            anchored.add(layer["rel"][1])
    # Free objects: random places, then painter's order (lower on the ground = closer = later).
    # An anchor leaves room above it for what rests on it, so that stays in the picture.
    headroom: dict[int, int] = {}
    for layer in layers:
        if layer.get("rel", [None])[0] == "on":
            j = layer["rel"][1]
            g, ga = render_glyph(layer["glyph"], layer["size"]), render_glyph(layers[j]["glyph"], layers[j]["size"])
            headroom[j] = max(headroom.get(j, 0), g.height - int(0.35 * ga.height))
    boxes: list[tuple[int, int, int, int]] = []
    for i in free:
        g = render_glyph(layers[i]["glyph"], layers[i]["size"], layers[i]["flip"])
        layers[i]["x"], layers[i]["y"] = _place(rng, g.width, g.height, size, boxes, headroom.get(i, -10**6))
        boxes.append((layers[i]["x"], layers[i]["y"], g.width, g.height))
    order = sorted(free, key=lambda i: (layers[i]["y"] + render_glyph(layers[i]["glyph"], layers[i]["size"]).height, i))
    # Related objects go right after their anchor / holder so they are drawn on top of it.
    for layer in layers:
        if "rel" in layer:
            kind, j = layer["rel"]
            a = layers[j]
            ga, g = render_glyph(a["glyph"], a["size"]), render_glyph(layer["glyph"], layer["size"])
            if kind == "on":    # bottom of the object near the anchor's upper half
                layer["x"] = a["x"] + int(rng.integers(0, max(1, ga.width - g.width // 2))) - g.width // 4
                layer["y"] = a["y"] + int(ga.height * rng.uniform(0.35, 0.6)) - g.height
            else:               # at hand height, beside the person
                side = ga.width - g.width // 3 if not a["flip"] else -g.width + g.width // 3
                layer["x"] = a["x"] + side
                layer["y"] = a["y"] + int(ga.height * 0.55) - g.height // 2
    for i in [i for i in range(len(layers)) if "rel" in layers[i]]:
        order.insert(order.index(layers[i]["rel"][1]) + 1, i)
    # Stable ids, relation targets as ids, and the draw order.
    for new_id, i in enumerate(order):
        layers[i]["id"] = new_id
    ordered = []
    for i in order:
        layer = dict(layers[i])
        if "rel" in layer:
            layer["rel"] = [layer["rel"][0], layers[layer["rel"][1]]["id"]]
        ordered.append(layer)
    scene = {"width": size, "height": size, "scene_type": scene_type, "background": background, "layers": ordered}
    return _drop_hidden(scene)


def _layer_alpha(layer: dict, width: int, height: int) -> np.ndarray:
    """Boolean footprint (alpha >= MASK_ALPHA) of a layer on the full canvas."""
    g = render_glyph(layer["glyph"], layer["size"], layer["flip"])
    out = np.zeros((height, width), dtype=bool)
    src, dst = _clip(layer["x"], layer["y"], g.width, g.height, width, height)
    if src is not None:
        a = np.asarray(g)[:, :, 3] >= MASK_ALPHA
        out[dst[1]:dst[3], dst[0]:dst[2]] = a[src[1]:src[3], src[0]:src[2]]
    return out


def _clip(x: int, y: int, w: int, h: int, W: int, H: int):
    """Source and destination boxes of a w x h sprite at (x, y) clipped to a W x H canvas."""
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    if x0 >= x1 or y0 >= y1:
        return None, None
    return (x0 - x, y0 - y, x1 - x, y1 - y), (x0, y0, x1, y1)


def visible_masks(layers: Sequence[dict], width: int, height: int) -> list[np.ndarray]:
    """Per layer: its footprint minus what later layers cover (front to back pass)."""
    covered = np.zeros((height, width), dtype=bool)
    out: list[np.ndarray] = [None] * len(layers)  # type: ignore[list-item]
    for i in range(len(layers) - 1, -1, -1):
        a = _layer_alpha(layers[i], width, height)
        out[i] = a & ~covered
        covered |= a
    return out


def _drop_hidden(scene: dict) -> dict:
    """Remove layers that are (almost) hidden, front to back, so the kept ones stay exact."""
    W, H = scene["width"], scene["height"]
    covered = np.zeros((H, W), dtype=bool)
    keep = []
    for layer in reversed(scene["layers"]):
        a = _layer_alpha(layer, W, H)
        full = int((np.asarray(render_glyph(layer["glyph"], layer["size"]))[:, :, 3] >= MASK_ALPHA).sum())
        vis = int((a & ~covered).sum())
        if vis >= MIN_VISIBLE_PIXELS and vis >= MIN_VISIBLE_FRACTION * full:
            keep.append(layer)
            covered |= a
    kept_ids = {l["id"] for l in keep}
    layers = []
    for layer in reversed(keep):
        if "rel" in layer and layer["rel"][1] not in kept_ids:  # its anchor/holder is gone
            layer = {k: v for k, v in layer.items() if k != "rel"}
        layers.append(layer)
    return {**scene, "layers": layers}


def render_scene(scene: dict, skip: Iterable[str] = frozenset()) -> tuple[Image.Image, list[np.ndarray]]:
    """Draw `scene` without the categories in `skip`.

    Returns the RGB image and one boolean mask per drawn layer (in `scene["layers"]` order,
    skipped layers left out): the glyph's alpha footprint minus what later layers cover.
    """
    skip = set(skip)
    W, H = scene["width"], scene["height"]
    canvas = draw_background(scene["background"], W, H).convert("RGBA")
    layers = [l for l in scene["layers"] if l["category"] not in skip]
    for layer in layers:
        g = render_glyph(layer["glyph"], layer["size"], layer["flip"])
        src, dst = _clip(layer["x"], layer["y"], g.width, g.height, W, H)
        if src is not None:
            canvas.alpha_composite(g, dest=dst[:2], source=src)
    return canvas.convert("RGB"), visible_masks(layers, W, H)
