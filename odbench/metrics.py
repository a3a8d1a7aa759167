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


def derived(metrics: Mapping[str, np.ndarray], ks: Sequence[int]) -> dict[str, np.ndarray]:
    """The metrics of SPEC 5 and 9 made from others: odmap@k and cmap@k (mean of the two
    directions), gap@k, retention@k and rsum. Works elementwise on arrays of any one shape
    (0-d for a result, (B,) for the draws of SPEC 9), with NaN for an undefined value, so that
    a result and each of its draws are combined by the same code."""
    out: dict[str, np.ndarray] = {}
    for k in ks:
        for prefix in ("odmap", "cmap"):
            out[f"{prefix}@{k}"] = (metrics[f"{prefix}_i2t@{k}"] + metrics[f"{prefix}_t2i@{k}"]) / 2
        odmap, cmap = out[f"odmap@{k}"], out[f"cmap@{k}"]
        out[f"gap@{k}"] = cmap - odmap
        with np.errstate(divide="ignore", invalid="ignore"):
            # retention@k = odmap@k / cmap@k, undefined when cmap@k is 0 (SPEC 9)
            out[f"retention@{k}"] = np.where(cmap > 0, odmap / np.where(cmap > 0, cmap, 1.0), np.nan)
    rsum = np.zeros_like(metrics["r_i2t@1"], dtype=np.float64)
    for k in (1, 5, 10):
        for direction in ("i2t", "t2i"):
            rsum = rsum + 100.0 * metrics[f"r_{direction}@{k}"]
    out["rsum"] = rsum
    return out


def _as_number(value: np.ndarray) -> float | None:
    return None if np.isnan(value) else float(value)


@dataclass(frozen=True)
class Scores:
    """The per-query values behind one metric: `values[m]` for membership m, the index of its
    query's source (`Benchmark.sources`) and its group. `macro` metrics average within groups,
    then over groups (SPEC 5); the others are a plain mean over queries, and their `labels`
    (when given) only break them down per pair."""

    values: np.ndarray
    src: np.ndarray
    labels: np.ndarray | None
    macro: bool


@dataclass(frozen=True)
class QueryScores:
    """Every metric's per-query values (`compute_metrics` averages them once; SPEC 9's draws
    re-weight them by source). `scores` holds the metrics measured on queries; the rest are
    `derived` from them."""

    scores: dict[str, Scores]
    ks: tuple[int, ...]
    pairs: tuple[str, ...]
    query_counts: dict[str, int]


def query_scores(benchmark: Benchmark, queries: QuerySets, rankings: Mapping[str, Mapping[str, Sequence[str]]],
                 *, list_length: int = 10, ks: Sequence[int] = DEFAULT_KS) -> QueryScores:
    """AP@k, the hallucination rate and the hit of every query, from the rankings (raises
    RankingError on malformed ones); `list_length` is the length of the ranked lists (the run's K)."""
    if max(ks) > list_length:
        raise ValueError(f"metrics at k={max(ks)} need ranked lists of at least that length, got {list_length}")
    ranked, rel, src = {}, {}, {}
    for name in ("i2t", "t2i", "std_i2t", "std_t2i"):
        d = queries.direction(name)
        ranked[name] = ranked_matrix(d, rankings[name], list_length)
        rel[name] = d.relevance.mask(ranked[name])
        items = benchmark.images if name.endswith("i2t") else benchmark.captions
        src[name] = items.src[d.query_pos].astype(np.int64)
    scores: dict[str, Scores] = {}
    counts: dict[str, int] = {}
    for (direction, kind), g in queries.groups.items():
        prefix = "odmap" if kind == DECORRELATE else "cmap"
        counts[f"{prefix}_{direction}"] = int(len(np.unique(g.rows)))
        n_rel = queries.direction(direction).relevance.counts
        for k in ks:
            ap = average_precision(rel[direction], n_rel, k)
            scores[f"{prefix}_{direction}@{k}"] = Scores(ap[g.rows], src[direction][g.rows],
                                                         g.labels.astype(str), macro=True)

    # Hallucination rate: plain mean over decorrelate image queries (SPEC 5), also per pair.
    g = queries.groups[("i2t", DECORRELATE)]
    mentions = _mentions_removed(benchmark, ranked["i2t"][g.rows], g.removed) if len(g.rows) else None
    for k in ks:
        # Divide by k, not by the list length: a gallery shorter than k cannot fill the top k.
        rate = mentions[:, :k].sum(axis=1) / k if mentions is not None else np.zeros(0)
        scores[f"hr@{k}"] = Scores(rate, src["i2t"][g.rows], g.labels.astype(str), macro=False)
    counts["hr"] = int(len(g.rows))

    for k in (1, 5, 10):
        for direction in ("i2t", "t2i"):
            name = f"std_{direction}"
            scores[f"r_{direction}@{k}"] = Scores(hit_at_k(rel[name], k), src[name], None, macro=False)
    counts["r_i2t"] = int(len(ranked["std_i2t"]))
    counts["r_t2i"] = int(len(ranked["std_t2i"]))
    counts["dropped_t2i"] = queries.dropped["t2i"]
    return QueryScores(scores, tuple(ks), tuple(benchmark.pairs), counts)


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
    return report_of(query_scores(benchmark, queries, rankings, list_length=list_length, ks=ks))


def report_of(qs: QueryScores) -> MetricReport:
    """The metrics, their per-pair and per-category breakdowns, from the per-query values."""
    metrics: dict[str, float | None] = {}
    per_pair: dict[str, dict] = {p: {} for p in qs.pairs}
    per_category: dict[str, dict] = {}
    for name, s in qs.scores.items():
        if s.macro:
            result = macro_mean(s.values, Groups(np.arange(len(s.values)), s.labels, s.labels))
            metrics[name] = result.value
            direction = name.split("@")[0].split("_")[1]
            target = per_pair if name.startswith("odmap") else per_category
            for label, (value, n) in result.per_group.items():
                entry = target.setdefault(label, {})
                entry[name] = value
                entry[f"n_{direction}"] = n
        elif name.startswith("hr@"):
            metrics[name] = float(s.values.mean()) if len(s.values) else None
            for label in np.unique(s.labels):
                per_pair.setdefault(label, {})[name] = float(s.values[s.labels == label].mean())
        else:
            metrics[name] = float(s.values.mean()) if len(s.values) else 0.0
    as_array = {name: np.float64(np.nan if v is None else v) for name, v in metrics.items()}
    for name, value in derived(as_array, qs.ks).items():
        metrics[name] = _as_number(value)
    for k in qs.ks:
        for prefix, target in (("odmap", per_pair), ("cmap", per_category)):
            for entry in target.values():
                entry[f"{prefix}@{k}"] = _mean_of(entry.get(f"{prefix}_i2t@{k}"), entry.get(f"{prefix}_t2i@{k}"))
    return MetricReport(metrics, per_pair, per_category, dict(qs.query_counts))
