"""A benchmark small enough to work out by hand, as rows and as a dataset folder.

Source i1 has a dog, a frisbee and a person; dog+frisbee is the selected pair, so removing the
frisbee is a `decorrelate` edit and removing the person (in no pair) is a `control` edit.
Source i3 has a dog and a frisbee; its edited image's only relevant caption is an edited one.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from dataset_builders.features import caption_features, image_features, lexicon_features
from dataset_builders.hf_folder import DatasetCard, write_dataset_folder

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
NAME, VERSION = "odbench-tiny", "0.0.1"
KEY = f"{NAME}@{VERSION}"


def _image(seed: int) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (16, 16, 3), dtype=np.uint8))


def write_tiny_dataset(out: Path, edit: Callable[[list[dict], list[dict]], None] | None = None) -> None:
    """Write the tiny benchmark as a dataset folder; `edit(images, captions)` may alter the rows
    first (to make malformed datasets whose manifest hash is nonetheless consistent)."""
    from datasets import Features, Value
    images = [{"image_id": i, "image": _image(n), "src_id": s, "edit_kind": k, "removed": r, "objects": o,
               "kept": [], "pair": p, "mask_area": 0.0 if k == "original" else 0.1, "editor": "",
               "gallery_pos": n} for n, (i, s, k, r, o, p) in enumerate(IMAGES)]
    captions = [{"caption_id": c, "text": t, "src_id": s, "edit_kind": k, "removed": r, "mentions": m,
                 "pair": ["dog", "frisbee"] if r else None, "editor": "", "gallery_pos": n}
                for n, (c, s, k, r, m, t) in enumerate(CAPTIONS)]
    if edit is not None:
        edit(images, captions)
    pairs = Features({"a": Value("string"), "b": Value("string"), "npmi": Value("float64"), "n_ab": Value("int64")})
    lexicon = [{"phrase": w, "category": w} for w in ("cat", "dog", "frisbee", "person")]
    card = DatasetCard(name=NAME, version=VERSION, license="cc-by-4.0", citation="@misc{tiny}",
                       description="A tiny leaderboard test dataset.")
    write_dataset_folder(out, {"images": (images, image_features()), "captions": (captions, caption_features()),
                               "pairs": ([{"a": "dog", "b": "frisbee", "npmi": 0.5, "n_ab": 3}], pairs),
                               "lexicon": (lexicon, lexicon_features())},
                         card, {"builder_version": "test", "seed": 0})


def columns() -> tuple[dict[str, list], dict[str, list]]:
    """The rows as the column dicts `odbench.data.build_benchmark` takes (gallery order = row order)."""
    images = {"image_id": [r[0] for r in IMAGES], "src_id": [r[1] for r in IMAGES],
              "edit_kind": [r[2] for r in IMAGES], "removed": [r[3] for r in IMAGES],
              "objects": [r[4] for r in IMAGES], "pair": [r[5] for r in IMAGES],
              "gallery_pos": list(range(len(IMAGES)))}
    captions = {"caption_id": [r[0] for r in CAPTIONS], "text": [r[5] for r in CAPTIONS],
                "src_id": [r[1] for r in CAPTIONS], "edit_kind": [r[2] for r in CAPTIONS],
                "removed": [r[3] for r in CAPTIONS], "mentions": [r[4] for r in CAPTIONS],
                "gallery_pos": list(range(len(CAPTIONS)))}
    return images, captions
