"""SPEC section 8: a dataset proves, on its own data, that ODmAP measures object reliance.

Two instruments, both fed through the ordinary ranking (`evaluate.rank_all`) and metric code
(`metrics.compute_metrics`), so that what they check is what every model is scored with:

- the **label oracle**: an image's vector is the indicator of O(y) over the categories, a
  caption's the indicator of M(c), plus Gaussian noise (std 0.05, fixed seed), L2-normalised;
- the **planted shortcut** of strength α: the oracle, except that an item holding one member
  of a selected pair but not the other gets α on the missing partner's coordinate, in the
  image tower, the text tower or both.

`check_benchmark` scores the oracle and every shortcut and, for an `exhaustive` dataset,
applies the gates of section 8. The noise is drawn once per check, so rows differ only by the
shortcut.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np
import torch

from .benchmark import Benchmark
from .dataset_format import EXHAUSTIVE
from .evaluate import rank_all
from .metrics import compute_metrics
from .queries import QuerySets, build_query_sets
from .run_config import RunConfig

NOISE_STD = 0.05
ALPHAS = (0.3, 0.6, 0.9)
TOWERS = ("image", "text", "both")
COLUMNS = ("odmap@10", "odmap_i2t@10", "odmap_t2i@10", "cmap@10", "hr@5")

# The gates of SPEC section 8 (exhaustive datasets only).
MIN_CEILING = 0.99
MAX_ODMAP_AT_09 = 0.5
MIN_CMAP_AT_09 = 0.85


def categories(benchmark: Benchmark) -> list[str]:
    """The oracle's coordinates: every category an image holds, a caption names or a pair has."""
    found = {c for labels in (*benchmark.images.labels, *benchmark.captions.labels) for c in labels}
    found |= {c for key in benchmark.pairs for c in key.split("+")}
    return sorted(found)


def partners(benchmark: Benchmark) -> dict[str, list[str]]:
    """category -> the other members of the selected pairs it belongs to."""
    out: dict[str, list[str]] = {}
    for key in benchmark.pairs:
        a, b = key.split("+")
        out.setdefault(a, []).append(b)
        out.setdefault(b, []).append(a)
    return out


def label_embeddings(labels: Sequence[frozenset[str]], columns: Sequence[str], noise: np.ndarray, *,
                     alpha: float = 0.0, pair_partners: dict[str, list[str]] | None = None) -> torch.Tensor:
    """Indicator vectors of `labels` over `columns`, plus `alpha` on the coordinate of every
    pair partner an item lacks, plus `noise`; L2-normalised, float32."""
    col = {c: j for j, c in enumerate(columns)}
    x = np.zeros((len(labels), len(columns)), dtype=np.float64)
    for i, items in enumerate(labels):
        x[i, [col[c] for c in items]] = 1.0
        if alpha:
            for c in items:
                for partner in (pair_partners or {}).get(c, ()):
                    if partner not in items:
                        x[i, col[partner]] += alpha
    x += noise
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return torch.from_numpy(x.astype(np.float32))


@dataclass(frozen=True)
class Row:
    model: str                     # "label oracle" or "planted shortcut"
    tower: str                     # "-" for the oracle, else image / text / both
    alpha: float
    metrics: dict[str, float | None]


@dataclass(frozen=True)
class Gate:
    name: str
    passed: bool
    detail: str


@dataclass
class CheckReport:
    benchmark: str                 # name@version
    caption_style: str
    seed: int
    rows: list[Row]
    gates: list[Gate] = field(default_factory=list)

    @property
    def gated(self) -> bool:
        return self.caption_style == EXHAUSTIVE

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.gates)

    @property
    def oracle(self) -> Row:
        return self.rows[0]

    def curve(self, tower: str) -> list[Row]:
        """The oracle, then the shortcut in `tower` at every α, in rising α."""
        return [self.oracle] + [r for r in self.rows if r.tower == tower]

    def table(self) -> str:
        """The rows as a markdown table (readable in a terminal, pasted into dataset cards)."""
        head = "| model | tower | α | " + " | ".join(COLUMNS) + " |"
        lines = [head, "|---|---|---:|" + "---:|" * len(COLUMNS)]
        for r in self.rows:
            values = ["n/a" if r.metrics[c] is None else f"{r.metrics[c]:.3f}" for c in COLUMNS]
            lines.append(f"| {r.model} | {r.tower} | {r.alpha:.1f} | " + " | ".join(values) + " |")
        return "\n".join(lines)

    def summary(self) -> str:
        """Ceiling, response of each tower, and the gates (or why there are none)."""
        o = self.oracle.metrics
        lines = [f"ceiling (label oracle): odmap@10 {_fmt(o['odmap@10'])}, cmap@10 {_fmt(o['cmap@10'])}"]
        for tower in TOWERS:
            curve = self.curve(tower)
            steps = " -> ".join(_fmt(r.metrics["odmap@10"]) for r in curve)
            lines.append(f"response, {tower} tower: odmap@10 {steps} (α 0 -> {curve[-1].alpha})")
        if not self.gated:
            lines.append(f"not gated: a {self.caption_style} dataset's ceiling is below 1 by "
                         "construction (SPEC section 8)")
        for g in self.gates:
            lines.append(f"{'PASS' if g.passed else 'FAIL'}  {g.name}: {g.detail}")
        if self.gated:
            lines.append(f"{self.benchmark}: {'passes' if self.passed else 'FAILS'} SPEC section 8")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {"benchmark": self.benchmark, "caption_style": self.caption_style, "seed": self.seed,
                "noise_std": NOISE_STD, "rows": [asdict(r) for r in self.rows],
                "gates": [asdict(g) for g in self.gates], "gated": self.gated, "passed": self.passed}


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _gates(report: CheckReport) -> list[Gate]:
    o = report.oracle.metrics
    gates = [Gate("ceiling", (o["odmap@10"] or 0) >= MIN_CEILING and (o["cmap@10"] or 0) >= MIN_CEILING,
                  f"odmap@10 {_fmt(o['odmap@10'])} and cmap@10 {_fmt(o['cmap@10'])} must be >= {MIN_CEILING}")]
    for tower, direction in (("image", "odmap_i2t@10"), ("text", "odmap_t2i@10")):
        values = [r.metrics["odmap@10"] for r in report.curve(tower)]
        falls = all(a is not None and b is not None and b < a for a, b in pairwise(values))
        gates.append(Gate(f"{tower} tower falls", falls,
                          "odmap@10 " + " > ".join(_fmt(v) for v in values) + " must fall strictly as α rises"))
        last = report.curve(tower)[-1].metrics
        ok = (last[direction] is not None and last[direction] <= MAX_ODMAP_AT_09
              and last["cmap@10"] is not None and last["cmap@10"] >= MIN_CMAP_AT_09)
        gates.append(Gate(f"{tower} tower at α 0.9", ok,
                          f"{direction} {_fmt(last[direction])} must be <= {MAX_ODMAP_AT_09} while cmap@10 "
                          f"{_fmt(last['cmap@10'])} stays >= {MIN_CMAP_AT_09}"))
    return gates


def oracle_rankings(benchmark: Benchmark, queries: QuerySets, *, seed: int = 0,
                    device: str = "cpu") -> dict[str, dict[str, list[str]]]:
    """The label oracle's rankings (noise seed `seed`), as `check_benchmark` scores them: what
    the leaderboard compares a self-reported result with (a copied oracle is no model)."""
    columns = categories(benchmark)
    rng = np.random.default_rng(seed)
    image_noise = rng.normal(0.0, NOISE_STD, (len(benchmark.images), len(columns)))
    text_noise = rng.normal(0.0, NOISE_STD, (len(benchmark.captions), len(columns)))
    return rank_all(queries, label_embeddings(benchmark.images.labels, columns, image_noise),
                    label_embeddings(benchmark.captions.labels, columns, text_noise), RunConfig(device=device))


def check_benchmark(benchmark: Benchmark, *, seed: int = 0, device: str = "cpu") -> CheckReport:
    """Score the label oracle and the planted shortcuts (SPEC section 8) on `benchmark`."""
    queries = build_query_sets(benchmark)     # once: the ten rows are ten rankings of the same queries
    columns = categories(benchmark)
    rng = np.random.default_rng(seed)
    image_noise = rng.normal(0.0, NOISE_STD, (len(benchmark.images), len(columns)))
    text_noise = rng.normal(0.0, NOISE_STD, (len(benchmark.captions), len(columns)))
    pair_partners = partners(benchmark)
    config = RunConfig(device=device)

    def score(image_alpha: float, text_alpha: float) -> dict[str, float | None]:
        images = label_embeddings(benchmark.images.labels, columns, image_noise, alpha=image_alpha,
                                  pair_partners=pair_partners)
        texts = label_embeddings(benchmark.captions.labels, columns, text_noise, alpha=text_alpha,
                                 pair_partners=pair_partners)
        rankings = rank_all(queries, images, texts, config)
        metrics = compute_metrics(benchmark, queries, rankings, list_length=config.k).metrics
        return {c: metrics[c] for c in COLUMNS}

    rows = [Row("label oracle", "-", 0.0, score(0.0, 0.0))]
    for tower in TOWERS:
        for alpha in ALPHAS:
            rows.append(Row("planted shortcut", tower, alpha,
                            score(alpha if tower in ("image", "both") else 0.0,
                                  alpha if tower in ("text", "both") else 0.0)))
    split = "" if benchmark.split == "test" else f" ({benchmark.split} split)"
    report = CheckReport(f"{benchmark.name}@{benchmark.version}{split}", benchmark.caption_style, seed, rows)
    if report.gated:
        report.gates = _gates(report)
    return report
