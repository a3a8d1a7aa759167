"""A per-model report (`odbench report RESULT.json [--compare OTHER.json]`): a short markdown
summary and a PNG of the per-pair numbers, or of two models side by side and their difference
(OTHER - RESULT: `odbench report baseline.json --compare mitigated.json` shows what the
mitigation changed).

The numbers are the result files' own (`results.load` validates them; the leaderboard is what
recomputes them). odmap@10 and hr@5 are defined per correlated pair; cmap@10 is not (control
edits remove objects that are in no pair), so the plot shows each model's overall cmap@10 as a
line across its per-pair odmap@10 bars: the distance is the decorrelation gap.

matplotlib is an optional dependency (`pip install 'odbench[report]'`), imported only to draw.
"""
from __future__ import annotations

import os
from pathlib import Path

from .errors import ODBenchError
from .escaping import md_code, md_text
from .files import write_markdown_and_figure
from .results import HEADLINE_METRICS, ResultDocument

PAIR_METRICS = ("odmap@10", "hr@5")
SUMMARY_METRICS = ("odmap@10", "cmap@10", "gap@10", "hr@5")
_COLOURS = ("#0072B2", "#E69F00")
_LOWER_IS_BETTER = {"gap@10", "hr@5"}


def _fmt(value: float | None, key: str = "") -> str:
    if value is None:
        return "n/a"
    return f"{value:.2f}" if key == "rsum" else f"{value:.4f}"


def _with_interval(doc: ResultDocument, key: str) -> str:
    """The file's value and, for a 2.1 file, its 95% interval (SPEC 9)."""
    value = doc.metrics.get(key)
    bounds = (doc.intervals or {}).get("metrics", {}).get(key)
    if value is None or bounds is None:
        return _fmt(value, key)
    return f"{_fmt(value, key)} [{_fmt(bounds[0], key)}, {_fmt(bounds[1], key)}]"


def _delta(a: float | None, b: float | None, key: str = "") -> str:
    if a is None or b is None:
        return "n/a"
    return f"{b - a:+.2f}" if key == "rsum" else f"{b - a:+.4f}"


def model_label(doc: ResultDocument) -> str:
    return doc.model.spec + (" (untrained)" if doc.model.untrained else "")


def check_comparable(doc: ResultDocument, other: ResultDocument) -> None:
    """Two results compare pair by pair only on the same data."""
    a, b = doc.benchmark, other.benchmark
    if a.dataset_hash != b.dataset_hash:
        raise ODBenchError(f"the two results are on different datasets ({a.name} v{a.version}, hash "
                           f"{a.dataset_hash[:12]}... and {b.name} v{b.version}, hash {b.dataset_hash[:12]}...); "
                           f"per-pair numbers compare only on the same data")
    if a.spec_version != b.spec_version or a.caption_style != b.caption_style:
        raise ODBenchError("the two results were scored under different SPEC versions or caption styles")


def markdown(doc: ResultDocument, other: ResultDocument | None = None, png_name: str | None = None) -> str:
    """The summary: headline metrics, then odmap@10 and hr@5 per pair (with OTHER - RESULT)."""
    docs = [doc] + ([other] if other is not None else [])
    b = doc.benchmark
    title = " vs ".join(md_code(model_label(d)) for d in docs)
    lines = [f"# ODBench report: {title}", "",
             f"On {md_text(b.name)} v{md_text(b.version)} (dataset hash {md_code(b.dataset_hash[:16])}, "
             f"SPEC v{md_text(b.spec_version)}, {md_text(b.caption_style)} captions); numbers as the result "
             f"files report them, with their 95% intervals over source scenes where the file has them "
             f"(SPEC 9). odmap and cmap: higher is better; gap@10 and hr@5: lower is better. Whether a "
             f"difference is more than noise is for `odbench compare` (paired intervals).", ""]
    head = "| metric | " + " | ".join(md_code(model_label(d)) for d in docs) + (" | difference |" if other else " |")
    lines += [head, "|---|" + "---:|" * (len(docs) + (1 if other else 0))]
    for key in HEADLINE_METRICS:
        row = [_with_interval(d, key) for d in docs]
        if other is not None:
            row.append(_delta(doc.metrics.get(key), other.metrics.get(key), key))
        lines.append(f"| {key} | " + " | ".join(row) + " |")
    lines += ["", "Per correlated pair (`n`: its image / caption queries in the first file):", ""]
    cols = [c for m in PAIR_METRICS for c in ((f"{m} (1)", f"{m} (2)", f"{m} diff") if other else (m,))]
    lines += ["| pair | n | " + " | ".join(cols) + " |", "|---|---:|" + "---:|" * len(cols)]
    for pair in sorted(set(doc.per_pair) | (set(other.per_pair) if other else set())):
        one = doc.per_pair.get(pair, {})
        cells = []
        for metric in PAIR_METRICS:
            values = [d.per_pair.get(pair, {}).get(metric) for d in docs]
            cells += [_fmt(v) for v in values]
            if other is not None:
                cells.append(_delta(*values))
        n = f"{one.get('n_i2t', 'n/a')} / {one.get('n_t2i', 'n/a')}"
        lines.append(f"| {md_text(pair)} | {n} | " + " | ".join(cells) + " |")
    if other is not None:
        lines += ["", f"(1) is {md_code(model_label(doc))}, (2) is {md_code(model_label(other))}; "
                  "difference = (2) - (1)."]
    if png_name:
        lines += ["", f"![per-pair odmap@10 and hr@5, and the summary metrics]({png_name})"]
    return "\n".join(lines) + "\n"


def figure(doc: ResultDocument, other: ResultDocument | None = None):
    """The plot as a matplotlib Figure (no pyplot: no global state, no display needed)."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ODBenchError("odbench report draws with matplotlib, which is not installed: "
                           "pip install 'odbench[report]'") from None
    docs = [doc] + ([other] if other is not None else [])
    pairs = sorted(set(doc.per_pair) | (set(other.per_pair) if other else set()))
    rows = 2 if other is not None else 1
    fig = Figure(figsize=(14, 4.2 * rows), dpi=90, layout="constrained")
    axes = fig.subplots(rows, 3, squeeze=False)
    width = 0.8 / len(docs)
    positions = range(len(pairs))

    def value(d: ResultDocument, pair: str, metric: str) -> float:
        v = d.per_pair.get(pair, {}).get(metric)
        return float("nan") if v is None else v

    for col, metric in enumerate(PAIR_METRICS):
        ax = axes[0][col]
        for i, d in enumerate(docs):
            xs = [p + (i - (len(docs) - 1) / 2) * width for p in positions]
            ax.bar(xs, [value(d, p, metric) for p in pairs], width, color=_COLOURS[i], label=model_label(d))
            if metric == "odmap@10" and d.metrics.get("cmap@10") is not None:
                ax.axhline(d.metrics["cmap@10"], color=_COLOURS[i], linestyle="--", linewidth=1.2,
                           label=f"cmap@10 (controls), {model_label(d)}")
        ax.set_title(f"{metric} per pair" + (" (higher is better)" if metric == "odmap@10" else
                                             " (lower is better)"))
        ax.set_xticks(list(positions), pairs, rotation=30, ha="right")
        _room_for_legend(ax, 1.0 if metric == "hr@5" else None)
    ax = axes[0][2]
    for i, d in enumerate(docs):
        xs = [k + (i - (len(docs) - 1) / 2) * width for k in range(len(SUMMARY_METRICS))]
        ax.bar(xs, [d.metrics.get(k) if d.metrics.get(k) is not None else float("nan") for k in SUMMARY_METRICS],
               width, color=_COLOURS[i], label=model_label(d))
    ax.set_xticks(range(len(SUMMARY_METRICS)), SUMMARY_METRICS)
    ax.set_title("summary (gap@10 = cmap@10 - odmap@10)")
    _room_for_legend(ax)

    if other is not None:
        diff_title = f"{model_label(other)} - {model_label(doc)}"
        for col, metric in enumerate(PAIR_METRICS):
            ax = axes[1][col]
            deltas = [value(other, p, metric) - value(doc, p, metric) for p in pairs]
            good = [(d < 0) if metric in _LOWER_IS_BETTER else (d > 0) for d in deltas]
            ax.bar(list(positions), deltas, 0.6, color=["#009E73" if g else "#D55E00" for g in good])
            ax.axhline(0, color="#555", linewidth=0.8)
            ax.set_xticks(list(positions), pairs, rotation=30, ha="right")
            ax.set_title(f"difference in {metric}: {diff_title}", fontsize=9)
        ax = axes[1][2]
        deltas = [(other.metrics.get(k) or 0.0) - (doc.metrics.get(k) or 0.0) for k in SUMMARY_METRICS]
        good = [(d < 0) if k in _LOWER_IS_BETTER else (d > 0) for k, d in zip(SUMMARY_METRICS, deltas, strict=True)]
        ax.bar(range(len(SUMMARY_METRICS)), deltas, 0.6, color=["#009E73" if g else "#D55E00" for g in good])
        ax.axhline(0, color="#555", linewidth=0.8)
        ax.set_xticks(range(len(SUMMARY_METRICS)), SUMMARY_METRICS)
        ax.set_title("difference in the summary (green: better)", fontsize=9)
    b = doc.benchmark
    fig.suptitle(f"ODBench report on {b.name} v{b.version}: " + " vs ".join(model_label(d) for d in docs))
    return fig


def _room_for_legend(ax, top: float | None = None) -> None:
    """Raise the y limit so that the legend sits above the bars, not on them."""
    ax.set_ylim(0, max(ax.get_ylim()[1] * 1.4, top or 0))
    ax.legend(fontsize=7, loc="upper left")


def write_report(doc: ResultDocument, output: str | os.PathLike, other: ResultDocument | None = None, *,
                 overwrite: bool = False) -> tuple[Path, Path]:
    """Write OUTPUT (markdown) and the PNG beside it (same name, .png); returns both paths."""
    if other is not None:
        check_comparable(doc, other)
    return write_markdown_and_figure(output, lambda: figure(doc, other), lambda png: markdown(doc, other, png),
                                     overwrite=overwrite)
