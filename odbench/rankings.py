"""The rankings object of SPEC section 7: its hash and its checked conversion to matrices.

Rankings are `{direction: {query_id: [gallery ids, best first]}}` for the four directions of
`odbench.queries`. Every metric is recomputed from them, by the harness and by the leaderboard
alike, so the checks here are what stops a submission from listing unknown or repeated ids.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .errors import ODBenchError
from .hashing import canonical_json, sha256_hex
from .queries import Direction

Rankings = dict[str, dict[str, list[str]]]


class RankingError(ODBenchError):
    """Rankings that do not fit the benchmark; `reason` says how, as one of `REASONS` (the
    leaderboard rejects a submission with that reason)."""

    REASONS = ("missing-queries", "extra-queries", "wrong-length", "duplicate-id", "unknown-id")

    def __init__(self, reason: str, message: str) -> None:
        if reason not in self.REASONS:
            raise ValueError(f"unknown ranking problem {reason!r}")
        super().__init__(message)
        self.reason = reason


def rankings_hash(rankings: Mapping[str, Mapping[str, Sequence[str]]]) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no spaces) of the rankings object."""
    return sha256_hex(canonical_json(rankings))


def expected_length(direction: Direction, k: int) -> int:
    return min(k, len(direction.gallery_ids))


def ranked_matrix(direction: Direction, ranking: Mapping[str, Sequence[str]], k: int) -> np.ndarray:
    """(n_queries, min(k, gallery)) gallery positions in the direction's query order.

    Raises RankingError naming the first problem: missing or extra queries, lists of the wrong
    length, ids not in the gallery, or an id listed twice for one query.
    """
    name = direction.name
    expected = set(direction.query_ids)
    missing = [q for q in direction.query_ids if q not in ranking]
    if missing:
        raise RankingError("missing-queries", f"{name}: {len(missing)} missing queries, e.g. {missing[0]!r}")
    extra = sorted(set(ranking) - expected)
    if extra:
        raise RankingError("extra-queries", f"{name}: {len(extra)} unexpected queries, e.g. {extra[0]!r}")
    length = expected_length(direction, k)
    index = {g: i for i, g in enumerate(direction.gallery_ids)}
    out = np.empty((len(direction.query_ids), length), dtype=np.int64)
    for row, q in enumerate(direction.query_ids):
        ids = ranking[q]
        if len(ids) != length:
            raise RankingError("wrong-length", f"{name}: query {q!r} lists {len(ids)} ids, expected {length}")
        if len(set(ids)) != len(ids):
            raise RankingError("duplicate-id", f"{name}: query {q!r} lists the same id twice")
        try:
            out[row] = [index[g] for g in ids]
        except KeyError as exc:
            raise RankingError("unknown-id", f"{name}: query {q!r} lists unknown id {exc.args[0]!r}") from None
    return out


def to_ids(direction: Direction, ranked: np.ndarray) -> dict[str, list[str]]:
    """The inverse of `ranked_matrix`: gallery positions back to ids."""
    gallery = direction.gallery_ids
    return {q: [gallery[i] for i in row] for q, row in zip(direction.query_ids, ranked.tolist(), strict=True)}
