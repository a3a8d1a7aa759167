"""The uncertainty of every metric (SPEC section 9): a bootstrap over source scenes.

Every query belongs to the source scene it derives from. A draw picks the S sources of the
split with replacement, as the rows of `numpy.random.default_rng(seed).integers(0, S, (B, S))`
over the sources in ascending `src_id` order (`Benchmark.sources` is in that order), and a
query weighs as often as its source was picked. The ranked lists stay fixed: each draw
re-averages the per-query values of `odbench.metrics.query_scores` with those weights, with
the metric's own macro averaging (a group whose queries all weigh 0 is left out of that draw).

Vectorised: per metric, the per-query values are summed once per (source, group); the B
draws are then one product of the (B, S) matrix of source counts with those sums. No Python
loop runs per draw. A draw in which a metric is undefined (every query behind it weighs 0,
or cmap@k is 0 for retention@k) is left out of that metric's percentiles.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .benchmark import Benchmark
from .errors import ODBenchError
from .metrics import DEFAULT_KS, QueryScores, Scores, derived, query_scores
from .metrics import report_of as metric_report
from .queries import QuerySets

METHOD = "source-bootstrap"
DEFAULT_DRAWS = 1000
DEFAULT_SEED = 0
MIN_DRAWS = 100
LEVEL = 0.95
# The per-pair breakdown that carries intervals (the page draws its error bars from them).
PER_PAIR_METRICS = ("odmap@10", "odmap_i2t@10", "odmap_t2i@10", "hr@5")


class IntervalError(ODBenchError):
    """Settings no interval can be computed with (too few draws)."""


def check_draws(draws: int, seed: int) -> None:
    """One line for settings SPEC 9's intervals cannot be computed with."""
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < MIN_DRAWS:
        raise IntervalError(f"--draws must be an integer of at least {MIN_DRAWS} (SPEC 9 uses 1000), got {draws!r}")
    if draws > 100_000:
        raise IntervalError(f"--draws must be at most 100000, got {draws}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise IntervalError(f"--draw-seed must be an integer from 0 to 2**63 - 1, got {seed!r}")


def source_counts(n_sources: int, draws: int = DEFAULT_DRAWS, seed: int = DEFAULT_SEED) -> np.ndarray:
    """(draws, n_sources) float64: how often each source is picked in each draw (SPEC 9)."""
    picks = np.random.default_rng(seed).integers(0, n_sources, size=(draws, n_sources))
    flat = picks + n_sources * np.arange(draws, dtype=np.int64)[:, None]
    return np.bincount(flat.ravel(), minlength=draws * n_sources).reshape(draws, n_sources).astype(np.float64)


def _cells(s: Scores, n_sources: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per (source, group): the sum of the values and the number of memberships, as (S, G)
    matrices, with the group labels (one unnamed group for a metric without labels)."""
    if s.labels is None:
        labels, inverse = np.zeros(0, dtype=str), np.zeros(len(s.values), dtype=np.int64)
    else:
        labels, inverse = np.unique(s.labels, return_inverse=True)
    n_groups = max(len(labels), 1)
    cell = s.src * n_groups + inverse
    sums = np.bincount(cell, weights=s.values, minlength=n_sources * n_groups).reshape(n_sources, n_groups)
    members = np.bincount(cell, minlength=n_sources * n_groups).reshape(n_sources, n_groups)
    return sums, members.astype(np.float64), labels


def _means(s: Scores, weighted: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per draw: the metric (macro over the groups that weigh, or the plain weighted mean) and
    each group's mean; NaN where nothing weighs."""
    with np.errstate(divide="ignore", invalid="ignore"):
        group_means = np.where(weight > 0, weighted / np.where(weight > 0, weight, 1.0), np.nan)
        if not len(s.values):
            return np.full(weight.shape[0], np.nan), group_means
        if s.macro:
            present = weight > 0
            n_present = present.sum(axis=1)
            total = np.where(present, group_means, 0.0).sum(axis=1)
            return np.where(n_present > 0, total / np.maximum(n_present, 1), np.nan), group_means
        total_weight = weight.sum(axis=1)
        return (np.where(total_weight > 0, weighted.sum(axis=1) / np.where(total_weight > 0, total_weight, 1.0),
                         np.nan), group_means)


@dataclass(frozen=True)
class DrawValues:
    """Every metric's value in each of B draws (NaN where undefined), overall and per pair."""

    draws: int
    seed: int
    metrics: dict[str, np.ndarray]
    per_pair: dict[str, dict[str, np.ndarray]]


def draw_values(qs: QueryScores, counts: np.ndarray, *, seed: int = DEFAULT_SEED) -> DrawValues:
    """Each metric of `qs` recomputed under each draw's source counts (`source_counts`)."""
    n_sources = counts.shape[1]
    cells = {name: _cells(s, n_sources) for name, s in qs.scores.items()}
    # one (B, S) @ (S, C) product for every metric's sums and counts at once
    product = counts @ np.concatenate([m for sums, members, _ in cells.values() for m in (sums, members)], axis=1)
    overall: dict[str, np.ndarray] = {}
    groups: dict[str, dict[str, np.ndarray]] = {}
    column = 0
    for name, (sums, _, labels) in cells.items():
        g = sums.shape[1]
        weighted, weight = product[:, column:column + g], product[:, column + g:column + 2 * g]
        column += 2 * g
        overall[name], group_means = _means(qs.scores[name], weighted, weight)
        if name.startswith(("odmap", "hr@")):
            for j, label in enumerate(labels):
                groups.setdefault(str(label), {})[name] = group_means[:, j]
    metrics = {**overall, **derived(overall, qs.ks)}
    nan = np.full(counts.shape[0], np.nan)
    per_pair: dict[str, dict[str, np.ndarray]] = {}
    for pair in sorted(set(qs.pairs) | set(groups)):
        values = groups.get(pair, {})
        entry = {}
        for name in PER_PAIR_METRICS:
            if name.startswith("odmap@"):
                k = name.split("@")[1]
                entry[name] = (values.get(f"odmap_i2t@{k}", nan) + values.get(f"odmap_t2i@{k}", nan)) / 2
            else:
                entry[name] = values.get(name, nan)
        per_pair[pair] = entry
    return DrawValues(counts.shape[0], seed, metrics, per_pair)


def bounds(values: np.ndarray, level: float = LEVEL) -> list[float] | None:
    """The central `level` interval of the defined draws (numpy's default linear percentiles),
    or None when no draw defines the metric."""
    defined = values[~np.isnan(values)]
    if not len(defined):
        return None
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(defined, [tail, 100 - tail])
    return [float(lo), float(hi)]


@dataclass(frozen=True)
class IntervalReport:
    """The result document's `intervals` block: 95% bounds of every metric and of the
    per-pair metrics of PER_PAIR_METRICS, with the draws they came from."""

    draws: int
    seed: int
    metrics: dict[str, list[float] | None]
    per_pair: dict[str, dict[str, list[float] | None]]
    level: float = LEVEL
    method: str = METHOD

    def as_dict(self) -> dict:
        return {"method": self.method, "draws": self.draws, "seed": self.seed, "level": self.level,
                "metrics": self.metrics, "per_pair": self.per_pair}


def interval_report(values: DrawValues, point: Mapping[str, float | None]) -> IntervalReport:
    """Bounds of each metric of `point` (a metric that is null has a null interval)."""
    metrics = {name: (None if point.get(name) is None else bounds(values.metrics[name]))
               for name in point}
    per_pair = {pair: {name: bounds(v) for name, v in entry.items()} for pair, entry in values.per_pair.items()}
    return IntervalReport(values.draws, values.seed, metrics, per_pair)


def compute_intervals(benchmark: Benchmark, queries: QuerySets, rankings: Mapping[str, Mapping[str, Sequence[str]]],
                      *, list_length: int = 10, draws: int = DEFAULT_DRAWS, seed: int = DEFAULT_SEED,
                      ks: Sequence[int] = DEFAULT_KS, scores: QueryScores | None = None,
                      point: Mapping[str, float | None] | None = None) -> IntervalReport:
    """SPEC 9's intervals of every metric, from the rankings (raises RankingError on malformed
    ones). Pass `scores` (and `point`, the metrics) when the caller already has them."""
    check_draws(draws, seed)
    qs = scores if scores is not None else query_scores(benchmark, queries, rankings, list_length=list_length, ks=ks)
    values = draw_values(qs, source_counts(len(benchmark.sources), draws, seed), seed=seed)
    return interval_report(values, point if point is not None else metric_report(qs).metrics)
