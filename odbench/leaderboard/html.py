"""The leaderboard as one static web page (`odbench leaderboard --html DIR`).

DIR/index.html holds everything: the styles, the plots (inline SVG, drawn here, so they show
even without JavaScript) and a few lines of script that sort the tables. It makes no request
of its own; its only links are to the result files, copied next to it under DIR/results/, so
the folder can be served or opened as it is. Everything a submission says goes through
`escaping.html_text`.
"""
from __future__ import annotations

import dataclasses
import json
import math
import shutil
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

from .. import __version__, reproduce
from ..escaping import html_text
from ..files import write_atomic
from ..intervals import bounds
from ..results import HEADLINE_METRICS
from .checks import Accepted, Outcome
from .markdown import odmap_with_interval, ranked_sections, ranks
from .tiers import SELF_REPORTED

RESULTS_FOLDER = "results"
# Colour-blind-safe palette (Okabe-Ito), repeated when a section has more models.
_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
_REPRODUCED = {
    "yes": "CI re-runs this model on every change; the rankings and weights hashes are identical",
    "skipped": "the repository can build this model, but it is too large for CI to re-run",
    "no": "the model needs code or weights from outside the repository; its numbers are recomputed, "
          "its identity is the submitter's word",
}

_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1500px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
.scroll { overflow-x: auto; }
table.board { border-collapse: collapse; font-size: 12px; margin: 1em 0; }
table.board th, table.board td { padding: 3px 5px; border-bottom: 1px solid #e4e4e4; text-align: right; white-space: nowrap; }
table.board td.text, table.board th.text { text-align: left; }
table.board th { cursor: pointer; background: #f4f4f4; user-select: none; }
table.board th[aria-sort=ascending]::after { content: " \\25B2"; }
table.board th[aria-sort=descending]::after { content: " \\25BC"; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 5px; border-radius: 50%; }
.plots { display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start; }
figure { margin: 0; } figcaption { font-size: 13px; color: #444; max-width: 560px; }
svg text { font: 11px system-ui, sans-serif; fill: #333; }
.rep-yes { color: #0a7a2f; font-weight: 600; } .rep-skipped { color: #8a6d00; } .rep-no { color: #777; }
"""

# Click a header to sort by it; click again to reverse. Cells carry their value in data-sort.
_SCRIPT = """
document.querySelectorAll("table.board").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, col) {
    th.addEventListener("click", function () {
      var ascending = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      var numeric = th.dataset.type === "number";
      var key = function (row) {
        var s = row.cells[col].dataset.sort;
        return numeric ? (s === "" ? -Infinity : parseFloat(s)) : s;
      };
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        var c = numeric ? (x < y ? -1 : x > y ? 1 : 0) : x.localeCompare(y);
        return ascending ? c : -c;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""


def write_page(outcome: Outcome, folder: str | Path, submissions: str | Path) -> Path:
    """Write DIR/index.html and copy every accepted result file to DIR/results/ (under its path
    relative to `submissions`); copies of earlier runs are removed first. Returns the page.
    Files are named relative to the submissions folder: a page is published, the machine's
    folders (an absolute --submissions) are not."""
    folder, submissions = Path(folder), Path(submissions)
    outcome = dataclasses.replace(
        outcome, accepted=[dataclasses.replace(e, shown=_relative(e.path, submissions)) for e in outcome.accepted],
        rejected=[dataclasses.replace(r, shown=_relative(r.path, submissions)) for r in outcome.rejected])
    links: dict[Path, str] = {}
    copies = folder / RESULTS_FOLDER
    if copies.is_dir():
        shutil.rmtree(copies)
    for entry in outcome.accepted:
        rel = entry.path.relative_to(submissions).as_posix()
        # read_text, not copyfile: the checks read the file without following links, so do we
        write_atomic(copies / rel, entry.path.read_text("utf-8"), overwrite=True)
        links[entry.path] = f"{RESULTS_FOLDER}/{rel}"
    return write_atomic(folder / "index.html", render_page(outcome, links), overwrite=True)


def _relative(path: Path, submissions: Path) -> str:
    try:
        return (Path(submissions.name) / path.relative_to(submissions)).as_posix()
    except ValueError:
        return path.name


def render_page(outcome: Outcome, links: Mapping[Path, str]) -> str:
    """The page as text: same outcome and links -> same bytes. `links` maps a result file's
    path to the relative address the page links it under."""
    sections = ranked_sections(outcome)
    unranked = {(n, v): entries for n, v, entries in ranked_sections(outcome, self_reported=True)}
    body = ["<h1>ODBench leaderboard</h1>",
            "<p>Ranked by ODmAP@10 (higher is better), with its 95% interval over source scenes (SPEC 9: "
            "1000 draws, seed 0) and each model's rank interval (from 1 + the models separable from it and "
            "above it to N - those separable and below it). Error bars on the plots are 95% intervals. gap@10 = cmap@10 - odmap@10 and hr@5 (hallucination "
            "rate) are better when lower. Every number is recomputed from the submitted rankings and the "
            "dataset. Click a column header to sort by it. <b>reproduced</b>: "
            + "; ".join(f"<i>{k}</i>: {html_text(v, 300)}" for k, v in _REPRODUCED.items()) + ".</p>"]
    body.append("<p><b>Tiers</b>: only <i>verified</i> (re-run by CI) and <i>reproducible</i> (public weights "
                "at a fixed revision, re-run by a maintainer) results are ranked; <i>self-reported</i> ones are "
                "listed apart, unranked (see CONTRIBUTING.md, Verification tiers).</p>")
    if not sections and not unranked:
        body.append("<p>No accepted submissions yet.</p>")
    for index, (name, version, entries) in enumerate(sections):
        body.append(_section(index, name, version, entries, links))
        if (name, version) in unranked:
            body.append(_self_reported(index, name, version, unranked.pop((name, version)), links))
    for index, ((name, version), entries) in enumerate(sorted(unranked.items()), len(sections)):
        body.append(_self_reported(index, name, version, entries, links))   # versions with no ranked row
    body.append("<h2>Rejected submissions</h2>")
    if outcome.rejected:
        body.append("<ul class=\"rejected\">" + "".join(
            f"<li><code>{html_text(r.shown)}</code> <b>{html_text(r.reason)}</b>: {html_text(r.detail, 400)}</li>"
            for r in outcome.rejected) + "</ul>")
    else:
        body.append("<p>None.</p>")
    body.append(f"<p><small>Generated by <code>odbench leaderboard --html</code> (odbench "
                f"{html_text(__version__)}).</small></p>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            # The page may load nothing from anywhere: inline styles and script only.
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n"
            f"<title>ODBench leaderboard</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
            + "\n".join(body) + f"\n<script>{_SCRIPT}</script>\n</body>\n</html>\n")


def _section(index: int, name: str, version: str, entries: list[Accepted], links: Mapping[Path, str]) -> str:
    b = entries[0].doc.benchmark
    anchor = f"section-{index}"
    colours = {id(e): _COLOURS[i % len(_COLOURS)] for i, e in enumerate(entries)}
    head = [("rank", "number"), ("rank interval", "text"), ("model", "text"), ("params", "number"),
            ("reproduced", "text")] \
        + [(m, "number") for m in HEADLINE_METRICS] + [("date", "text"), ("result file", "text")]
    rows = []
    for rank, (e, (best, worst)) in enumerate(zip(entries, ranks(entries), strict=True), 1):
        model = e.doc.model
        status = reproduce.ci_status(model)
        label = _label(e)
        cells = [_num_cell(rank, str(rank)),
                 f"<td class=\"text\" data-sort=\"{best:05d}-{worst:05d}\">{best}-{worst}</td>",
                 f"<td class=\"text model\" data-sort=\"{html_text(label)}\"><span class=\"swatch\" "
                 f"style=\"background:{colours[id(e)]}\"></span><code>{html_text(label)}</code></td>",
                 _num_cell(model.num_parameters, reproduce.parameter_text(model.num_parameters)),
                 f"<td class=\"text reproduced rep-{status}\" data-sort=\"{status}\" "
                 f"title=\"{html_text(_REPRODUCED[status], 300)}\">{status}</td>"]
        cells += _number_cells(e, links)
        rows.append("<tr>" + "".join(cells) + "</tr>")
    table = (f"<table class=\"board\" id=\"{anchor}-table\"><thead><tr>"
             + "".join(f"<th data-type=\"{kind}\" class=\"{'text' if kind == 'text' else ''}\" "
                       f"title=\"sort by {label}\">{label}</th>" for label, kind in head)
             + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
    return (f"<section id=\"{anchor}\" data-benchmark=\"{html_text(name)}\" data-version=\"{html_text(version)}\">"
            f"<h2>{html_text(name)} v{html_text(version)}</h2>"
            f"<p>Dataset hash <code>{html_text(b.dataset_hash[:16])}</code>; SPEC v{html_text(b.spec_version)}, "
            f"{html_text(b.caption_style)} captions; {len(entries)} models.</p><div class=\"scroll\">{table}</div>"
            f"<div class=\"plots\">{_scatter(entries, colours)}</div>"
            f"<h3>Per pair: odmap@10 of each model</h3><div class=\"plots\">{_pair_bars(entries, colours)}</div>"
            "</section>")


def _self_reported(index: int, name: str, version: str, entries: list[Accepted], links: Mapping[Path, str]) -> str:
    """The unranked table of one dataset version's self-reported results, by model spec."""
    head = [("model", "text"), ("params", "number"), ("tier", "text")] + [(m, "number") for m in HEADLINE_METRICS] \
        + [("date", "text"), ("result file", "text")]
    rows = []
    for e in sorted(entries, key=lambda e: (e.doc.model.spec, e.shown)):
        model = e.doc.model
        label = _label(e)
        cells = [f"<td class=\"text model\" data-sort=\"{html_text(label)}\"><code>{html_text(label)}</code></td>",
                 _num_cell(model.num_parameters, reproduce.parameter_text(model.num_parameters)),
                 f"<td class=\"text\" data-sort=\"{SELF_REPORTED}\">{SELF_REPORTED}</td>",
                 *_number_cells(e, links)]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    table = ("<table class=\"board\"><thead><tr>"
             + "".join(f"<th data-type=\"{kind}\" class=\"{'text' if kind == 'text' else ''}\" "
                       f"title=\"sort by {label}\">{label}</th>" for label, kind in head)
             + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
    return (f"<section id=\"selfreported-{index}\" class=\"selfreported\">"
            f"<h3>Self-reported on {html_text(name)} v{html_text(version)} (unranked)</h3>"
            "<p>Nobody can re-run these models: the numbers follow from the rankings, the model behind them is "
            f"the submitter's word.</p><div class=\"scroll\">{table}</div></section>")


def _number_cells(e: Accepted, links: Mapping[Path, str]) -> list[str]:
    """odmap@10 with its interval, the other headline metrics, the date and the file's link."""
    m = e.report.metrics
    cells = [_num_cell(m.get("odmap@10"), odmap_with_interval(e))]
    for key in HEADLINE_METRICS[1:]:
        value = m.get(key)
        cells.append(_num_cell(value, "n/a" if value is None else f"{value:.{2 if key == 'rsum' else 4}f}"))
    date = e.doc.run.date[:10]
    href = quote(links.get(e.path, e.path.name), safe="/")
    return cells + [f"<td class=\"text\" data-sort=\"{html_text(date)}\">{html_text(date)}</td>",
                    f"<td class=\"text\" data-sort=\"{html_text(e.shown)}\"><a href=\"{href}\">"
                    f"{html_text(e.path.name)}</a></td>"]


def _label(e: Accepted) -> str:
    model = e.doc.model
    args = ", ".join(f"{k}={v}" for k, v in sorted(model.args.items()))
    return model.spec + (f" ({args})" if args else "") + (" (untrained)" if model.untrained else "")


def _num_cell(value: float | int | None, text: str) -> str:
    return f"<td data-sort=\"{'' if value is None else json.dumps(value)}\">{html_text(text)}</td>"


def _nice_max(value: float, step: float) -> float:
    return max(step, math.ceil(value / step - 1e-9) * step)


def _scatter(entries: list[Accepted], colours: Mapping[int, str]) -> str:
    """odmap@10 (y) against rsum (x): does better plain retrieval come with less object reliance?"""
    points = [(e, e.report.metrics.get("rsum"), e.report.metrics.get("odmap@10")) for e in entries]
    points = [(e, x, y) for e, x, y in points if x is not None and y is not None]
    spans = {id(e): (bounds(e.draws.metrics["rsum"]), bounds(e.draws.metrics["odmap@10"])) for e, _, _ in points}
    width, height, left, right, top, bottom = 560, 360, 56, 20, 16, 44
    x_max = _nice_max(max((max(x, (spans[id(e)][0] or [0, 0])[1]) for e, x, _ in points), default=0) * 1.05, 50)
    y_max = min(1.0, _nice_max(max((max(y, (spans[id(e)][1] or [0, 0])[1]) for e, _, y in points),
                                   default=0) * 1.1, 0.05))

    def px(x: float) -> float:
        return left + (width - left - right) * x / x_max

    def py(y: float) -> float:
        return height - bottom - (height - top - bottom) * y / y_max

    parts = _axes(width, height, left, right, top, bottom, x_max, y_max, "rsum (%)", "odmap@10")
    for e, x, y in points:
        label = _label(e)
        # labels of points in the right half go to their left, so that they stay inside the plot
        right_half = px(x) > (left + width - right) / 2
        text_x, anchor = (px(x) - 9, "end") if right_half else (px(x) + 9, "start")
        x_span, y_span = spans[id(e)]
        bars, said = "", ""
        if x_span is not None:
            bars += (f"<line class=\"error-bar\" x1=\"{px(x_span[0]):.1f}\" y1=\"{py(y):.1f}\" "
                     f"x2=\"{px(x_span[1]):.1f}\" y2=\"{py(y):.1f}\" stroke=\"{colours[id(e)]}\" stroke-width=\"1.5\"/>")
            said += f" [{x_span[0]:.2f}, {x_span[1]:.2f}]"
        said = f"rsum {x:.2f}{said}, odmap@10 {y:.4f}"
        if y_span is not None:
            bars += (f"<line class=\"error-bar\" x1=\"{px(x):.1f}\" y1=\"{py(y_span[0]):.1f}\" "
                     f"x2=\"{px(x):.1f}\" y2=\"{py(y_span[1]):.1f}\" stroke=\"{colours[id(e)]}\" stroke-width=\"1.5\"/>")
            said += f" [{y_span[0]:.4f}, {y_span[1]:.4f}]"
        parts.append(f"<g class=\"point\"><title>{html_text(label)}: {said} (95% intervals)</title>{bars}"
                     f"<circle cx=\"{px(x):.1f}\" cy=\"{py(y):.1f}\" r=\"6\" fill=\"{colours[id(e)]}\" "
                     f"fill-opacity=\"0.85\" stroke=\"#fff\"/>"
                     f"<text x=\"{text_x:.1f}\" y=\"{py(y) - 8:.1f}\" text-anchor=\"{anchor}\">"
                     f"{html_text(label, 40)}</text></g>")
    missing = len(entries) - len(points)
    note = f" {missing} model(s) without both numbers are not shown." if missing else ""
    return (f"<figure><svg class=\"scatter\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" "
            f"role=\"img\" aria-label=\"odmap@10 against rsum\">{''.join(parts)}</svg>"
            f"<figcaption>odmap@10 against rsum, one point per model: plain retrieval quality (x) and "
            f"retrieval that does not lean on co-occurring objects (y); bars are 95% intervals.{note}"
            f"</figcaption></figure>")


def _axes(width: int, height: int, left: int, right: int, top: int, bottom: int, x_max: float, y_max: float,
          x_label: str, y_label: str) -> list[str]:
    x0, x1, y0, y1 = left, width - right, height - bottom, top
    parts = [f"<line x1=\"{x0}\" y1=\"{y0}\" x2=\"{x1}\" y2=\"{y0}\" stroke=\"#555\"/>",
             f"<line x1=\"{x0}\" y1=\"{y0}\" x2=\"{x0}\" y2=\"{y1}\" stroke=\"#555\"/>"]
    for i in range(6):
        x = x0 + (x1 - x0) * i / 5
        y = y0 - (y0 - y1) * i / 5
        parts += [f"<line x1=\"{x:.1f}\" y1=\"{y0}\" x2=\"{x:.1f}\" y2=\"{y0 + 4}\" stroke=\"#555\"/>",
                  f"<text x=\"{x:.1f}\" y=\"{y0 + 16}\" text-anchor=\"middle\">{x_max * i / 5:g}</text>",
                  f"<line x1=\"{x0}\" y1=\"{y:.1f}\" x2=\"{x1}\" y2=\"{y:.1f}\" stroke=\"#eee\"/>",
                  f"<text x=\"{x0 - 6}\" y=\"{y + 4:.1f}\" text-anchor=\"end\">{y_max * i / 5:.3g}</text>"]
    parts += [f"<text x=\"{(x0 + x1) / 2:.0f}\" y=\"{height - 8}\" text-anchor=\"middle\">{x_label}</text>",
              f"<text transform=\"translate(14 {(y0 + y1) / 2:.0f}) rotate(-90)\" text-anchor=\"middle\">"
              f"{y_label}</text>"]
    return parts


def _pair_bars(entries: list[Accepted], colours: Mapping[int, str]) -> str:
    """One small horizontal bar chart per model, pairs in one order and on one scale."""
    pairs = sorted({p for e in entries for p in e.report.per_pair})
    spans = {(id(e), p): bounds(e.draws.per_pair[p]["odmap@10"]) if p in e.draws.per_pair else None
             for e in entries for p in pairs}
    values = [v for e in entries for p in pairs if (v := e.report.per_pair.get(p, {}).get("odmap@10")) is not None]
    values += [s[1] for s in spans.values() if s is not None]
    scale = min(1.0, _nice_max(max(values, default=0) * 1.1, 0.05))
    label_w, bar_w, row_h, top = 150, 190, 18, 24
    height = top + row_h * len(pairs) + 22
    charts = []
    for e in entries:
        parts = [f"<text x=\"0\" y=\"14\" font-weight=\"600\">{html_text(_label(e), 60)}</text>"]
        for i, pair in enumerate(pairs):
            y = top + i * row_h
            value = e.report.per_pair.get(pair, {}).get("odmap@10")
            parts.append(f"<text x=\"{label_w - 6}\" y=\"{y + 13}\" text-anchor=\"end\">{html_text(pair, 24)}</text>")
            if value is None:
                parts.append(f"<text x=\"{label_w + 4}\" y=\"{y + 13}\">n/a</text>")
                continue
            w = bar_w * value / scale
            span = spans[(id(e), pair)]
            said = f"odmap@10 {value:.4f}" + (f" [{span[0]:.4f}, {span[1]:.4f}] (95%)" if span else "")
            parts.append(f"<rect class=\"bar\" x=\"{label_w}\" y=\"{y + 3}\" width=\"{w:.1f}\" height=\"{row_h - 6}\" "
                         f"fill=\"{colours[id(e)]}\"><title>{html_text(pair)}: {said}</title></rect>")
            end = w
            if span is not None:
                lo, hi = (label_w + bar_w * min(v, scale) / scale for v in span)
                parts.append(f"<line class=\"error-bar\" x1=\"{lo:.1f}\" y1=\"{y + row_h / 2:.1f}\" x2=\"{hi:.1f}\" "
                             f"y2=\"{y + row_h / 2:.1f}\" stroke=\"#222\" stroke-width=\"1.2\"/>")
                end = max(w, hi - label_w)
            parts.append(f"<text x=\"{label_w + end + 4:.1f}\" y=\"{y + 13}\">{value:.3f}</text>")
        axis_y = top + row_h * len(pairs) + 2
        parts.append(f"<line x1=\"{label_w}\" y1=\"{axis_y}\" x2=\"{label_w + bar_w}\" y2=\"{axis_y}\" stroke=\"#555\"/>"
                     f"<text x=\"{label_w}\" y=\"{axis_y + 14}\">0</text>"
                     f"<text x=\"{label_w + bar_w}\" y=\"{axis_y + 14}\" text-anchor=\"end\">{scale:g}</text>")
        w_total = label_w + bar_w + 60
        charts.append(f"<svg class=\"pair-bars\" width=\"{w_total}\" height=\"{height}\" "
                      f"viewBox=\"0 0 {w_total} {height}\" role=\"img\" aria-label=\"per-pair odmap@10 of "
                      f"{html_text(_label(e))}\">{''.join(parts)}</svg>")
    return "".join(charts)
