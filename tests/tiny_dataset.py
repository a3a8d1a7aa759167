"""Benchmarks small enough to work out by hand, as rows and as dataset folders.

`partial` style (human-like captions, SPEC v1 relevance): source i1 has a dog, a frisbee and a
person; dog+frisbee is the selected pair, so removing the frisbee is a `decorrelate` edit and
removing the person (in no pair) is a `control` edit. Source i3 has a dog and a frisbee; its
edited image's only relevant caption is an edited one.

`exhaustive` style (every caption names every object, SPEC v2): the same edits, plus source i2
holding exactly a dog and a person, the objects i1 has left after losing its frisbee, so that
relevance crosses sources.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from dataset_builders.hf_folder import DatasetCard, write_dataset_folder
from odbench.dataset_format import features

IMAGES = [
    # image_id,        src,  kind,          removed,   objects,                      pair
    ("i1",             "i1", "original",    None,      ["dog", "frisbee", "person"], None),
    ("i1-no-frisbee",  "i1", "decorrelate", "frisbee", ["dog", "person"],            ["dog", "frisbee"]),
    ("i1-no-person",   "i1", "control",     "person",  ["dog", "frisbee"],           None),
    ("i2",             "i2", "original",    None,      ["cat"],                      None),
    ("i3",             "i3", "original",    None,      ["dog", "frisbee"],           None),
    ("i3-no-frisbee",  "i3", "decorrelate", "frisbee", ["dog"],                      ["dog", "frisbee"]),
]
CAPTIONS = [
    # caption_id,      src,  kind,          removed,   mentions,            text
    ("c1",             "i1", "original",    None,      ["dog", "frisbee"],  "A dog catches a frisbee."),
    ("c2",             "i1", "original",    None,      ["dog", "person"],   "A man plays with his dog."),
    ("c3",             "i1", "original",    None,      ["dog"],             "A dog on the grass."),
    ("c1-no-frisbee",  "i1", "decorrelate", "frisbee", ["dog"],             "A dog catches."),
    ("c4",             "i2", "original",    None,      ["cat"],             "A cat sleeping."),
    ("c5",             "i3", "original",    None,      ["dog", "frisbee"],  "A dog with a frisbee."),
    ("c5-no-frisbee",  "i3", "decorrelate", "frisbee", ["dog"],             "A dog."),
]
EXHAUSTIVE_IMAGES = [
    ("i1",             "i1", "original",    None,      ["dog", "frisbee", "person"], None),
    ("i1-no-frisbee",  "i1", "decorrelate", "frisbee", ["dog", "person"],            ["dog", "frisbee"]),
    ("i1-no-person",   "i1", "control",     "person",  ["dog", "frisbee"],           None),
    ("i2",             "i2", "original",    None,      ["dog", "person"],            None),
    ("i3",             "i3", "original",    None,      ["dog", "frisbee"],           None),
    ("i3-no-frisbee",  "i3", "decorrelate", "frisbee", ["dog"],                      ["dog", "frisbee"]),
    ("i4",             "i4", "original",    None,      ["cat"],                      None),
]
EXHAUSTIVE_CAPTIONS = [
    ("c1",             "i1", "original",    None,      ["dog", "frisbee", "person"], "A man, a dog and a frisbee."),
    ("c1-no-frisbee",  "i1", "decorrelate", "frisbee", ["dog", "person"],            "A man and a dog."),
    ("c1-no-person",   "i1", "control",     "person",  ["dog", "frisbee"],           "A dog and a frisbee."),
    ("c2",             "i2", "original",    None,      ["dog", "person"],            "A man walks his dog."),
    ("c3",             "i3", "original",    None,      ["dog", "frisbee"],           "A dog catches a frisbee."),
    ("c3-no-frisbee",  "i3", "decorrelate", "frisbee", ["dog"],                      "A dog."),
    ("c4",             "i4", "original",    None,      ["cat"],                      "A cat."),
]
ROWS = {"partial": (IMAGES, CAPTIONS), "exhaustive": (EXHAUSTIVE_IMAGES, EXHAUSTIVE_CAPTIONS)}
PAIRS = [("dog", "frisbee")]


def scene_rows(sources: list[tuple]) -> tuple[list[tuple], list[tuple]]:
    """Exhaustive-style rows (as IMAGES and CAPTIONS above, captions with their pair as a 7th
    column) from sources `(src_id, objects, n_captions, edits)`: the original image, n original
    captions naming every object, and per edit `(kind, removed, pair, parts)` the edited image,
    the edited caption or both (parts "image", "caption", "both"). A source without captions, or
    an edited caption without its image, exists in one modality only."""
    images, captions = [], []
    for src, objects, n_captions, edits in sources:
        images.append((src, src, "original", None, sorted(objects), None))
        for n in range(n_captions):
            captions.append((f"{src}-c{n}", src, "original", None, sorted(objects), " and ".join(sorted(objects)),
                             None))
        for kind, removed, pair, parts in edits:
            left = sorted(set(objects) - {removed})
            if parts in ("image", "both"):
                images.append((f"{src}-no-{removed}", src, kind, removed, left, pair))
            if parts in ("caption", "both"):
                captions.append((f"{src}-c-no-{removed}", src, kind, removed, left, " and ".join(left), pair))
    return images, captions
NAME, VERSION = "odbench-tiny", "0.0.1"
KEY = f"{NAME}@{VERSION}"


def _image(seed: int) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (16, 16, 3), dtype=np.uint8))


def _caption_pair(row: tuple) -> list[str] | None:
    return row[6] if len(row) > 6 else ["dog", "frisbee"] if row[2] == "decorrelate" else None


def _rows(rows: tuple[list, list], prefix: str = "", image_seed: int = 0) -> tuple[list[dict], list[dict]]:
    image_rows, caption_rows = rows
    images = [{"image_id": prefix + i, "image": _image(image_seed + n), "src_id": prefix + s, "edit_kind": k,
               "removed": r, "objects": o, "kept": [], "pair": p, "mask_area": 0.0 if k == "original" else 0.1,
               "editor": "", "gallery_pos": n} for n, (i, s, k, r, o, p) in enumerate(image_rows)]
    captions = [{"caption_id": prefix + row[0], "text": row[5], "src_id": prefix + row[1], "edit_kind": row[2],
                 "removed": row[3], "mentions": row[4], "pair": _caption_pair(row), "editor": "",
                 "gallery_pos": n} for n, row in enumerate(caption_rows)]
    return images, captions


def write_tiny_dataset(out: Path, edit: Callable[[list[dict], list[dict]], None] | None = None, *,
                       style: str = "partial", version: str = VERSION, validation: bool = False,
                       rows: tuple[list, list] | None = None, pairs: list[tuple[str, str]] = PAIRS) -> None:
    """Write a tiny benchmark as a dataset folder; `edit(images, captions)` may alter the rows
    first (to make malformed datasets whose manifest hash is nonetheless consistent). With
    `validation`, it also has a validation split: the same rows with ids prefixed "v" ("vi1",
    "vc1") and other pixels. `rows` (from `scene_rows`) and `pairs` replace the hand-worked
    rows and the selected pair."""
    from datasets import Features, Value
    rows = rows or ROWS[style]
    images, captions = _rows(rows)
    if edit is not None:
        edit(images, captions)
    extra = {}
    if validation:
        v_images, v_captions = _rows(rows, prefix="v", image_seed=100)
        extra = {"validation": {"images": (v_images, features("images")),
                                "captions": (v_captions, features("captions"))}}
    pair_features = Features({"a": Value("string"), "b": Value("string"), "npmi": Value("float64"),
                              "n_ab": Value("int64")})
    names = sorted({c for r in rows[0] for c in r[4]} | {c for p in pairs for c in p})
    lexicon = [{"phrase": w, "category": w} for w in names]
    card = DatasetCard(name=NAME, version=version, license="cc-by-4.0", citation="@misc{tiny}",
                       description="A tiny leaderboard test dataset.")
    write_dataset_folder(out, {"images": (images, features("images")), "captions": (captions, features("captions")),
                               "pairs": ([{"a": a, "b": b, "npmi": 0.5, "n_ab": 3} for a, b in pairs], pair_features),
                               "lexicon": (lexicon, features("lexicon"))},
                         card, {"builder_version": "test", "spec_version": "2", "caption_style": style,
                                "seed": 0}, extra_splits=extra)


def columns(style: str = "partial", rows: tuple[list, list] | None = None) -> tuple[dict[str, list], dict[str, list]]:
    """The rows as the column dicts `odbench.data.build_benchmark` takes (gallery order = row order)."""
    image_rows, caption_rows = rows or ROWS[style]
    images = {"image_id": [r[0] for r in image_rows], "src_id": [r[1] for r in image_rows],
              "edit_kind": [r[2] for r in image_rows], "removed": [r[3] for r in image_rows],
              "objects": [r[4] for r in image_rows], "pair": [r[5] for r in image_rows],
              "gallery_pos": list(range(len(image_rows)))}
    captions = {"caption_id": [r[0] for r in caption_rows], "text": [r[5] for r in caption_rows],
                "src_id": [r[1] for r in caption_rows], "edit_kind": [r[2] for r in caption_rows],
                "removed": [r[3] for r in caption_rows], "mentions": [r[4] for r in caption_rows],
                "pair": [_caption_pair(r) for r in caption_rows],
                "gallery_pos": list(range(len(caption_rows)))}
    return images, captions


def tiny_benchmark(style: str = "partial", *, rows: tuple[list, list] | None = None,
                   pairs: list[tuple[str, str]] = PAIRS):
    """The tiny benchmark in memory (no files), in either caption style; `rows` and `pairs` as in
    `write_tiny_dataset`."""
    from odbench.data import build_benchmark
    images, captions = columns(style, rows)
    manifest = {"name": "tiny", "version": "0.0.1", "dataset_hash": "0" * 64, "spec_version": "2",
                "caption_style": style}
    return build_benchmark(images, captions, pairs, manifest)[0]
