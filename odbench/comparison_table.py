"""`odbench compare`'s output: a `Comparison` (odbench.comparison) as markdown and a PNG.

The markdown has each model's headline metrics with their 95% intervals, the paired
differences against the first file (interval, p, separable), the per-pair odmap@10
differences, and the rank interval of each model with the pairs of models that are separable.
matplotlib is imported only to draw (`pip install 'odbench[report]'`).
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from .comparison import RANK_METRIC, Comparison, Difference
from .errors import ODBenchError
from .escaping import md_code, md_text
from .files import write_markdown_and_figure


def _digits(metric: str) -> int:
    return 2 if metric == "rsum" else 4


def _value(value: float | None, metric: str, interval: list[float] | None = None) -> str:
    if value is None:
        return "n/a"
    d = _digits(metric)
    text = f"{value:.{d}f}"
    return text + (f" [{interval[0]:.{d}f}, {interval[1]:.{d}f}]" if interval is not None else "")


def _delta(diff: Difference) -> str:
    if diff.delta is None:
        return "n/a"
    d = _digits(diff.metric)
    text = f"{diff.delta:+.{d}f}"
    return text + (f" [{diff.interval[0]:+.{d}f}, {diff.interval[1]:+.{d}f}]" if diff.interval is not None else "")


def _p(diff: Difference) -> str:
    return "n/a" if diff.p is None else f"{diff.p:.3f}"


def markdown(c: Comparison, metrics: Sequence[str], png_name: str | None = None) -> str:
    """The comparison as markdown (same documents and draws -> same text)."""
    names = [m.name for m in c.models]
    lines = [f"# ODBench comparison on {md_text(c.dataset)}", "",
             f"95% intervals over source scenes (SPEC 9): {c.n_draws} draws, seed {c.seed}, the same draws for "
             f"every model. A and B are separable on a metric when the interval of B - A excludes 0; "
             f"p is the share of draws where B - A <= 0. gap@10 and hr@5 are better when lower.", "",
             "| metric | " + " | ".join(md_code(n) for n in names) + " |",
             "|---|" + "---:|" * len(names)]
    for metric in metrics:
        lines.append(f"| {metric} | " + " | ".join(
            _value(m.metrics.get(metric), metric, c.interval(i, metric)) for i, m in enumerate(c.models)) + " |")
    for j in range(1, len(c.models)):
        lines += ["", f"## {md_code(names[j])} - {md_code(names[0])}", "",
                  "| metric | difference [95%] | p | separable |", "|---|---:|---:|---|"]
        for metric in metrics:
            d = c.difference(0, j, metric)
            lines.append(f"| {metric} | {_delta(d)} | {_p(d)} | {'yes' if d.separable else 'no'} |")
        lines += ["", f"Per pair, {RANK_METRIC}:", "", "| pair | difference [95%] | p | separable |",
                  "|---|---:|---:|---|"]
        for pair in c.pairs:
            d = c.pair_difference(0, j, pair)
            lines.append(f"| {md_text(pair)} | {_delta(d)} | {_p(d)} | {'yes' if d.separable else 'no'} |")
    ranks = c.ranks()
    order = sorted(range(len(names)), key=lambda i: (-(c.models[i].metrics.get(RANK_METRIC) or float("-inf")), i))
    lines += ["", f"## Ranks by {RANK_METRIC}", "", "| rank | rank interval | model | " + RANK_METRIC + " |",
              "|---:|---|---|---:|"]
    for rank, i in enumerate(order, 1):
        best, worst = ranks[i]
        lines.append(f"| {rank} | {best}-{worst} | {md_code(names[i])} | "
                     f"{_value(c.models[i].metrics.get(RANK_METRIC), RANK_METRIC, c.interval(i, RANK_METRIC))} |")
    separable = [f"{md_code(names[i])} / {md_code(names[j])}" for i in range(len(names)) for j in range(i + 1, len(names))
                 if c.difference(i, j, RANK_METRIC).separable]
    lines += ["", f"Separable on {RANK_METRIC}: " + (", ".join(separable) if separable else "no pair of models") + "."]
    if png_name:
        lines += ["", f"![differences against the first model, with 95% intervals]({png_name})"]
    return "\n".join(lines) + "\n"


def figure(c: Comparison, metrics: Sequence[str]):
    """Differences against the first model with their intervals: the metrics, then odmap@10
    per pair (a matplotlib Figure; no pyplot, no display)."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ODBenchError("odbench compare draws with matplotlib, which is not installed: "
                           "pip install 'odbench[report]'") from None
    shown = [m for m in metrics if m != "rsum"]     # rsum is in percent: another scale
    fig = Figure(figsize=(14, 4.6), dpi=90, layout="constrained")
    ax_metrics, ax_pairs = fig.subplots(1, 2, width_ratios=(len(shown), max(len(c.pairs), 1)))
    width = 0.8 / max(len(c.models) - 1, 1)
    colours = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
    for ax, labels, get in ((ax_metrics, shown, lambda j, label: c.difference(0, j, label)),
                            (ax_pairs, c.pairs, lambda j, label: c.pair_difference(0, j, label))):
        for j in range(1, len(c.models)):
            diffs = [get(j, label) for label in labels]
            xs = [x + (j - 1 - (len(c.models) - 2) / 2) * width for x in range(len(labels))]
            ys = [d.delta if d.delta is not None else float("nan") for d in diffs]
            err = [[(y - d.interval[0]) if d.interval else 0 for y, d in zip(ys, diffs, strict=True)],
                   [(d.interval[1] - y) if d.interval else 0 for y, d in zip(ys, diffs, strict=True)]]
            ax.bar(xs, ys, width, yerr=err, capsize=3, color=colours[(j - 1) % len(colours)],
                   label=f"{c.models[j].name} - {c.models[0].name}")
        ax.axhline(0, color="#555", linewidth=0.8)
        ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
        ax.legend(fontsize=7, loc="best")
    ax_metrics.set_title("difference, 95% interval (gap@10, hr@5: lower is better)", fontsize=9)
    ax_pairs.set_title(f"difference in {RANK_METRIC} per pair, 95% interval", fontsize=9)
    fig.suptitle(f"ODBench comparison on {c.dataset}")
    return fig


def write_comparison(c: Comparison, metrics: Sequence[str], output: str | os.PathLike, *,
                     overwrite: bool = False) -> tuple[Path, Path]:
    """Write OUTPUT (markdown) and the PNG beside it (same name, .png); returns both paths."""
    return write_markdown_and_figure(output, lambda: figure(c, metrics), lambda png: markdown(c, metrics, png),
                                     overwrite=overwrite)
