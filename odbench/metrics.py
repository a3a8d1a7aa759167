"""The metrics of SPEC section 5, computed from rankings and relevance only.

Nothing here knows about models: `compute_metrics(benchmark, queries, rankings)` is what the
harness reports and what the leaderboard recomputes from a submission; the query sets come from
`odbench.queries.build_query_sets`, built once by the caller. All per-query work is done on
(n_queries, k) arrays; the only Python loops are over groups (pairs, categories).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .benchmark import Benchmark
from .dataset_format import DECORRELATE
from .queries import Groups, QuerySets
from .rankings import ranked_matrix

DEFAULT_KS = (1, 5, 10)


def average_precision(rel: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """AP@k per row: (1 / min(k, |R|)) * sum_i rel_i * P@i over the top k (SPEC 5).

    `rel` is a boolean (n, >=k) matrix of the ranked lists; rows need |R| >= 1.
    """
    rel = rel[:, :k].astype(np.float64)
    hits = np.cumsum(rel, axis=1)
    precision = hits / np.arange(1, rel.shape[1] + 1)
    return (rel * precision).sum(axis=1) / np.minimum(k, n_relevant)


def hit_at_k(rel: np.ndarray, k: int) -> np.ndarray:
    """1.0 where at least one relevant item is in the top k (Karpathy recall@k)."""
    return rel[:, :k].any(axis=1).astype(np.float64)


@dataclass
class GroupedMean:
    """A per-query value averaged within groups, then over groups (macro)."""

    value: float | None
    per_group: dict[str, tuple[float, int]] = field(default_factory=dict)
    n_queries: int = 0


def macro_mean(values: np.ndarray, groups: Groups) -> GroupedMean:
    """`values` is indexed by query row; groups give (row, label) memberships."""
    if len(groups.rows) == 0:
        return GroupedMean(None)
    member_values = values[groups.rows]
    labels, inverse = np.unique(groups.labels.astype(str), return_inverse=True)
    sums = np.bincount(inverse, weights=member_values, minlength=len(labels))
    counts = np.bincount(inverse, minlength=len(labels))
    means = sums / counts
    per_group = {str(l): (float(m), int(n)) for l, m, n in zip(labels, means, counts, strict=True)}
    return GroupedMean(float(means.mean()), per_group, int(len(np.unique(groups.rows))))


def _mean_of(*values: float | None) -> float | None:
    return None if any(v is None for v in values) else float(np.mean(values))


@dataclass
class MetricReport:
    """Everything of SPEC section 5: headline numbers, breakdowns and query counts."""

    metrics: dict[str, float | None]
    per_pair: dict[str, dict[str, float | int | None]]
    per_category: dict[str, dict[str, float | int | None]]
    query_counts: dict[str, int]

    def as_dict(self) -> dict:
        return {"metrics": self.metrics, "per_pair": self.per_pair,
                "per_category": self.per_category, "query_counts": self.query_counts}


def _mentions_removed(benchmark: Benchmark, ranked: np.ndarray, removed: np.ndarray) -> np.ndarray:
    """Boolean (n, k): does the caption at ranked[q, i] mention removed[q]?"""
    captions = benchmark.captions
    categories = sorted({c for labels in captions.labels for c in labels} | set(removed))
    col = {c: j for j, c in enumerate(categories)}
    table = np.zeros((len(captions), len(categories)), dtype=bool)
    for i, labels in enumerate(captions.labels):
        table[i, [col[c] for c in labels]] = True
    wanted = np.array([col[r] for r in removed], dtype=np.int64)
    return table[ranked, wanted[:, None]] & (ranked >= 0)


def compute_metrics(benchmark: Benchmark, queries: QuerySets, rankings: Mapping[str, Mapping[str, Sequence[str]]],
                    *, list_length: int = 10, ks: Sequence[int] = DEFAULT_KS) -> MetricReport:
    """Recompute every metric from the rankings (raises RankingError on malformed ones).

    `queries` are the benchmark's query sets; `list_length` is the length of the ranked lists
    (the run's K); metrics are reported at each of `ks`.
    """
    if max(ks) > list_length:
        raise ValueError(f"metrics at k={max(ks)} need ranked lists of at least that length, got {list_length}")
    k_max = list_length
    ranked, rel = {}, {}
    for name in ("i2t", "t2i", "std_i2t", "std_t2i"):
        d = queries.direction(name)
        ranked[name] = ranked_matrix(d, rankings[name], k_max)
        rel[name] = d.relevance.mask(ranked[name])
    n_rel = {name: queries.direction(name).relevance.counts for name in ranked}

    metrics: dict[str, float | None] = {}
    per_pair: dict[str, dict] = {p: {} for p in benchmark.pairs}
    per_category: dict[str, dict] = {}
    counts: dict[str, int] = {}
    groups = queries.groups
    for k in ks:
        for (direction, kind), g in groups.items():
            name = f"{'odmap' if kind == DECORRELATE else 'cmap'}_{direction}@{k}"
            result = macro_mean(average_precision(rel[direction], n_rel[direction], k), g)
            metrics[name] = result.value
            counts[name.split("@")[0]] = result.n_queries
            target = per_pair if kind == DECORRELATE else per_category
            for label, (value, n) in result.per_group.items():
                entry = target.setdefault(label, {})
                entry[name] = value
                entry[f"n_{direction}"] = n
        for prefix in ("odmap", "cmap"):
            metrics[f"{prefix}@{k}"] = _mean_of(metrics[f"{prefix}_i2t@{k}"], metrics[f"{prefix}_t2i@{k}"])
            for entry in (per_pair if prefix == "odmap" else per_category).values():
                entry[f"{prefix}@{k}"] = _mean_of(entry.get(f"{prefix}_i2t@{k}"), entry.get(f"{prefix}_t2i@{k}"))
        metrics[f"gap@{k}"] = (None if metrics[f"cmap@{k}"] is None or metrics[f"odmap@{k}"] is None
                               else metrics[f"cmap@{k}"] - metrics[f"odmap@{k}"])

    # Hallucination rate: plain mean over decorrelate image queries (SPEC 5), also per pair.
    g = groups[("i2t", DECORRELATE)]
    mentions = _mentions_removed(benchmark, ranked["i2t"][g.rows], g.removed) if len(g.rows) else None
    for k in ks:
        if mentions is None:
            metrics[f"hr@{k}"] = None
            continue
        # Divide by k, not by the list length: a gallery shorter than k cannot fill the top k.
        rate = mentions[:, :k].sum(axis=1) / k
        metrics[f"hr@{k}"] = float(rate.mean())
        for label in np.unique(g.labels.astype(str)):
            per_pair.setdefault(label, {})[f"hr@{k}"] = float(rate[g.labels.astype(str) == label].mean())
    counts["hr"] = int(len(g.rows))

    rsum = 0.0
    for k in (1, 5, 10):
        for direction in ("i2t", "t2i"):
            value = float(hit_at_k(rel[f"std_{direction}"], k).mean()) if len(rel[f"std_{direction}"]) else 0.0
            metrics[f"r_{direction}@{k}"] = value
            rsum += 100.0 * value
    metrics["rsum"] = rsum
    counts["r_i2t"] = int(len(ranked["std_i2t"]))
    counts["r_t2i"] = int(len(ranked["std_t2i"]))
    counts["dropped_t2i"] = queries.dropped["t2i"]
    return MetricReport(metrics, per_pair, per_category, counts)
