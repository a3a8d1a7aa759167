"""`datasets.Features` of the test and training configs (docs/dataset-format.md)."""
from __future__ import annotations

from datasets import Features, Image, Sequence, Value


def image_features() -> Features:
    return Features({
        "image_id": Value("string"), "image": Image(), "src_id": Value("string"),
        "edit_kind": Value("string"), "removed": Value("string"), "objects": Sequence(Value("string")),
        "kept": Sequence(Value("string")), "pair": Sequence(Value("string")),
        "mask_area": Value("float64"), "editor": Value("string"), "gallery_pos": Value("int64"),
    })


def caption_features() -> Features:
    return Features({
        "caption_id": Value("string"), "text": Value("string"), "src_id": Value("string"),
        "edit_kind": Value("string"), "removed": Value("string"), "mentions": Sequence(Value("string")),
        "pair": Sequence(Value("string")), "editor": Value("string"), "gallery_pos": Value("int64"),
    })


def lexicon_features() -> Features:
    return Features({"phrase": Value("string"), "category": Value("string")})


def train_features() -> Features:
    """The synthetic training set: one row per synthesised image-caption pair."""
    return Features({
        "id": Value("string"), "image": Image(), "caption": Value("string"), "src_id": Value("string"),
        "kind": Value("string"), "category": Value("string"), "pair": Sequence(Value("string")),
        "mentions": Sequence(Value("string")), "editor": Value("string"),
    })
