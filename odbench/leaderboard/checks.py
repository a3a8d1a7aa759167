"""Checking submissions: each file is read (never through a link), checked against its dataset
and recomputed; then duplicates are refused and, on request, the model is re-run."""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import reproduce, strict_json
from ..benchmark import Benchmark
from ..dataset_format import TEST
from ..escaping import one_line
from ..hashing import canonical_json
from ..intervals import DEFAULT_DRAWS, DEFAULT_SEED, DrawValues, draw_values, interval_report, source_counts
from ..metrics import MetricReport, query_scores, report_of
from ..queries import QuerySets
from ..rankings import RankingError
from ..results import InvalidDocument, ResultDocument
from .datasets import DATASETS_FILE, DatasetRegistry
from .rejection import Rejection
from .tiers import check_trust

TOLERANCE = 1e-6
LEADERBOARD_K = 10        # CONTRIBUTING: every ranked list holds the top 10


@dataclass(frozen=True)
class Accepted:
    path: Path
    shown: str                       # the path as printed (submissions/<...>.json)
    doc: ResultDocument
    report: MetricReport             # recomputed: the leaderboard shows these numbers
    draws: DrawValues                # recomputed on SPEC 9's draws (1000, seed 0): intervals and rank intervals

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
    if isinstance(reported, list) and isinstance(recomputed, list) and len(reported) == len(recomputed):
        return [d for i, (a, b) in enumerate(zip(reported, recomputed, strict=True))
                for d in differences(a, b, f"{where}[{i}]")]
    numbers = (int, float)
    if isinstance(reported, numbers) and isinstance(recomputed, numbers) \
            and not isinstance(reported, bool) and not isinstance(recomputed, bool):
        # `<=` is False for NaN, so a NaN never passes as equal
        same = abs(float(reported) - float(recomputed)) <= TOLERANCE
    else:
        same = reported is recomputed or (reported is not _ABSENT and reported == recomputed)
    return [] if same else [f"{where}: reported {_fmt(reported)}, recomputed {_fmt(recomputed)}"]


def _counts(benchmark: Benchmark, draws: int, seed: int) -> np.ndarray:
    return source_counts(len(benchmark.sources), draws, seed)


def check_document(data: Any, registry: DatasetRegistry) -> tuple[ResultDocument, MetricReport, DrawValues]:
    """Run every check on one parsed document; raise Rejection or return the typed document, the
    recomputed report and its values on SPEC 9's default draws."""
    try:
        doc = ResultDocument.from_json(data)
    except InvalidDocument as exc:     # its reason is `schema` or `rankings-hash`
        raise Rejection(exc.reason, str(exc)) from None
    b = doc.benchmark
    if b.split not in (None, TEST):
        raise Rejection("split", f"scored on the {b.split} split; the leaderboard ranks test results only "
                        f"(validation is for choosing methods)")
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
    report, values = recompute(doc, benchmark, queries)
    return doc, report, values


def recompute(doc: ResultDocument, benchmark: Benchmark, queries: QuerySets) -> tuple[MetricReport, DrawValues]:
    """Recompute a document's metrics (and its intervals, when it has them) from its rankings on
    `benchmark`; raise Rejection (`metric-mismatch`, `interval-mismatch` or a ranking problem)
    on any difference. Returns the report and its values on SPEC 9's default draws (also
    `odbench validate`'s check)."""
    try:
        scores = query_scores(benchmark, queries, doc.rankings, list_length=doc.run.k)
    except RankingError as exc:   # its reason is one of REASONS
        raise Rejection(exc.reason, str(exc)) from None
    report = report_of(scores)
    recomputed = report.as_dict()
    if doc.schema_version == "2.0":   # retention@k came with 2.1; a 2.0 file does not report it
        recomputed["metrics"] = {k: v for k, v in recomputed["metrics"].items() if not k.startswith("retention@")}
    _raise_differences("metric-mismatch", [d for part in ("metrics", "per_pair", "per_category", "query_counts")
                                           for d in differences(getattr(doc, part), recomputed[part], part)])
    values = draw_values(scores, _counts(benchmark, DEFAULT_DRAWS, DEFAULT_SEED))
    if doc.intervals is not None:
        draws, seed = doc.intervals["draws"], doc.intervals["seed"]
        own = values if (draws, seed) == (DEFAULT_DRAWS, DEFAULT_SEED) else \
            draw_values(scores, _counts(benchmark, draws, seed), seed=seed)
        _raise_differences("interval-mismatch",
                           differences(doc.intervals, interval_report(own, report.metrics).as_dict(), "intervals"))
    return report, values


def _raise_differences(reason: str, diffs: list[str]) -> None:
    if diffs:
        more = f" (and {len(diffs) - 1} more)" if len(diffs) > 1 else ""
        raise Rejection(reason, diffs[0] + more)


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
            check_trust(doc, entry.report, *registry.get(b.name, b.version),
                        earlier=[(e.shown, e.doc) for e in outcome.accepted])   # tiers.py
            if reproducer is not None:
                reproducer(entry, registry)
            first_of[entry.identity] = name
            first_rankings[rankings_key] = name
            outcome.accepted.append(entry)
        except Rejection as rej:
            outcome.rejected.append(Rejected(path, name, rej.reason, rej.detail))
    return outcome


def reproduction_check(max_parameters: int,
                       report: Callable[[str, str], None] = lambda shown, status: None, *,
                       allow_download: bool = False) -> Reproducer:
    """A `reproducer` for `verify_all`: re-run each model this repository can build whose
    parameter count is at most `max_parameters` (with `allow_download`, also public weights at
    a fixed revision: `reproduce.public_weights`); `report(shown, status)` hears about each file."""
    def check(entry: Accepted, registry: DatasetRegistry) -> None:
        doc, b = entry.doc, entry.doc.benchmark
        why_not = reproduce.why_not_rebuildable(doc.model.spec, doc.model.args, allow_download=allow_download)
        if why_not is not None and not allow_download and reproduce.public_weights(
                doc.model.spec, doc.model.args) is None:
            why_not += " (public weights at a fixed revision: --allow-download re-runs it)"
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
            reproduce.rerun(doc, *registry.get(b.name, b.version), allow_download=allow_download)
        except reproduce.NotReproduced as exc:
            raise Rejection("not-reproduced", str(exc)) from None
        report(entry.shown, f"reproduced (rankings sha256 {doc.rankings_sha256[:12]}..., "
                            f"weights_hash {str(doc.model.weights_hash)[:12]})")
    return check
