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
- Image files: `images_dir/<file_name>` first, then `images_dir/<Karpathy filepath>/<file_name>`
  (the 2014 layout), then by COCO id: every COCO file name ends in the image id
  (`000000391895.jpg`, `COCO_val2014_000000391895.jpg`) and the ids are the same in the 2014 and
  2017 releases, so a Karpathy file's 2014 paths resolve on a 2017 tree (`images/train2017`,
  `images/val2017`). How many images were found by id is counted in `Source.info`.
- Each file is checked for what it holds (instances, captions, keypoints, Karpathy split ...), so
  a file given in the wrong place is named as such instead of failing later.
- Errors a user can cause (missing file, malformed JSON, wrong kind of file, unknown category id,
  missing image) raise `CocoFormatError` (or FileNotFoundError) with one clear message that names
  the input by `InputNames`: the Python arguments by default, a CLI's flags when it passes them.
- `Source.info` records each annotation file's name and SHA-256 and the Karpathy split(s), so a
  dataset's manifest can show where each side came from.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
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
@dataclass(frozen=True)
class InputNames:
    """How error messages name `read_coco`'s inputs: its Python arguments by default; a command
    line passes its flags (`--train-captions` ...) so that users read the names they typed."""
    instances: str = "instances_json"
    captions: str = "captions_json"
    images: str = "images_dir"
    karpathy: str = "karpathy_json"
    karpathy_split: str = "karpathy_split"


# What a COCO-family JSON holds, as `_file_kind` tells it, in words for error messages.
_KINDS = {
    "instances": "a COCO instances file (instances_*.json)",
    "captions": "a COCO captions file (captions_*.json)",
    "keypoints": "a COCO person-keypoints file (person_keypoints_*.json)",
    "panoptic": "a COCO panoptic file (panoptic_*.json)",
    "karpathy": "a Karpathy split file (dataset_coco.json)",
    "image_info": "a COCO image-info file without annotations (image_info_*.json)",
    "unknown": "not a COCO annotation file",
}


def _file_kind(data: dict) -> str:
    """Tell the COCO files apart by the keys COCO's own files use."""
    images, anns, cats = data.get("images"), data.get("annotations"), data.get("categories")
    if isinstance(images, list) and images and isinstance(images[0], dict) and \
            ("sentences" in images[0] or "cocoid" in images[0]) and anns is None:
        return "karpathy"
    if isinstance(cats, list) and any(isinstance(c, dict) and "keypoints" in c for c in cats):
        return "keypoints"
    if isinstance(anns, list) and anns and isinstance(anns[0], dict):
        first = anns[0]
        for key, kind in (("caption", "captions"), ("keypoints", "keypoints"),
                          ("segments_info", "panoptic"), ("category_id", "instances")):
            if key in first:
                return kind
        return "unknown"
    if isinstance(anns, list):   # no annotation at all: categories tell instances from captions
        return "instances" if isinstance(cats, list) else "captions"
    return "image_info" if isinstance(images, list) else "unknown"


_SHORT = {"instances": "instances file", "captions": "captions file", "karpathy": "Karpathy split file"}


def _load_json(path: PathLike, label: str, expected: str) -> tuple[dict, str]:
    """The JSON object in `path` and the SHA-256 of its bytes; `expected` is its `_file_kind`."""
    path = Path(path)
    if path.is_dir():
        raise CocoFormatError(f"{label}: {path} is a folder, not {_KINDS[expected]}")
    if not path.is_file():
        raise FileNotFoundError(f"{label}: {_SHORT[expected]} not found: {path}")
    raw = path.read_bytes()
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CocoFormatError(f"{label}: {path} is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise CocoFormatError(f"{label}: {path} is not a JSON object; expected {_KINDS[expected]}")
    kind = _file_kind(data)
    if kind != expected:
        raise CocoFormatError(f"{label}: {path} is {_KINDS[kind]}, not {_KINDS[expected]}")
    return data, hashlib.sha256(raw).hexdigest()


def _malformed(label: str, path: PathLike, record: object, e: Exception) -> CocoFormatError:
    """One line for a record a file should not hold (a key missing, a value of the wrong type)."""
    rid = record.get("id", "?") if isinstance(record, dict) else "?"
    why = f"missing key {e}" if isinstance(e, KeyError) else f"{type(e).__name__}: {e}"
    return CocoFormatError(f"{label}: {path}: malformed record (id {rid}): {why}")


def _file_record(path: PathLike, sha256: str) -> dict[str, str]:
    """Provenance of one input file: its name (not the machine's path) and content hash."""
    return {"file": Path(path).name, "sha256": sha256}


def _as_list(value: PathLike | Sequence[PathLike]) -> list[PathLike]:
    return [value] if isinstance(value, (str, os.PathLike)) else list(value)


def _karpathy_selection(path: PathLike, splits: str | Sequence[str],
                        names: InputNames) -> tuple[dict[int, str], dict[str, str]]:
    """cocoid -> filepath ("val2014") of the images in the requested Karpathy split(s), and the
    file's provenance record."""
    wanted = {splits} if isinstance(splits, str) else set(splits)
    data, sha = _load_json(path, names.karpathy, "karpathy")
    try:
        chosen = {int(im["cocoid"]): str(im.get("filepath", "")) for im in data["images"]
                  if im["split"] in wanted}
        known = sorted({str(im["split"]) for im in data["images"]})
    except (KeyError, TypeError, ValueError) as e:
        raise CocoFormatError(f"{names.karpathy}: Karpathy split file {path} is malformed: {e!r}") from None
    if not chosen:
        raise CocoFormatError(f"{names.karpathy_split}: the Karpathy split file {path} has no image in "
                              f"split(s) {sorted(wanted)} (its splits: {', '.join(known)})")
    return chosen, _file_record(path, sha)


# Every COCO image file name ends in its id: 000000391895.jpg (2017), COCO_val2014_000000391895.jpg.
_TRAILING_ID = re.compile(r"(\d+)\.(?:jpe?g|png)$", re.IGNORECASE)


def _files_by_id(root: Path, depth: int = 2) -> dict[int, Path]:
    """COCO id -> image file under `root` and its subfolders (`train2017/`, `val2014/` ...).
    Where two files carry one id (the same photo in the 2014 and the 2017 folders), the first
    path in sorted order wins, so the choice does not depend on the file system's order."""
    found: dict[int, Path] = {}
    level = [root]
    for _ in range(depth + 1):
        below = []
        for folder in level:
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError:
                continue
            for entry in entries:
                if entry.is_dir():
                    below.append(Path(entry.path))
                elif (m := _TRAILING_ID.search(entry.name)):
                    found.setdefault(int(m.group(1)), Path(entry.path))
        level = below
    return found


def read_coco(instances_json: PathLike | Sequence[PathLike], captions_json: PathLike | Sequence[PathLike],
              images_dir: PathLike, *, split_name: str, karpathy_json: PathLike | None = None,
              karpathy_split: str | Sequence[str] | None = None, name: str | None = None,
              names: InputNames = InputNames()) -> Source:
    """Read COCO instances + captions (+ optional Karpathy split) into a `Source`.

    `names` says how error messages call the inputs (a CLI passes its flags)."""
    if (karpathy_json is None) != (karpathy_split is None):
        raise CocoFormatError(f"{names.karpathy} and {names.karpathy_split} must be given together")
    images_dir = Path(images_dir)
    if not images_dir.is_dir():
        raise FileNotFoundError(f"{names.images}: images folder not found: {images_dir}")
    selection, karpathy_record = (_karpathy_selection(karpathy_json, karpathy_split, names)
                                  if karpathy_json else (None, None))

    categories: dict[int, Category] = {}
    images: dict[int, dict] = {}
    anns: dict[int, list[dict]] = defaultdict(list)
    instance_files, conflicts = [], []
    for path in _as_list(instances_json):
        data, sha = _load_json(path, names.instances, "instances")
        instance_files.append(_file_record(path, sha))
        for key in ("images", "annotations", "categories"):
            if not isinstance(data.get(key), list):
                raise CocoFormatError(f"{names.instances}: instances file {path} has no '{key}' list")
        row = None
        try:
            for row in data["categories"]:
                cat = Category(int(row["id"]), str(row["name"]), str(row.get("supercategory", "")))
                if categories.setdefault(cat.id, cat) != cat:
                    conflicts.append(cat.id)
            for row in data["images"]:
                images[int(row["id"])] = {"file_name": str(row["file_name"]), "width": int(row["width"]),
                                          "height": int(row["height"])}
            for row in data["annotations"]:
                # every key read later, checked here where the file is still known
                int(row["id"]), int(row["category_id"]), row["bbox"], row["segmentation"]
                anns[int(row["image_id"])].append(row)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise _malformed(names.instances, path, row, e) from None
    if conflicts:
        raise CocoFormatError(f"{names.instances}: category id {conflicts[0]} differs between instances files")

    captions: dict[int, list[Caption]] = defaultdict(list)
    caption_files = []
    for path in _as_list(captions_json):
        data, sha = _load_json(path, names.captions, "captions")
        caption_files.append(_file_record(path, sha))
        a = None
        try:
            for a in sorted(data["annotations"], key=lambda a: int(a["id"])):
                captions[int(a["image_id"])].append(Caption(f"c{int(a['id'])}", str(a["caption"]).strip()))
        except (KeyError, TypeError, ValueError) as e:
            raise _malformed(names.captions, path, a, e) from None
    if captions and images and not set(captions) & set(images):
        raise CocoFormatError(f"{names.captions}: no caption belongs to an image of {names.instances} "
                              f"(are they files of the same COCO split?)")

    unknown_anns = sorted(set(anns) - set(images))
    if unknown_anns:
        raise CocoFormatError(f"{names.instances}: {len(unknown_anns)} annotated image ids are not in "
                              f"'images' (first: {unknown_anns[0]})")
    ids = sorted(images)
    missing_in_annotations: list[int] = []
    if selection is not None:
        missing_in_annotations = sorted(set(selection) - set(images))
        ids = [i for i in ids if i in selection]
        if not ids:
            raise CocoFormatError(f"none of the images of Karpathy split(s) {karpathy_split} "
                                  f"({names.karpathy_split}) is in the {names.instances} file(s)")

    out: list[SourceImage] = []
    missing_files: list[Path] = []
    by_id: dict[int, Path] | None = None    # built on the first miss only
    resolved_by_id = 0
    for coco_id in ids:
        im = images[coco_id]
        path = images_dir / im["file_name"]
        if not path.is_file() and selection is not None:
            path = images_dir / selection[coco_id] / im["file_name"]   # e.g. <root>/val2014/<file>
        if not path.is_file():
            if by_id is None:
                by_id = _files_by_id(images_dir)
            if coco_id in by_id:
                path, resolved_by_id = by_id[coco_id], resolved_by_id + 1
            else:
                missing_files.append(path)
        instances = []
        for a in sorted(anns[coco_id], key=lambda a: int(a["id"])):
            cat = categories.get(int(a["category_id"]))
            if cat is None:
                raise CocoFormatError(f"{names.instances}: annotation {a['id']} has unknown category id "
                                      f"{a['category_id']}")
            instances.append(Instance(category=cat.name, iscrowd=bool(a.get("iscrowd", 0)),
                                      area=float(a.get("area", 0.0)), bbox=tuple(float(v) for v in a["bbox"]),
                                      segmentation=a["segmentation"], decode=decode_segmentation))
        out.append(SourceImage(id=f"i{coco_id}", coco_id=coco_id, path=path, width=im["width"],
                               height=im["height"], instances=tuple(instances),
                               captions=tuple(captions.get(coco_id, ()))))
    if missing_files:
        raise FileNotFoundError(f"{names.images}: {len(missing_files)} image file(s) missing under "
                                f"{images_dir}, looked up by file name and by COCO id "
                                f"(first: {missing_files[0]})")

    info = {
        "instances": instance_files,
        "captions": caption_files,
        "karpathy": karpathy_record,
        "karpathy_split": karpathy_split if karpathy_split is None or isinstance(karpathy_split, str)
        else list(karpathy_split),
        "n_images": len(out),
        "images_found_by_id": resolved_by_id,
        "images_without_instances": sum(1 for im in out if not im.instances),
        "images_without_captions": sum(1 for im in out if not im.captions),
        "karpathy_images_not_in_annotations": len(missing_in_annotations),
    }
    return Source(name=name or f"coco/{split_name}", split=split_name,
                  categories={c.name: c for c in sorted(categories.values(), key=lambda c: c.id)},
                  images=out, root=images_dir, info=info)
