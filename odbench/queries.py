"""Query sets and relevance of SPEC sections 4, 5 and 7, derived from a `Benchmark`.

Four retrieval directions are ranked (the keys of the rankings object):

- `i2t`: every edited image (both kinds) against all captions;
- `t2i`: every caption that is a text-to-image query of SPEC section 5 (for either kind)
  against all images: the edited captions in an `exhaustive` dataset, the original captions
  that name a removed object in a `partial` one;
- `std_i2t`, `std_t2i`: original images and original captions against the originals only.

Relevance is stored sparsely (CSR over gallery positions) and never needs a dense images x
captions matrix: in an `exhaustive` dataset it is a join on the object set (items grouped by
their set of categories), in a `partial` one and for standard retrieval it is built per
source image.

`build_query_sets(benchmark)` makes all of it once; callers pass the `QuerySets` on to the
ranking and metric code, which never build them themselves.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from .benchmark import Benchmark, Items
from .dataset_format import CONTROL, DECORRELATE, EXHAUSTIVE
from .errors import DatasetError

DIRECTIONS = ("i2t", "t2i", "std_i2t", "std_t2i")
KINDS = (DECORRELATE, CONTROL)


@dataclass(frozen=True)
class Relevance:
    """Row q's relevant gallery positions are indices[indptr[q]:indptr[q + 1]]."""

    indptr: np.ndarray
    indices: np.ndarray

    @classmethod
    def from_lists(cls, rows: list[list[int]]) -> Relevance:
        counts = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
        indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        flat = [g for r in rows for g in r]
        return cls(indptr, np.asarray(flat, dtype=np.int64))

    @property
    def counts(self) -> np.ndarray:
        return np.diff(self.indptr)

    def row(self, q: int) -> np.ndarray:
        return self.indices[self.indptr[q]:self.indptr[q + 1]]

    def mask(self, ranked: np.ndarray) -> np.ndarray:
        """Boolean matrix: is ranked[q, i] relevant to query q? Padding (-1) is not."""
        n_gallery = int(max(self.indices.max(initial=-1), ranked.max(initial=-1))) + 1
        rows = np.repeat(np.arange(len(self.indptr) - 1, dtype=np.int64), self.counts)
        relevant_keys = np.sort(rows * n_gallery + self.indices)
        keys = np.arange(ranked.shape[0], dtype=np.int64)[:, None] * n_gallery + ranked
        if not len(relevant_keys):
            return np.zeros(keys.shape, dtype=bool)
        pos = np.searchsorted(relevant_keys, keys)
        found = relevant_keys[np.minimum(pos, len(relevant_keys) - 1)] == keys
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


@dataclass(frozen=True)
class QuerySets:
    """All directions of one benchmark and the query groups every metric averages over.

    `groups[(direction, kind)]` for direction in (i2t, t2i) and kind in KINDS; `dropped`
    counts queries left out because nothing in their gallery is relevant (SPEC 4).
    """

    directions: dict[str, Direction]
    groups: dict[tuple[str, str], Groups]
    dropped: dict[str, int]

    def direction(self, name: str) -> Direction:
        return self.directions[name]

    @property
    def i2t(self) -> Direction:
        return self.directions["i2t"]

    @property
    def t2i(self) -> Direction:
        return self.directions["t2i"]

    @property
    def std_i2t(self) -> Direction:
        return self.directions["std_i2t"]

    @property
    def std_t2i(self) -> Direction:
        return self.directions["std_t2i"]


# ---------------------------------------------------------------- relevance

def same_objects_relevance(queries: Items, q_pos: np.ndarray, gallery: Items,
                           g_pos: np.ndarray) -> list[list[int]]:
    """Exhaustive style (SPEC 4): rel(y, c) = 1 iff M(c) = O(y), not empty. A join on the
    object set: gallery items are grouped by their set of categories once."""
    by_set: dict[frozenset[str], list[int]] = defaultdict(list)
    for j, p in enumerate(g_pos):
        labels = gallery.labels[p]
        if labels:
            by_set[labels].append(j)
    return [list(by_set.get(queries.labels[p], ())) if queries.labels[p] else [] for p in q_pos]


def same_source_relevance(queries: Items, q_pos: np.ndarray, gallery: Items, g_pos: np.ndarray,
                          *, query_is_image: bool, by_content: bool) -> list[list[int]]:
    """Partial style (SPEC 4): rel(y, c) = src(y) = src(c) and M(c) ⊆ O(y). `by_content=False`
    drops the second condition, as the standard Karpathy protocol does."""
    same_source: dict[int, list[int]] = defaultdict(list)
    for j, p in enumerate(g_pos):
        same_source[int(gallery.src[p])].append(j)
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


def _direction(name: str, queries: Items, q_pos: np.ndarray, gallery: Items, g_pos: np.ndarray,
               rows: list[list[int]]) -> Direction:
    return Direction(name, tuple(queries.ids[p] for p in q_pos), np.asarray(q_pos, dtype=np.int64),
                     tuple(gallery.ids[p] for p in g_pos), np.asarray(g_pos, dtype=np.int64),
                     Relevance.from_lists(rows))


def _without_empty(name: str, queries: Items, q_pos: np.ndarray, gallery: Items, g_pos: np.ndarray,
                   rows: list[list[int]]) -> tuple[Direction, np.ndarray, int]:
    """The direction restricted to queries with a relevant item; also the kept mask."""
    keep = np.array([bool(r) for r in rows], dtype=bool)
    kept_rows = [r for r, k in zip(rows, keep, strict=True) if k]
    return _direction(name, queries, q_pos[keep], gallery, g_pos, kept_rows), keep, int((~keep).sum())


# ---------------------------------------------------------------- query sets

def _i2t(benchmark: Benchmark) -> Direction:
    images, captions = benchmark.images, benchmark.captions
    q_pos = np.flatnonzero(~images.is_original)
    g_pos = np.arange(len(captions))
    if benchmark.caption_style == EXHAUSTIVE:
        rows = same_objects_relevance(images, q_pos, captions, g_pos)
    else:
        rows = same_source_relevance(images, q_pos, captions, g_pos, query_is_image=True, by_content=True)
    d = _direction("i2t", images, q_pos, captions, g_pos, rows)
    empty = [d.query_ids[i] for i in np.flatnonzero(d.relevance.counts == 0)]
    if empty:
        raise DatasetError(f"{len(empty)} edited image(s) have no relevant caption, "
                           f"e.g. {empty[0]!r}; the dataset violates SPEC section 3")
    return d


def _i2t_groups(benchmark: Benchmark, d: Direction, kind: str) -> Groups:
    """Edited-image queries of one kind, grouped by pair (decorrelate) or removed category."""
    images = benchmark.images
    rows = np.flatnonzero(images.kind[d.query_pos] == kind)
    removed = np.array([images.removed[d.query_pos[r]] for r in rows], dtype=object)
    labels = (np.array([images.pair[d.query_pos[r]] for r in rows], dtype=object)
              if kind == DECORRELATE else removed)
    return Groups(rows.astype(np.int64), labels, removed)


def _t2i_exhaustive(benchmark: Benchmark) -> tuple[Direction, dict[str, Groups], int]:
    """Queries: the edited captions c⁻ʳ (SPEC 5); relevant: the images with exactly M(c⁻ʳ)."""
    images, captions = benchmark.images, benchmark.captions
    candidates = np.flatnonzero(~captions.is_original)
    g_pos = np.arange(len(images))
    d, _, dropped = _without_empty("t2i", captions, candidates, images, g_pos,
                                   same_objects_relevance(captions, candidates, images, g_pos))
    groups = {}
    for kind in KINDS:
        rows = np.flatnonzero(captions.kind[d.query_pos] == kind).astype(np.int64)
        removed = np.array([captions.removed[d.query_pos[r]] for r in rows], dtype=object)
        labels = (np.array([captions.pair[d.query_pos[r]] for r in rows], dtype=object)
                  if kind == DECORRELATE else removed)
        groups[kind] = Groups(rows, labels, removed)
    return d, groups, dropped


def _t2i_partial(benchmark: Benchmark) -> tuple[Direction, dict[str, Groups], int]:
    """Queries: original captions of a source with an edit removing an object they name; the
    relevant set holds x and never x⁻ʳ (SPEC 5, version 1)."""
    images, captions = benchmark.images, benchmark.captions
    edits: dict[int, list[tuple[str, str, str]]] = defaultdict(list)
    for p in np.flatnonzero(~images.is_original):
        kind, removed = str(images.kind[p]), images.removed[p]
        label = images.pair[p] if kind == DECORRELATE else removed
        edits[int(images.src[p])].append((kind, label, removed))
    memberships: dict[int, list[tuple[str, str, str]]] = {}
    for c in np.flatnonzero(captions.is_original):
        hits = sorted({e for e in edits.get(int(captions.src[c]), ()) if e[2] in captions.labels[c]})
        if hits:
            memberships[int(c)] = hits
    candidates = np.asarray(sorted(memberships), dtype=np.int64)
    g_pos = np.arange(len(images))
    rows = same_source_relevance(captions, candidates, images, g_pos, query_is_image=False, by_content=True)
    # An original caption naming an object its image lacks has no relevant image (SPEC 4).
    d, _, dropped = _without_empty("t2i", captions, candidates, images, g_pos, rows)
    row_of = {int(p): r for r, p in enumerate(d.query_pos)}
    groups = {}
    for kind in KINDS:
        # A caption counts once per group even when two edits of its image (removing a,
        # removing b) make it a query of the same pair.
        members = sorted({(row_of[c], label) for c, hits in memberships.items() if c in row_of
                          for k, label, _ in hits if k == kind})
        groups[kind] = Groups(np.array([m[0] for m in members], dtype=np.int64),
                              np.array([m[1] for m in members], dtype=object),
                              np.full(len(members), None, dtype=object))
    return d, groups, dropped


def build_query_sets(benchmark: Benchmark) -> QuerySets:
    """Every direction, its relevance and the metric groups, by the dataset's caption style.
    Raises DatasetError when an edited image has no relevant caption (SPEC section 3)."""
    images, captions = benchmark.images, benchmark.captions
    i2t = _i2t(benchmark)
    t2i, t2i_groups, dropped_t2i = (_t2i_exhaustive if benchmark.caption_style == EXHAUSTIVE
                                    else _t2i_partial)(benchmark)
    orig_images, orig_captions = np.flatnonzero(images.is_original), np.flatnonzero(captions.is_original)
    std_i2t, _, dropped_std = _without_empty(
        "std_i2t", images, orig_images, captions, orig_captions,
        same_source_relevance(images, orig_images, captions, orig_captions,
                              query_is_image=True, by_content=False))
    std_t2i = _direction("std_t2i", captions, orig_captions, images, orig_images,
                         same_source_relevance(captions, orig_captions, images, orig_images,
                                               query_is_image=False, by_content=False))
    groups = {("i2t", kind): _i2t_groups(benchmark, i2t, kind) for kind in KINDS}
    groups.update({("t2i", kind): g for kind, g in t2i_groups.items()})
    return QuerySets({"i2t": i2t, "t2i": t2i, "std_i2t": std_i2t, "std_t2i": std_t2i}, groups,
                     {"t2i": dropped_t2i, "std_i2t": dropped_std})
