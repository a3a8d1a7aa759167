"""Many models on one dataset, one result file each, resumable (`odbench sweep`).

A sweep is a list of models (`--model` strings with their `--model-arg`s) and an output folder.
Each model's result goes to `<folder>/<slug>.json`, written atomically when its evaluation ends;
`<folder>/sweep.json` records every model's state after each one (done, failed with its one-line
error). Run the same command again and finished models are skipped (their file loads, names
the same model and the same dataset), failed ones are retried (unless told not to), and an
interrupted one starts over: nothing of it was written.

The dataset is loaded, verified and its query sets built once for all models.
"""
from __future__ import annotations

import gc
import hashlib
import json
import os
import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import results, strict_json
from .benchmark import Benchmark
from .cache import EmbeddingCache
from .errors import EncoderError, ODBenchError, ResultError
from .escaping import one_line
from .files import write_atomic
from .queries import QuerySets
from .run_config import RunConfig

STATE_FILE = "sweep.json"
_ARG = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*", re.S)


class SweepError(ODBenchError):
    """A model list or an output folder that a sweep cannot use."""


@dataclass(frozen=True)
class SweepModel:
    """One model of a sweep: a --model string and its --model-arg values."""

    spec: str
    args: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.spec + "".join(f" {k}={v}" for k, v in sorted(self.args.items()))

    @property
    def slug(self) -> str:
        """The result file's stem: readable, and unique by a hash of the spec and arguments."""
        readable = re.sub(r"[^a-z0-9]+", "-", self.label.lower()).strip("-")[:80] or "model"
        digest = hashlib.sha256(json.dumps([self.spec, sorted(self.args.items())]).encode()).hexdigest()[:8]
        return f"{readable}-{digest}"


def parse_model_line(line: str, where: str) -> SweepModel | None:
    """`SPEC [KEY=VALUE ...]` (shell quoting; `#` starts a comment), or None for a blank line."""
    try:
        words = shlex.split(line, comments=True)
    except ValueError as exc:
        raise SweepError(f"{where}: {exc}") from None
    if not words:
        return None
    spec, rest = words[0], words[1:]
    bad = [w for w in rest if not _ARG.fullmatch(w)]
    if bad:
        raise SweepError(f"{where}: {one_line(bad[0])!r} is not KEY=VALUE (a line is: SPEC [KEY=VALUE ...])")
    args = dict(w.split("=", 1) for w in rest)
    if len(args) < len(rest):
        raise SweepError(f"{where}: an argument is given twice")
    return SweepModel(spec, args)


def read_models(path: str | os.PathLike) -> list[SweepModel]:
    """The models of a --models file: one `SPEC [KEY=VALUE ...]` per line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SweepError(f"--models {one_line(path)}: cannot read it ({type(exc).__name__})") from None
    models = [parse_model_line(line, f"{one_line(path)} line {n}") for n, line in enumerate(text.splitlines(), 1)]
    return [m for m in models if m is not None]


def model_list(files: Sequence[str], specs: Sequence[str]) -> list[SweepModel]:
    """The sweep's models: every --models file, then every --model; the same model twice is a
    mistake (it would be one result file)."""
    models = [m for f in files for m in read_models(f)] + [SweepModel(s.strip()) for s in specs]
    if not models:
        raise SweepError("no models: give --models FILE (one 'SPEC [KEY=VALUE ...]' per line) or --model SPEC")
    seen: dict[str, SweepModel] = {}
    for m in models:
        if m.slug in seen:
            raise SweepError(f"{one_line(m.label)} is listed twice")
        seen[m.slug] = m
    return models


@dataclass
class Outcome:
    model: SweepModel
    status: str                 # "done" (evaluated now), "skipped" (finished before), "failed"
    path: Path
    error: str | None = None
    doc: results.ResultDocument | None = None


def _one_line_error(exc: BaseException) -> str:
    if isinstance(exc, ODBenchError):
        return " ".join(str(exc).split())
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:400]


def _finished(model: SweepModel, path: Path, benchmark: Benchmark) -> results.ResultDocument | None:
    """The model's earlier result, if its file is a valid result of this model on this dataset."""
    if not path.is_file():
        return None
    try:
        doc = results.load(path)
    except ResultError:
        return None      # a broken file (written by hand?) is evaluated again
    same_model = doc.model.spec == model.spec and {k: str(v) for k, v in doc.model.args.items()} == model.args
    return doc if same_model and doc.benchmark.dataset_hash == benchmark.dataset_hash else None


class SweepState:
    """`sweep.json`: the dataset and each model's last outcome, rewritten after every model."""

    def __init__(self, folder: Path, benchmark: Benchmark) -> None:
        self.path = folder / STATE_FILE
        self.dataset = {"name": benchmark.name, "version": benchmark.version, "dataset_hash": benchmark.dataset_hash}
        self.models: dict[str, dict[str, Any]] = {}
        if self.path.is_file():
            try:
                data = strict_json.read(self.path)
                recorded, models = data["dataset"], dict(data["models"])
            except (ResultError, KeyError, TypeError, ValueError):
                raise SweepError(f"{one_line(self.path)} is not a sweep state file; use another --output-dir") from None
            if recorded.get("dataset_hash") != benchmark.dataset_hash:
                raise SweepError(f"{one_line(folder)} holds a sweep on {one_line(recorded.get('name'))} "
                                 f"v{one_line(recorded.get('version'))}, not on {benchmark.name} v{benchmark.version}; "
                                 f"use another --output-dir")
            self.models = models

    def failed_before(self, model: SweepModel) -> str | None:
        entry = self.models.get(model.slug) or {}
        return entry.get("error") if entry.get("status") == "failed" else None

    def record(self, outcome: Outcome) -> None:
        self.models[outcome.model.slug] = {"spec": outcome.model.spec, "args": outcome.model.args,
                                           "file": outcome.path.name,
                                           "status": "failed" if outcome.status == "failed" else "done",
                                           "error": outcome.error}
        text = json.dumps({"dataset": self.dataset, "models": self.models}, indent=1, sort_keys=True) + "\n"
        write_atomic(self.path, text, overwrite=True)


def _free_memory() -> None:
    """What one model left on the GPU must not make the next run out of memory."""
    gc.collect()
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def run_sweep(models: Sequence[SweepModel], folder: str | os.PathLike, benchmark: Benchmark, queries: QuerySets,
              config: RunConfig, *, dataset_source: str, cache: EmbeddingCache | None = None, draws: int,
              draw_seed: int, retry_failed: bool = True,
              report: Callable[[Outcome], None] = lambda outcome: None) -> list[Outcome]:
    """Evaluate every model not finished before, in order; a model's failure is recorded and the
    sweep goes on. `report` is called after each model. Ctrl-C stops the sweep: what finished
    stays finished."""
    from .evaluate import build_encoder, evaluate

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = SweepState(folder, benchmark)
    outcomes = []
    for model in models:
        path = folder / f"{model.slug}.json"
        earlier = _finished(model, path, benchmark)
        if earlier is not None:
            outcome = Outcome(model, "skipped", path, doc=earlier)
        elif not retry_failed and state.failed_before(model):
            outcome = Outcome(model, "failed", path, error=state.failed_before(model))
        else:
            try:
                loaded = build_encoder(model.spec, model.args, seed=config.seed)
                doc = evaluate(loaded, benchmark, queries, config, dataset_source=dataset_source, cache=cache,
                               draws=draws, draw_seed=draw_seed)
                results.save(doc, path, overwrite=True, validated=True)
                outcome = Outcome(model, "done", path, doc=doc)
            except SystemExit as exc:     # the model's code called exit(): a failure of that model
                outcome = Outcome(model, "failed", path, error=_one_line_error(
                    EncoderError(f"{model.spec} called exit({exc.code!r}) while it was built or run")))
            except Exception as exc:      # whatever one model does wrong, the next one still runs
                outcome = Outcome(model, "failed", path, error=_one_line_error(exc))
            finally:
                loaded = None
                _free_memory()
            state.record(outcome)
        outcomes.append(outcome)
        report(outcome)
    return outcomes
