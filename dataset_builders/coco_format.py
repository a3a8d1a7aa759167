"""Read COCO-format annotation files (real COCO 2014/2017, or PictoWorld output) into a `Source`.

    source = read_coco("annotations/instances_val2017.json", "annotations/captions_val2017.json",
                       "val2017", split_name="val")

Ids: images "i<coco id>", captions "c<coco caption id>". Masks are decoded lazily by
`Instance.mask(h, w)`: polygons are rasterised with PIL, RLE is decoded here (uncompressed
`counts` lists as PictoWorld writes them, and COCO's compressed strings), no pycocotools needed.

Decisions:
- The instances file lists the images. An image with no instance annotations is kept, with
  O(x) empty: it is still a valid original for standard retrieval and a distractor in the
  gallery. An image with no caption is kept too (it can only be a gallery item); both are
  counted in `Source.info`.
- With a Karpathy split file (`dataset_coco.json`), only the images of the requested split(s)
  are kept; pass ("train", "restval") for the usual 113k training set. Several instances and
  captions files may be given (COCO 2014 train + val) for splits that span both.
- Errors a user can cause (missing file, malformed JSON, unknown category id, missing image)
  raise `CocoFormatError` (or FileNotFoundError) with one clear message.
"""
from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from dataset_builders.source import Caption, Category, Instance, Source, SourceImage

PathLike = str | os.PathLike


class CocoFormatError(ValueError):
    """A COCO-format file is malformed or inconsistent."""


# ------------------------------------------------------------------------------- masks
def rle_string_to_counts(s: str) -> list[int]:
    """Decode COCO's compressed RLE string (pycocotools' rleFrString) into run lengths."""
    counts: list[int] = []
    p = 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            c = ord(s[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)           # sign-extend
        if len(counts) > 2:
            x += counts[-2]                  # runs after the second are stored as differences
        counts.append(x)
    return counts


def counts_to_rle_string(counts: Sequence[int]) -> str:
    """Encode run lengths as COCO's compressed RLE string (pycocotools' rleToString)."""
    out = []
    for i, x in enumerate(counts):
        x = int(x) - (int(counts[i - 2]) if i > 2 else 0)
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = x != -1 if c & 0x10 else x != 0
            out.append(chr(c + (0x20 if more else 0) + 48))
    return "".join(out)


def rle_decode(rle: dict) -> np.ndarray:
    """Boolean (h, w) mask from an RLE dict: `size` [h, w], `counts` list or compressed string.
    Runs alternate 0 and 1, starting with 0, over the image in column-major order."""
    h, w = (int(v) for v in rle["size"])
    counts = rle["counts"]
    if isinstance(counts, (str, bytes)):
        counts = rle_string_to_counts(counts.decode("ascii") if isinstance(counts, bytes) else counts)
    counts = np.asarray(counts, dtype=np.int64)
    if counts.sum() != h * w:
        raise CocoFormatError(f"RLE counts sum to {counts.sum()}, expected {h}*{w}={h * w}")
    values = np.arange(len(counts)) % 2 == 1
    flat = np.repeat(values, counts)
    return flat.reshape((w, h)).T.copy()


def rle_encode(mask: np.ndarray, compressed: bool = False) -> dict:
    """RLE dict of a boolean mask; `compressed=True` gives COCO's string form."""
    h, w = mask.shape
    flat = np.asarray(mask, dtype=bool).T.reshape(-1)
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts = [0] + counts                # runs must start with a (possibly empty) 0-run
    return {"size": [h, w], "counts": counts_to_rle_string(counts) if compressed else counts}


_SUPERSAMPLE = 4


def polygons_to_mask(polygons: Sequence[Sequence[float]], height: int, width: int) -> np.ndarray:
    """Rasterise COCO polygons [x0, y0, x1, y1, ...]; several polygons of one instance are unioned.
    PIL fills every pixel the outline touches, which overshoots small objects by 10-20%; drawing
    at 4x inside the polygon's box and keeping pixels at least half covered matches COCO's
    `area` to about 2% (median) instead."""
    mask = np.zeros((height, width), dtype=bool)
    s = _SUPERSAMPLE
    for poly in polygons:
        if len(poly) < 6:
            continue
        xy = np.asarray(poly[: len(poly) // 2 * 2], dtype=np.float64).reshape(-1, 2)
        x0, y0 = max(int(np.floor(xy[:, 0].min())), 0), max(int(np.floor(xy[:, 1].min())), 0)
        x1, y1 = min(int(np.ceil(xy[:, 0].max())) + 1, width), min(int(np.ceil(xy[:, 1].max())) + 1, height)
        if x1 <= x0 or y1 <= y0:
            continue
        canvas = Image.new("L", ((x1 - x0) * s, (y1 - y0) * s), 0)
        ImageDraw.Draw(canvas).polygon([((x - x0) * s, (y - y0) * s) for x, y in xy], fill=1)
        cover = np.asarray(canvas, dtype=np.uint8).reshape(y1 - y0, s, x1 - x0, s).sum(axis=(1, 3))
        mask[y0:y1, x0:x1] |= cover * 2 >= s * s
    return mask


def decode_segmentation(inst: Instance, height: int, width: int) -> np.ndarray:
    """The `decode` hook of every `Instance` read here."""
    seg = inst.segmentation
    if isinstance(seg, list):
        return polygons_to_mask(seg, height, width)
    if isinstance(seg, dict) and "counts" in seg and "size" in seg:
        if [int(v) for v in seg["size"]] != [height, width]:
            raise CocoFormatError(f"RLE size {seg['size']} differs from the image size {[height, width]}")
        return rle_decode(seg)
    raise CocoFormatError(f"unknown segmentation format: {type(seg).__name__}")


# ------------------------------------------------------------------------------ reading
def _load_json(path: PathLike, what: str) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found: {path}")
    try:
        with path.open(encoding="utf-8") as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        raise CocoFormatError(f"{what} {path} is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise CocoFormatError(f"{what} {path} is not a JSON object")
    return data


def _as_list(value: PathLike | Sequence[PathLike]) -> list[PathLike]:
    return [value] if isinstance(value, (str, os.PathLike)) else list(value)


def _karpathy_selection(path: PathLike, splits: str | Sequence[str]) -> dict[int, str]:
    """cocoid -> filepath ("val2014") of the images in the requested Karpathy split(s)."""
    wanted = {splits} if isinstance(splits, str) else set(splits)
    data = _load_json(path, "Karpathy split file")
    try:
        chosen = {int(im["cocoid"]): str(im.get("filepath", "")) for im in data["images"]
                  if im["split"] in wanted}
    except (KeyError, TypeError, ValueError) as e:
        raise CocoFormatError(f"Karpathy split file {path} is malformed: {e!r}") from None
    if not chosen:
        raise CocoFormatError(f"Karpathy split file {path} has no image in split(s) {sorted(wanted)}")
    return chosen


def read_coco(instances_json: PathLike | Sequence[PathLike], captions_json: PathLike | Sequence[PathLike],
              images_dir: PathLike, *, split_name: str, karpathy_json: PathLike | None = None,
              karpathy_split: str | Sequence[str] | None = None, name: str | None = None) -> Source:
    """Read COCO instances + captions (+ optional Karpathy split) into a `Source`."""
    if (karpathy_json is None) != (karpathy_split is None):
        raise CocoFormatError("karpathy_json and karpathy_split must be given together")
    images_dir = Path(images_dir)
    if not images_dir.is_dir():
        raise FileNotFoundError(f"images folder not found: {images_dir}")
    selection = _karpathy_selection(karpathy_json, karpathy_split) if karpathy_json else None

    categories: dict[int, Category] = {}
    images: dict[int, dict] = {}
    anns: dict[int, list[dict]] = defaultdict(list)
    for path in _as_list(instances_json):
        data = _load_json(path, "instances file")
        for key in ("images", "annotations", "categories"):
            if not isinstance(data.get(key), list):
                raise CocoFormatError(f"instances file {path} has no '{key}' list")
        for c in data["categories"]:
            cat = Category(int(c["id"]), str(c["name"]), str(c.get("supercategory", "")))
            if categories.setdefault(cat.id, cat) != cat:
                raise CocoFormatError(f"category id {cat.id} differs between instances files")
        for im in data["images"]:
            images[int(im["id"])] = im
        for a in data["annotations"]:
            anns[int(a["image_id"])].append(a)

    captions: dict[int, list[Caption]] = defaultdict(list)
    for path in _as_list(captions_json):
        data = _load_json(path, "captions file")
        if not isinstance(data.get("annotations"), list):
            raise CocoFormatError(f"captions file {path} has no 'annotations' list")
        for a in sorted(data["annotations"], key=lambda a: int(a["id"])):
            captions[int(a["image_id"])].append(Caption(f"c{int(a['id'])}", str(a["caption"]).strip()))

    unknown_anns = sorted(set(anns) - set(images))
    if unknown_anns:
        raise CocoFormatError(f"{len(unknown_anns)} annotated image ids are not in 'images' "
                              f"(first: {unknown_anns[0]})")
    ids = sorted(images)
    missing_in_annotations: list[int] = []
    if selection is not None:
        missing_in_annotations = sorted(set(selection) - set(images))
        ids = [i for i in ids if i in selection]
        if not ids:
            raise CocoFormatError(f"none of the Karpathy {karpathy_split} images is in the instances file(s)")

    out: list[SourceImage] = []
    missing_files: list[Path] = []
    for coco_id in ids:
        im = images[coco_id]
        path = images_dir / im["file_name"]
        if not path.is_file() and selection is not None:
            path = images_dir / selection[coco_id] / im["file_name"]   # e.g. <root>/val2014/<file>
        if not path.is_file():
            missing_files.append(path)
        instances = []
        for a in sorted(anns[coco_id], key=lambda a: int(a["id"])):
            cat = categories.get(int(a["category_id"]))
            if cat is None:
                raise CocoFormatError(f"annotation {a['id']} has unknown category id {a['category_id']}")
            instances.append(Instance(category=cat.name, iscrowd=bool(a.get("iscrowd", 0)),
                                      area=float(a.get("area", 0.0)), bbox=tuple(float(v) for v in a["bbox"]),
                                      segmentation=a["segmentation"], decode=decode_segmentation))
        out.append(SourceImage(id=f"i{coco_id}", coco_id=coco_id, path=path, width=int(im["width"]),
                               height=int(im["height"]), instances=tuple(instances),
                               captions=tuple(captions.get(coco_id, ()))))
    if missing_files:
        raise FileNotFoundError(f"{len(missing_files)} image file(s) missing under {images_dir} "
                                f"(first: {missing_files[0]})")

    info = {
        "instances": [str(p) for p in _as_list(instances_json)],
        "captions": [str(p) for p in _as_list(captions_json)],
        "images_dir": str(images_dir),
        "karpathy": str(karpathy_json) if karpathy_json else None,
        "karpathy_split": karpathy_split if karpathy_split is None or isinstance(karpathy_split, str)
        else list(karpathy_split),
        "n_images": len(out),
        "images_without_instances": sum(1 for im in out if not im.instances),
        "images_without_captions": sum(1 for im in out if not im.captions),
        "karpathy_images_not_in_annotations": len(missing_in_annotations),
    }
    return Source(name=name or f"coco/{split_name}", split=split_name,
                  categories={c.name: c for c in sorted(categories.values(), key=lambda c: c.id)},
                  images=out, root=images_dir, info=info)
