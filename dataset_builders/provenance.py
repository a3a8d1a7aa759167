"""Where the two sides of a test dataset came from, and the rule that they share no image.

SPEC section 2: pairs are chosen on the training split only, and "the training and test splits
must not share an image (the builder refuses, and the manifest names the files and splits each
side came from)". A shared image would let the pair statistics see test images: the pairs,
and so the edits, would be chosen on the data they are evaluated on.

    check_disjoint(train, test)        # raises SplitOverlapError on any shared image
    split_provenance(train, test)      # {"train": {...}, "test": {...}} for the manifest

Two images are the same when they have the same COCO id (ids are the same in the 2014 and 2017
releases, so a 2014 file and its 2017 copy count as one) or resolve to the same file.
"""
from __future__ import annotations

import os
from typing import Any

from odbench.hashing import image_fingerprint

from .source import Source


class SplitOverlapError(ValueError):
    """The training and test sources share images."""

    def __init__(self, message: str, shared_ids: list[int]):
        super().__init__(message)
        self.shared_ids = shared_ids


def _shown(ids: list[int], n: int = 5) -> str:
    head = ", ".join(str(i) for i in ids[:n])
    return head + (f" and {len(ids) - n} more" if len(ids) > n else "")


def check_disjoint(train: Source, test: Source) -> None:
    """Raise SplitOverlapError when a test image is also a training image, by id or by file."""
    train_ids = {im.coco_id for im in train.images}
    train_files = {os.path.realpath(im.path) for im in train.images}
    shared = sorted(im.coco_id for im in test.images
                    if im.coco_id in train_ids or os.path.realpath(im.path) in train_files)
    if shared:
        raise SplitOverlapError(
            f"the training side ({train.name}, {len(train.images)} images) and the test side "
            f"({test.name}, {len(test.images)} images) share {len(shared)} image(s) "
            f"(ids {_shown(shared)}): pairs chosen on test images would leak into the benchmark",
            shared)


def side_provenance(source: Source) -> dict[str, Any]:
    """The files (name and SHA-256) and split(s) one side was read from (`read_coco` records them)."""
    info = source.info
    out: dict[str, Any] = {"name": source.name, "split": source.split, "images": len(source.images)}
    for key in ("instances", "captions", "karpathy", "karpathy_split", "images_found_by_id"):
        if key in info:
            out[key] = info[key]
    return out


def split_provenance(train: Source, test: Source) -> dict[str, Any]:
    """Both sides' provenance, as recorded in the manifest's `source.provenance`."""
    return {"train": side_provenance(train), "test": side_provenance(test)}


def _pixel_digests(source: Source) -> dict[str, str]:
    """Image id -> SHA-256 of its decoded RGB pixels."""
    return {im.id: image_fingerprint(im.load())["sha256"] for im in source.images}


def check_no_shared_scene(split: Source, others: list[Source]) -> dict[str, int]:
    """SPEC 9: a validation split shares no source scene with test or training. Ids and files
    are `check_disjoint`'s; this compares decoded pixels, so a scene drawn twice under two ids
    (a generator seed reused) is found too. Raises SplitOverlapError; returns {other's name: 0}."""
    mine = _pixel_digests(split)
    counts = {}
    for other in others:
        theirs = set(_pixel_digests(other).values())
        shared = sorted(im.coco_id for im in split.images if mine[im.id] in theirs)
        if shared:
            raise SplitOverlapError(
                f"{split.name} and {other.name} share {len(shared)} scene(s) with the same pixels "
                f"(ids {_shown(shared)} of {split.name}): a validation split must share no source scene", shared)
        counts[other.name] = 0
    return counts
