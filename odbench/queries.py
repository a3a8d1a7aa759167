"""Query sets and relevance of SPEC sections 4, 5 and 7, derived from a `Benchmark`.

Four retrieval directions are ranked (the keys of the rankings object):

- `i2t`: every edited image (both kinds) against all captions;
- `t2i`: every original caption that is a query of SPEC section 5 (for either kind) against
  all images;
- `std_i2t`, `std_t2i`: original images and original captions against the originals only.

Relevance is stored sparsely (CSR over gallery positions). It is built per source image:
an item is only ever relevant to items of its own source, so no images x captions matrix is
ever formed.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .benchmark import Benchmark, Items
from .errors import DatasetError

DIRECTIONS = ("i2t", "t2i", "std_i2t", "std_t2i")


@dataclass(frozen=True)
class Relevance:
    """Row q's relevant gallery positions are indices[indptr[q]:indptr[q + 1]]."""

    indptr: np.ndarray
    indices: np.ndarray

    @classmethod
    def from_lists(cls, rows: list[list[int]]) -> "Relevance":
        counts = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
        indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        flat = [g for r in rows for g in r]
        return cls(indptr, np.asarray(flat, dtype=np.int64))

    @property
    def counts(self) -> np.ndarray:
        return np.diff(self.indptr)

    def mask(self, ranked: np.ndarray) -> np.ndarray:
        """Boolean matrix: is ranked[q, i] relevant to query q? Padding (-1) is not."""
        n_gallery = int(max(self.indices.max(initial=-1), ranked.max(initial=-1))) + 1
        rows = np.repeat(np.arange(len(self.indptr) - 1, dtype=np.int64), self.counts)
        relevant_keys = np.sort(rows * n_gallery + self.indices)
        keys = np.arange(ranked.shape[0], dtype=np.int64)[:, None] * n_gallery + ranked
        pos = np.searchsorted(relevant_keys, keys)
        found = relevant_keys[np.minimum(pos, len(relevant_keys) - 1)] == keys if len(relevant_keys) else np.zeros_like(keys, dtype=bool)
        return found & (ranked >= 0)


@dataclass(frozen=True)
class Direction:
    """Queries of one direction against its gallery (positions are into the gallery subset)."""

    name: str
    query_ids: tuple[str, ...]
    query_pos: np.ndarray        # positions of the queries in their own Items
    gallery_ids: tuple[str, ...]
    gallery_pos: np.ndarray      # positions of the gallery items in their Items, ascending
    relevance: Relevance


@dataclass(frozen=True)
class Groups:
    """Which queries of a direction a metric averages, and the group (pair or category) each
    belongs to. A query may appear in several groups (a caption naming two removed objects)."""

    rows: np.ndarray             # row indices into Direction.query_ids
    labels: np.ndarray           # group label per membership (pair key or category)
    removed: np.ndarray          # removed category per membership (for the hallucination rate)


def _by_source(items: Items, positions: np.ndarray) -> dict[int, list[int]]:
    groups: dict[int, list[int]] = defaultdict(list)
    for j, p in enumerate(positions):
        groups[int(items.src[p])].append(j)
    return groups


def _relevant(queries: Items, q_pos: np.ndarray, gallery: Items, g_pos: np.ndarray,
              *, query_is_image: bool, by_content: bool) -> list[list[int]]:
    """rel(y, c) = src(y) = src(c) and M(c) ⊆ O(y) (SPEC 4); `by_content=False` drops the
    second condition, as the standard Karpathy protocol does."""
    same_source = _by_source(gallery, g_pos)
    rows = []
    for p in q_pos:
        labels = queries.labels[p]
        rel = []
        for j in same_source.get(int(queries.src[p]), ()):
            other = gallery.labels[g_pos[j]]
            if not by_content or (other <= labels if query_is_image else labels <= other):
                rel.append(j)
        rows.append(rel)
    return rows


class QuerySets:
    """All directions and metric groups of one benchmark, built lazily and once."""

    def __init__(self, benchmark: Benchmark) -> None:
        self.benchmark = benchmark
        self.dropped: dict[str, int] = {}

    def _direction(self, name: str, queries: Items, q_pos: np.ndarray, gallery: Items,
                   g_pos: np.ndarray, *, query_is_image: bool, by_content: bool) -> Direction:
        rows = _relevant(queries, q_pos, gallery, g_pos, query_is_image=query_is_image,
                         by_content=by_content)
        return Direction(name, tuple(queries.ids[p] for p in q_pos), q_pos,
                         tuple(gallery.ids[p] for p in g_pos), g_pos, Relevance.from_lists(rows))

    @cached_property
    def i2t(self) -> Direction:
        images, captions = self.benchmark.images, self.benchmark.captions
        q_pos = np.flatnonzero(~images.is_original)
        d = self._direction("i2t", images, q_pos, captions, np.arange(len(captions)),
                            query_is_image=True, by_content=True)
        empty = [d.query_ids[i] for i in np.flatnonzero(d.relevance.counts == 0)]
        if empty:
            raise DatasetError(f"{len(empty)} edited image(s) have no relevant caption, "
                               f"e.g. {empty[0]!r}; the dataset violates SPEC section 3")
        return d

    @cached_property
    def _t2i_memberships(self) -> dict[int, list[tuple[str, str, str]]]:
        """caption position -> [(kind, group label, removed)] for every edit it is a query of."""
        images, captions = self.benchmark.images, self.benchmark.captions
        edits: dict[int, list[tuple[str, str, str]]] = defaultdict(list)
        for p in np.flatnonzero(~images.is_original):
            kind, removed = str(images.kind[p]), images.removed[p]
            label = images.pair[p] if kind == "decorrelate" else removed
            edits[int(images.src[p])].append((kind, label, removed))
        out: dict[int, list[tuple[str, str, str]]] = {}
        for c in np.flatnonzero(captions.is_original):
            hits = sorted({e for e in edits.get(int(captions.src[c]), ()) if e[2] in captions.labels[c]})
            if hits:
                out[int(c)] = hits
        return out

    @cached_property
    def t2i(self) -> Direction:
        images, captions = self.benchmark.images, self.benchmark.captions
        candidates = np.asarray(sorted(self._t2i_memberships), dtype=np.int64)
        d = self._direction("t2i", captions, candidates, images, np.arange(len(images)),
                            query_is_image=False, by_content=True)
        keep = d.relevance.counts > 0
        # An original caption naming an object its image lacks has no relevant image (SPEC 4).
        self.dropped["t2i"] = int((~keep).sum())
        if keep.all():
            return d
        return self._direction("t2i", captions, candidates[keep], images, np.arange(len(images)),
                               query_is_image=False, by_content=True)

    @cached_property
    def std_i2t(self) -> Direction:
        images, captions = self.benchmark.images, self.benchmark.captions
        d = self._direction("std_i2t", images, np.flatnonzero(images.is_original), captions,
                            np.flatnonzero(captions.is_original), query_is_image=True, by_content=False)
        keep = d.relevance.counts > 0
        self.dropped["std_i2t"] = int((~keep).sum())
        if keep.all():
            return d
        return self._direction("std_i2t", images, np.flatnonzero(images.is_original)[keep], captions,
                               np.flatnonzero(captions.is_original), query_is_image=True, by_content=False)

    @cached_property
    def std_t2i(self) -> Direction:
        images, captions = self.benchmark.images, self.benchmark.captions
        return self._direction("std_t2i", captions, np.flatnonzero(captions.is_original), images,
                               np.flatnonzero(images.is_original), query_is_image=False, by_content=False)

    def direction(self, name: str) -> Direction:
        if name not in DIRECTIONS:
            raise KeyError(name)
        return getattr(self, name)

    def i2t_groups(self, kind: str) -> Groups:
        """Edited-image queries of one kind, grouped by pair (decorrelate) or removed category."""
        images, d = self.benchmark.images, self.i2t
        rows = np.flatnonzero(images.kind[d.query_pos] == kind)
        removed = np.array([images.removed[d.query_pos[r]] for r in rows], dtype=object)
        labels = (np.array([images.pair[d.query_pos[r]] for r in rows], dtype=object)
                  if kind == "decorrelate" else removed)
        return Groups(rows.astype(np.int64), labels, removed)

    def t2i_groups(self, kind: str) -> Groups:
        """Original-caption queries of one kind; a caption counts once per group even when two
        edits of its image (removing a, removing b) make it a query of the same pair."""
        d = self.t2i
        row_of = {int(p): r for r, p in enumerate(d.query_pos)}
        members = sorted({(row_of[c], label)
                          for c, hits in self._t2i_memberships.items() if c in row_of
                          for k, label, _ in hits if k == kind})
        rows = np.array([m[0] for m in members], dtype=np.int64)
        labels = np.array([m[1] for m in members], dtype=object)
        return Groups(rows, labels, np.full(len(members), None, dtype=object))
