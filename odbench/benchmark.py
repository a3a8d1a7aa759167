"""The test benchmark in memory: images and captions in gallery order, with their labels.

`odbench.data.load_benchmark` builds it from a dataset folder or hub repo; the metric and
ranking code only ever see this object, never parquet files or `datasets` tables. What is
asked of it (queries and relevance) is `odbench.queries`' business, built from it explicitly.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .dataset_format import ORIGINAL, PARTIAL, SPEC_VERSION


def pair_key(pair: Sequence[str]) -> str:
    """A selected pair as one string, `a+b` with a < b; used as the key of per-pair metrics."""
    a, b = sorted(pair)
    return f"{a}+{b}"


@dataclass(frozen=True)
class Items:
    """Images or captions of one benchmark, position i = gallery position i."""

    ids: tuple[str, ...]
    src: np.ndarray                          # int64 index into Benchmark.sources
    kind: np.ndarray                         # str: original / decorrelate / control
    removed: tuple[str | None, ...]
    pair: tuple[str | None, ...]             # pair_key(...) of decorrelate items, else None
    labels: tuple[frozenset[str], ...]       # O(y) for images, M(c) for captions
    index: dict[str, int] = field(repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        if not self.index:
            object.__setattr__(self, "index", {item_id: i for i, item_id in enumerate(self.ids)})

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def is_original(self) -> np.ndarray:
        return self.kind == ORIGINAL

    def positions(self, ids: Sequence[str]) -> np.ndarray:
        """Gallery positions of `ids`; -1 for an id this benchmark does not have."""
        return np.fromiter((self.index.get(i, -1) for i in ids), dtype=np.int64, count=len(ids))


@dataclass(frozen=True)
class ImageCheck:
    """The images config's content hash, left to the pass that decodes the pixels anyway
    (`odbench.data.load_benchmark(deferred=True)`): what it must match, the stored row of each
    gallery position (the hash is over rows in stored order), and what to do once it matched."""

    expected: str
    stored_rows: np.ndarray
    on_match: Callable[[], None] | None = None


@dataclass(frozen=True)
class Benchmark:
    """One loaded test dataset. `images_table` is the `datasets.Dataset` of the images config
    sorted by gallery position; it is only read to encode pixels."""

    name: str
    version: str
    revision: str | None
    dataset_hash: str
    sources: tuple[str, ...]
    images: Items
    captions: Items
    pairs: tuple[str, ...]                   # selected pairs as pair keys
    manifest: dict[str, Any]
    caption_style: str = PARTIAL
    spec_version: str = SPEC_VERSION
    images_table: Any = field(repr=False, compare=False, default=None)
    texts: tuple[str, ...] = field(repr=False, compare=False, default=())
    image_check: ImageCheck | None = field(repr=False, compare=False, default=None)   # None: verified
    # SPEC 9: the split the images and captions are of. `dataset_hash` is the dataset's (test's)
    # whatever the split; `split_hash` names this split's content (test's is the dataset hash).
    split: str = "test"
    split_hash: str = ""
    image_rows: np.ndarray | None = field(repr=False, compare=False, default=None)  # stored row of each image
