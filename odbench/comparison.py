"""Paired comparisons and rank intervals of SPEC section 9.

Two models on the same dataset are compared on the same draws of source scenes: per draw,
the difference B - A of a metric; its 95% interval; p, the share of draws where B - A <= 0;
and A and B are *separable* when that interval excludes 0. A model's rank interval on a
leaderboard follows from which models are separable from it on odmap@10.

`compare_documents` takes result documents and the benchmark they were scored on;
`odbench compare` (odbench/cli/compare.py) and the leaderboard use it.
"""
from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .benchmark import Benchmark
from .errors import ODBenchError
from .intervals import DEFAULT_DRAWS, DEFAULT_SEED, DrawValues, bounds, check_draws, draw_values, source_counts
from .metrics import DEFAULT_KS, query_scores, report_of
from .queries import QuerySets
from .results import ResultDocument

RANK_METRIC = "odmap@10"
# What `odbench compare` shows unless --metric says otherwise: the headline and what explains it.
COMPARED_METRICS = ("odmap@10", "odmap_i2t@10", "odmap_t2i@10", "cmap@10", "gap@10", "retention@10", "hr@5", "rsum")
# Lower is better for these: "better" in words is B - A < 0.
LOWER_IS_BETTER = ("gap@", "hr@")


class ComparisonError(ODBenchError):
    """Documents that cannot be compared (different datasets, splits, unknown metric)."""


@dataclass(frozen=True)
class Difference:
    """B - A on one metric over the same draws."""

    metric: str
    a: float | None
    b: float | None
    interval: list[float] | None     # 95% interval of B - A over the draws
    p: float | None                  # share of draws where B - A <= 0

    @property
    def delta(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a

    @property
    def separable(self) -> bool:
        return self.interval is not None and (self.interval[0] > 0 or self.interval[1] < 0)


def paired_difference(metric: str, a: float | None, b: float | None, draws_a: np.ndarray,
                      draws_b: np.ndarray) -> Difference:
    """SPEC 9's paired comparison of one metric, from the two models' values on the same draws."""
    if a is None or b is None:
        return Difference(metric, a, b, None, None)
    diff = draws_b - draws_a
    defined = diff[~np.isnan(diff)]
    p = float(np.mean(defined <= 0)) if len(defined) else None
    return Difference(metric, a, b, bounds(diff), p)


def rank_intervals(point: Sequence[float | None], draws: Sequence[np.ndarray]) -> list[tuple[int, int]]:
    """(best, worst) rank of each model (SPEC 9): best = 1 + the models separable from it and
    above it, worst = N - the models separable from it and below it. A model without a value
    is below every model with one."""
    n = len(point)
    best, worst = [1] * n, [n] * n
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            if point[i] is None or point[j] is None:
                above = point[i] is None and point[j] is not None
                below = point[j] is None and point[i] is not None
            else:
                d = paired_difference(RANK_METRIC, point[i], point[j], draws[i], draws[j])
                above = d.separable and d.interval[0] > 0
                below = d.separable and d.interval[1] < 0
            best[i] += above
            worst[i] -= below
    return list(zip(best, worst, strict=True))


@dataclass(frozen=True)
class Scored:
    """One model's metrics and its values in each draw."""

    name: str
    metrics: dict[str, float | None]
    draws: DrawValues
    per_pair: dict[str, dict[str, float | int | None]]


@dataclass(frozen=True)
class Comparison:
    """Several models on the same draws of one dataset; the first is the reference (A)."""

    dataset: str
    models: list[Scored]
    n_draws: int
    seed: int

    def difference(self, i: int, j: int, metric: str) -> Difference:
        a, b = self.models[i], self.models[j]
        return paired_difference(metric, a.metrics.get(metric), b.metrics.get(metric),
                                 a.draws.metrics[metric], b.draws.metrics[metric])

    def pair_difference(self, i: int, j: int, pair: str, metric: str = RANK_METRIC) -> Difference:
        a, b = self.models[i], self.models[j]
        nan = np.full(self.n_draws, np.nan)
        return paired_difference(metric, a.per_pair.get(pair, {}).get(metric), b.per_pair.get(pair, {}).get(metric),
                                 a.draws.per_pair.get(pair, {}).get(metric, nan),
                                 b.draws.per_pair.get(pair, {}).get(metric, nan))

    def interval(self, i: int, metric: str) -> list[float] | None:
        if self.models[i].metrics.get(metric) is None:
            return None
        return bounds(self.models[i].draws.metrics[metric])

    def ranks(self) -> list[tuple[int, int]]:
        return rank_intervals([m.metrics.get(RANK_METRIC) for m in self.models],
                              [m.draws.metrics[RANK_METRIC] for m in self.models])

    @property
    def pairs(self) -> list[str]:
        return sorted({p for m in self.models for p in m.per_pair})


def known_metrics() -> list[str]:
    """Every metric name a comparison can recompute (SPEC 5 and retention@k, at DEFAULT_KS)."""
    names = [f"{p}{d}@{k}" for p in ("odmap", "cmap") for d in ("", "_i2t", "_t2i") for k in DEFAULT_KS]
    names += [f"{p}@{k}" for p in ("gap", "retention", "hr") for k in DEFAULT_KS]
    names += [f"r_{d}@{k}" for d in ("i2t", "t2i") for k in (1, 5, 10)] + ["rsum"]
    return names


def check_metrics(metrics: Sequence[str], known: Sequence[str]) -> None:
    """One line, with a suggestion, for a metric no document has."""
    for metric in metrics:
        if metric not in known:
            close = difflib.get_close_matches(metric, list(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(sorted(known))}"
            raise ComparisonError(f"unknown metric {metric!r}{hint}")


def _split(doc: ResultDocument) -> str:
    return doc.benchmark.split or "test"


def check_comparable(docs: Sequence[ResultDocument], names: Sequence[str]) -> None:
    """One line for documents that are not on the same data: dataset, version, hash, split."""
    if len(docs) < 2:
        raise ComparisonError("compare needs at least two result files")
    first = docs[0].benchmark
    for doc, name in zip(docs[1:], names[1:], strict=True):
        b = doc.benchmark
        if (b.name, b.version, b.dataset_hash) != (first.name, first.version, first.dataset_hash):
            raise ComparisonError(f"{name} is on {b.name} v{b.version} (hash {b.dataset_hash[:12]}...), "
                                  f"{names[0]} on {first.name} v{first.version} (hash {first.dataset_hash[:12]}...): "
                                  f"only results on the same dataset can be compared")
        if _split(doc) != _split(docs[0]):
            raise ComparisonError(f"{name} is scored on the {_split(doc)} split, {names[0]} on the "
                                  f"{_split(docs[0])} split: compare results of one split")
    for doc, name in zip(docs, names, strict=True):
        if doc.run.k < 10:
            raise ComparisonError(f"{name}: run.k is {doc.run.k}; a comparison needs the top 10 of every query")


def compare_documents(docs: Sequence[ResultDocument], names: Sequence[str], benchmark: Benchmark,
                      queries: QuerySets, *, draws: int = DEFAULT_DRAWS, seed: int = DEFAULT_SEED) -> Comparison:
    """Recompute every model's metrics from its rankings and its values on the same draws.
    Raises ComparisonError for documents that are not comparable, RankingError for rankings
    that do not fit the benchmark."""
    check_draws(draws, seed)
    check_comparable(docs, names)
    if benchmark.dataset_hash != docs[0].benchmark.dataset_hash:
        raise ComparisonError(f"the dataset loaded ({benchmark.name} v{benchmark.version}, hash "
                              f"{benchmark.dataset_hash[:12]}...) is not the one the results were scored on "
                              f"(hash {docs[0].benchmark.dataset_hash[:12]}...); pass it with --dataset")
    if benchmark.split != _split(docs[0]):
        raise ComparisonError(f"the {benchmark.split} split was loaded, but the results are scored on the "
                              f"{_split(docs[0])} split")
    counts = source_counts(len(benchmark.sources), draws, seed)
    models = []
    for doc, name in zip(docs, names, strict=True):
        qs = query_scores(benchmark, queries, doc.rankings, list_length=doc.run.k)
        report = report_of(qs)
        models.append(Scored(name, report.metrics, draw_values(qs, counts, seed=seed), report.per_pair))
    return Comparison(f"{benchmark.name} v{benchmark.version} ({_split(docs[0])})", models, draws, seed)
