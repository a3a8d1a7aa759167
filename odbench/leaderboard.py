"""Verify submissions and render the leaderboard (SPEC section 7).

The leaderboard never trusts a reported number: for every result document under
`submissions/` it finds the dataset by benchmark name and version, checks the dataset and
rankings hashes, recomputes every metric from the rankings with `compute_metrics`, and accepts
the file only if all reported values agree. A rejected file gets exactly one reason, one of
`REASONS`, so a contributor knows what to fix.

Identity is checked too, as far as it can be: two files with the same rankings are one result
listed twice, and with `reproduce` the models this repository can build by itself are re-run
from their spec (odbench.reproduce). Everything a file says reaches leaderboard.md and the CI
log only through odbench.escaping, and symbolic links are never followed.
"""
from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import reproduce, strict_json
from .benchmark import Benchmark
from .data import EMBEDDED_DIR, load_benchmark, read_manifest
from .errors import ODBenchError, ResultError
from .escaping import md_code, md_link, md_text, one_line
from .hashing import canonical_json
from .metrics import MetricReport, compute_metrics
from .queries import QuerySets, build_query_sets
from .rankings import RankingError
from .results import HEADLINE_METRICS, InvalidDocument, ResultDocument

TOLERANCE = 1e-6
DATASETS_FILE = "datasets.json"
LEADERBOARD_K = 10        # CONTRIBUTING: every ranked list holds the top 10

# Every way a submission can fail, in the order the checks run. The keys appear in messages,
# in leaderboard.md and in CONTRIBUTING.md; keep the three in step.
REASONS: dict[str, str] = {
    "symlink": "the path is a symbolic link (never followed)",
    "schema": "not strict JSON, too large, or violates odbench/result.schema.json",
    "rankings-hash": "rankings_sha256 is not the SHA-256 of the canonical rankings",
    "unknown-dataset": "no known dataset has the document's benchmark name and version",
    "dataset-unavailable": "the registered dataset could not be loaded, or is not what it was registered as",
    "dataset-hash": "benchmark.dataset_hash, spec_version or caption_style differs from the known dataset's",
    "missing-queries": "a ranking lacks queries of the dataset",
    "extra-queries": "a ranking has queries the dataset does not have",
    "wrong-length": "run.k is not 10, or a ranked list does not have min(10, gallery size) ids",
    "duplicate-id": "a ranked list names the same gallery id twice",
    "unknown-id": "a ranked list names an id that is not in the direction's gallery",
    "metric-mismatch": "a reported metric differs from the recomputed one by more than 1e-6",
    "duplicate-submission": "an earlier accepted file (by path) has the same model spec, args, weights_hash and dataset version",
    "duplicate-rankings": "an earlier accepted file (by path) has the same rankings hash on the same dataset version",
    "not-reproduced": "re-running the model from its spec gives other rankings or another model identity",
}


class Rejection(Exception):
    """Raised inside the checks; `reason` is a key of REASONS."""

    def __init__(self, reason: str, detail: str) -> None:
        assert reason in REASONS, reason
        super().__init__(detail)
        self.reason, self.detail = reason, detail


@dataclass(frozen=True)
class Accepted:
    path: Path
    shown: str                       # the path as printed (submissions/<...>.json)
    doc: ResultDocument
    report: MetricReport             # recomputed: the leaderboard shows these numbers

    @property
    def identity(self) -> tuple[str, ...]:
        """Same model on the same dataset version = same entry (SPEC 7: one row per model)."""
        m, b = self.doc.model, self.doc.benchmark
        return (b.name, b.version, m.spec, canonical_json(m.args), str(m.weights_hash))


@dataclass(frozen=True)
class Rejected:
    path: Path
    shown: str
    reason: str
    detail: str

    def line(self) -> str:
        return f"{one_line(self.shown)}: rejected ({self.reason}): {one_line(self.detail, 400)}"


@dataclass
class Outcome:
    accepted: list[Accepted] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


# ---------------------------------------------------------------- datasets

_KEY = r"[^@\s]+@\d+\.\d+\.\d+"    # NAME@VERSION, version in semver


def parse_source(text: str, base: Path | None = None) -> tuple[str, str | None]:
    """'path', 'org/repo' or 'org/repo@revision' -> (location, revision). A relative folder is
    taken relative to `base` (the folder of datasets.json) when it exists there."""
    if base is not None and not os.path.isabs(text) and (base / text).is_dir():
        return str(base / text), None
    if "@" in text and not Path(text).exists():
        location, revision = text.rsplit("@", 1)
        if location and revision:
            return location, revision
        raise ODBenchError(f"bad dataset source {text!r}: expected PATH, org/repo or org/repo@revision")
    return text, None


def parse_dataset_option(text: str) -> tuple[str, str]:
    """`--dataset NAME@VERSION=PATH` -> ("NAME@VERSION", "PATH")."""
    key, sep, source = text.partition("=")
    if not sep or not source or not re.fullmatch(_KEY, key):
        raise ODBenchError(f"--dataset expects NAME@VERSION=PATH (e.g. odbench-coco@1.0.0=data/odbench-coco), got {text!r}")
    return key, source


def read_datasets_file(path: Path) -> dict[str, str]:
    """The optional submissions/datasets.json: {"name@version": "path or org/repo@revision"}."""
    if path.is_symlink():
        raise ODBenchError(f"{one_line(path)} is a symbolic link; it must be a regular file (links are not followed)")
    try:
        data = strict_json.read(path, what="datasets file")
    except ResultError as exc:
        raise ODBenchError(f"{exc}") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ODBenchError(f"{path} must map \"name@version\" to a path or org/repo@revision string")
    bad = [key for key in data if not re.fullmatch(_KEY, key)]
    if bad:
        raise ODBenchError(f"{path}: key {bad[0]!r} is not NAME@VERSION (e.g. odbench-coco@1.0.0)")
    return data


class DatasetRegistry:
    """Known datasets by "name@version": embedded ones, then datasets.json, then --dataset
    (later sources win). Each is loaded, hash-verified and given its query sets once, on first
    use."""

    def __init__(self, sources: Mapping[str, tuple[str, str | None]] | None = None,
                 embedded_dir: Path = EMBEDDED_DIR) -> None:
        self._sources: dict[str, tuple[str, str | None]] = {}
        if embedded_dir.is_dir():
            for folder in sorted(p for p in embedded_dir.iterdir() if p.is_dir()):
                manifest = read_manifest(folder)   # only the one-row manifest config
                self._sources[f"{manifest['name']}@{manifest['version']}"] = (str(folder), None)
        self._sources.update(sources or {})
        self._loaded: dict[str, tuple[Benchmark, QuerySets] | Rejection] = {}

    def known(self) -> list[str]:
        return sorted(self._sources)

    def get(self, name: str, version: str) -> tuple[Benchmark, QuerySets]:
        key = f"{name}@{version}"
        if key not in self._sources:
            known = ", ".join(self.known()) or "none"
            raise Rejection("unknown-dataset", f"no known dataset is {key} (known: {known}); register it "
                            f"with --dataset {key}=PATH or in submissions/{DATASETS_FILE}")
        if key not in self._loaded:
            self._loaded[key] = self._load(key)
        value = self._loaded[key]
        if isinstance(value, Rejection):   # cached, so a broken dataset is loaded once
            raise value
        return value

    def _load(self, key: str) -> tuple[Benchmark, QuerySets] | Rejection:
        location, revision = self._sources[key]
        try:
            benchmark = load_benchmark(location, revision=revision)
            queries = build_query_sets(benchmark)
        except ODBenchError as exc:
            return Rejection("dataset-unavailable", f"{key} could not be loaded: {exc}")
        if f"{benchmark.name}@{benchmark.version}" != key:
            return Rejection("dataset-unavailable", f"{key} is registered as {location}, whose manifest "
                             f"says {benchmark.name}@{benchmark.version}")
        return benchmark, queries


# ---------------------------------------------------------------- checks

def _fmt(value: Any) -> str:
    return "null" if value is None else ("(absent)" if value is _ABSENT else repr(value))


_ABSENT = object()


def differences(reported: Any, recomputed: Any, where: str) -> list[str]:
    """Every leaf where the two trees differ: numbers by more than TOLERANCE, null only equals
    null, and a key present on one side only is a difference too."""
    if isinstance(reported, dict) and isinstance(recomputed, dict):
        out = []
        for key in sorted(set(reported) | set(recomputed)):
            out += differences(reported.get(key, _ABSENT), recomputed.get(key, _ABSENT), f"{where}.{key}")
        return out
    numbers = (int, float)
    if isinstance(reported, numbers) and isinstance(recomputed, numbers) \
            and not isinstance(reported, bool) and not isinstance(recomputed, bool):
        # `<=` is False for NaN, so a NaN never passes as equal
        same = abs(float(reported) - float(recomputed)) <= TOLERANCE
    else:
        same = reported is recomputed or (reported is not _ABSENT and reported == recomputed)
    return [] if same else [f"{where}: reported {_fmt(reported)}, recomputed {_fmt(recomputed)}"]


def check_document(data: Any, registry: DatasetRegistry) -> tuple[ResultDocument, MetricReport]:
    """Run every check on one parsed document; raise Rejection or return the typed document and
    the recomputed report."""
    try:
        doc = ResultDocument.from_json(data)
    except InvalidDocument as exc:     # its reason is `schema` or `rankings-hash`
        raise Rejection(exc.reason, str(exc)) from None
    b = doc.benchmark
    benchmark, queries = registry.get(b.name, b.version)
    if b.dataset_hash != benchmark.dataset_hash:
        raise Rejection("dataset-hash", f"dataset_hash {b.dataset_hash[:12]}... is not the hash of "
                        f"{benchmark.name}@{benchmark.version} ({benchmark.dataset_hash[:12]}...)")
    for key in ("spec_version", "caption_style"):
        if getattr(b, key) != getattr(benchmark, key):
            raise Rejection("dataset-hash", f"benchmark.{key} is {getattr(b, key)!r}, but "
                            f"{benchmark.name}@{benchmark.version} has {getattr(benchmark, key)!r}")
    if doc.run.k != LEADERBOARD_K:
        raise Rejection("wrong-length", f"run.k is {doc.run.k}; the leaderboard takes the top "
                        f"{LEADERBOARD_K} of every query (odbench-eval --k {LEADERBOARD_K})")
    try:
        report = compute_metrics(benchmark, queries, doc.rankings, list_length=doc.run.k)
    except RankingError as exc:   # its reason is one of REASONS
        raise Rejection(exc.reason, str(exc)) from None
    diffs: list[str] = []
    recomputed = report.as_dict()
    for part in ("metrics", "per_pair", "per_category", "query_counts"):
        diffs += differences(getattr(doc, part), recomputed[part], part)
    if diffs:
        more = f" (and {len(diffs) - 1} more)" if len(diffs) > 1 else ""
        raise Rejection("metric-mismatch", diffs[0] + more)
    return doc, report


def find_submissions(folder: Path) -> list[Path]:
    """Every *.json under `folder`, recursively, sorted by relative path (datasets.json
    excluded), without following links: a linked file or folder is listed itself, by name,
    so that `verify_all` rejects it instead of reading what it points to."""
    found = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        here = Path(root)
        found += [here / d for d in dirs if (here / d).is_symlink()]
        found += [here / f for f in files if f.endswith(".json") and here / f != folder / DATASETS_FILE]
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def read_submission(path: Path) -> Any:
    """The parsed document, or a Rejection; a link is rejected by name, never opened."""
    if path.is_symlink():
        raise Rejection("symlink", "is a symbolic link; submissions must be regular files in the "
                        "repository (links are not followed)")
    if not path.is_file():
        raise Rejection("schema", "is not a regular file")
    try:
        return strict_json.read(path)
    except strict_json.FileError as exc:
        raise Rejection("schema", exc.problem) from None


Reproducer = Callable[["Accepted", DatasetRegistry], None]


def verify_all(paths: Iterable[Path], registry: DatasetRegistry, *,
               shown: Mapping[Path, str] | None = None, reproducer: Reproducer | None = None) -> Outcome:
    """Check files in the given order; a later duplicate of an accepted file is rejected.
    `reproducer` (e.g. `reproduction_check(...)`) runs last, on files that passed the rest."""
    outcome = Outcome()
    first_of: dict[tuple[str, ...], str] = {}
    first_rankings: dict[tuple[str, ...], str] = {}
    for path in paths:
        name = (shown or {}).get(path, str(path))
        try:
            entry = Accepted(path, name, *check_document(read_submission(path), registry))
            doc, b = entry.doc, entry.doc.benchmark
            dataset = f"{b.name}@{b.version}"
            if entry.identity in first_of:
                raise Rejection("duplicate-submission", f"same model ({doc.model.spec}, same args "
                                f"and weights_hash) on {dataset} as the earlier {first_of[entry.identity]}")
            rankings_key = (b.name, b.version, doc.rankings_sha256)
            if rankings_key in first_rankings:
                raise Rejection("duplicate-rankings", f"same rankings (sha256 {doc.rankings_sha256[:12]}...) "
                                f"on {dataset} as the earlier {first_rankings[rankings_key]}: one result is "
                                f"listed once, under the model that produced it")
            if reproducer is not None:
                reproducer(entry, registry)
            first_of[entry.identity] = name
            first_rankings[rankings_key] = name
            outcome.accepted.append(entry)
        except Rejection as rej:
            outcome.rejected.append(Rejected(path, name, rej.reason, rej.detail))
    return outcome


def reproduction_check(max_parameters: int,
                       report: Callable[[str, str], None] = lambda shown, status: None) -> Reproducer:
    """A `reproducer` for `verify_all`: re-run each model this repository can build whose
    parameter count is at most `max_parameters`; `report(shown, status)` hears about each file."""
    def check(entry: Accepted, registry: DatasetRegistry) -> None:
        doc, b = entry.doc, entry.doc.benchmark
        why_not = reproduce.why_not_rebuildable(doc.model.spec, doc.model.args)
        if why_not is not None:
            report(entry.shown, f"not re-run: {why_not}")
            return
        claimed = doc.model.num_parameters
        if claimed is None:
            report(entry.shown, "not re-run: the file gives no parameter count")
            return
        if claimed > max_parameters:
            report(entry.shown, f"not re-run: {reproduce.parameter_text(claimed)} parameters, over the "
                                f"limit of {reproduce.parameter_text(max_parameters)} (--max-params)")
            return
        try:
            reproduce.rerun(doc, *registry.get(b.name, b.version))
        except reproduce.NotReproduced as exc:
            raise Rejection("not-reproduced", str(exc)) from None
        report(entry.shown, f"reproduced (rankings sha256 {doc.rankings_sha256[:12]}..., "
                            f"weights_hash {str(doc.model.weights_hash)[:12]})")
    return check


# ---------------------------------------------------------------- markdown

_CI_LIMIT = reproduce.parameter_text(reproduce.CI_MAX_PARAMETERS)
HEADER = f"""<!-- Generated by `odbench leaderboard`; do not edit. Regenerate with `odbench leaderboard`. -->
# ODBench leaderboard

This file is generated from the result files under `submissions/` by `odbench leaderboard`;
do not edit it by hand. After adding or changing a submission, regenerate it with
`odbench leaderboard` and commit both (CI runs `odbench leaderboard --check --reproduce`).
Every number is recomputed from the submitted rankings and the dataset; see CONTRIBUTING.md.

Ranked by ODmAP@10 (higher is better). gap@10 = cmap@10 - odmap@10 and hr@5 (hallucination
rate) are better when lower. Metrics are in [0, 1]; rsum is in percent (0 to 600).

**reproduced** says whether the model behind the numbers is checked too. `yes`: the
repository builds the model from its spec alone (a packaged reference model, an untrained
open_clip architecture, the mock encoder) and it has at most {_CI_LIMIT} parameters, so CI
re-runs it on every change and fails unless the rankings and weights hashes are identical.
`skipped`: buildable here but larger, so CI does not re-run it
(`odbench leaderboard --reproduce --max-params N` does). `no`: the model needs code or
weights from outside the repository; its numbers are verified, its identity is the
submitter's word.
"""


def _number(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    text = f"{value:.{digits}f}"
    return f"{0.0:.{digits}f}" if float(text) == 0 else text   # never "-0.0000"


def _date(text: str) -> str:
    try:
        return dt.datetime.fromisoformat(text).date().isoformat()
    except ValueError:
        return text[:10]


def _model(doc: ResultDocument) -> str:
    m = doc.model
    args = ", ".join(f"{k}={v}" for k, v in sorted(m.args.items()))
    return md_code(m.spec) + (f" ({md_text(args)})" if args else "") + (" (untrained)" if m.untrained else "")


def _link(path: Path, output_dir: Path, *, full: bool = False) -> str:
    """A markdown link from leaderboard.md to the file, relative so it works on GitHub. The
    path is made absolute without resolving links: a link's target is never shown."""
    rel = Path(os.path.relpath(os.path.abspath(path), os.path.abspath(output_dir))).as_posix()
    return md_link(rel if full else path.name, rel)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def render(outcome: Outcome, output_dir: Path) -> str:
    """The leaderboard as markdown: same outcome and paths -> same bytes."""
    groups: dict[tuple[str, str], list[Accepted]] = {}
    for entry in outcome.accepted:
        b = entry.doc.benchmark
        groups.setdefault((b.name, b.version), []).append(entry)
    lines = [HEADER]
    if not groups:
        lines.append("No accepted submissions yet.\n")
    # Benchmarks alphabetically, newest dataset version first within a benchmark.
    for name, version in sorted(groups, key=lambda g: (g[0], [-v for v in _version_key(g[1])])):
        entries = sorted(groups[(name, version)], key=lambda e: (
            -(e.report.metrics["odmap@10"] if e.report.metrics["odmap@10"] is not None else float("-inf")),
            e.doc.model.spec, e.shown))
        b = entries[0].doc.benchmark
        lines += [f"## {md_text(name)} v{md_text(version)}\n",
                  f"Dataset hash {md_code(b.dataset_hash[:16])}; SPEC v{md_text(b.spec_version)}, "
                  f"{md_text(b.caption_style)} captions.\n",
                  "| rank | model | params | reproduced | " + " | ".join(HEADLINE_METRICS) + " | date | submission |",
                  "|---:|---|---:|---|" + "---:|" * len(HEADLINE_METRICS) + "---|---|"]
        for rank, e in enumerate(entries, 1):
            m = e.report.metrics
            numbers = [_number(m.get(c), 2 if c == "rsum" else 4) for c in HEADLINE_METRICS]
            model = e.doc.model
            lines.append(f"| {rank} | {_model(e.doc)} | {reproduce.parameter_text(model.num_parameters)} | "
                         f"{reproduce.ci_status(model)} | " + " | ".join(numbers)
                         + f" | {md_text(_date(e.doc.run.date))} | {_link(e.path, output_dir)} |")
        lines.append("")
    lines.append("## Rejected submissions\n")
    if not outcome.rejected:
        lines.append("None.\n")
    for r in outcome.rejected:
        lines.append(f"- {_link(r.path, output_dir, full=True)} **{r.reason}**: {md_text(r.detail, 400)}")
    return "\n".join(lines).rstrip("\n") + "\n"
