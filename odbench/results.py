"""Result documents (SPEC section 7): a typed object in code, JSON on disk.

`evaluate` returns a `ResultDocument`; `odbench-eval` writes it, `odbench validate` and the
leaderboard read it back. The on-disk contract stays the JSON Schema
(odbench/result.schema.json): `to_json()` is the document as stored, `from_json()` accepts only
what `validate` accepts, and `from_json(d).to_json() == d` for every valid `d`.
"""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import strict_json
from .errors import ResultError
from .escaping import one_line
from .files import write_atomic
from .rankings import Rankings, rankings_hash
from .result_schema import schema_problem

SCHEMA_VERSION = "2.1"     # 2.1: SPEC 9 intervals and retention@k; 2.0 documents stay valid

# What a result is summarised by: odbench-eval's table and leaderboard.md's columns.
HEADLINE_METRICS = ("odmap@10", "odmap_i2t@10", "odmap_t2i@10", "cmap@10", "gap@10", "retention@10", "hr@5",
                    "r_i2t@1", "r_t2i@1", "rsum")


class InvalidDocument(ResultError):
    """A document that breaks the contract; `reason` is `schema` or `rankings-hash`, the
    leaderboard's rejection reasons for it."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def validate(data: Any) -> None:
    """Raise InvalidDocument naming the first problem: a schema violation, then a rankings hash
    that is not the hash of the rankings."""
    problem = schema_problem(data)
    if problem is not None:
        raise InvalidDocument("schema", problem)
    actual = rankings_hash(data["rankings"])
    if actual != data["rankings_sha256"]:
        raise InvalidDocument("rankings-hash", f"rankings_sha256 is {data['rankings_sha256'][:12]}..., but the "
                                               f"rankings hash to {actual[:12]}...")


@dataclass(frozen=True)
class BenchmarkInfo:
    """The dataset a result was computed on."""

    name: str
    version: str
    revision: str | None
    spec_version: str
    caption_style: str
    dataset_hash: str
    source: str                       # the dataset as the user named it
    split: str | None = None          # optional in the schema (SPEC 9): absent means test


@dataclass(frozen=True)
class ModelInfo:
    """The model's identity (`LoadedEncoder.identity()`)."""

    spec: str
    args: dict[str, Any]
    name: str
    weights_hash: str | None
    num_parameters: int | None
    untrained: bool
    revision: str | None = None       # optional in the schema: the hub commit of an hf: model
    mteb: dict[str, Any] | None = None  # optional in the schema: MTEB's metadata of an mteb: model


@dataclass(frozen=True)
class RunInfo:
    """How the run was made: its settings and its facts (versions, date, wall time)."""

    odbench_version: str
    torch_version: str
    device: str
    precision: str
    batch_size: int
    seed: int
    date: str
    wall_time_s: float
    k: int
    num_workers: int | None = None    # optional in the schema: files of early versions lack it
    tied_queries: int | None = None   # optional, only when some ranked list is one tie (evaluate.count_tied)


@dataclass(frozen=True)
class ResultDocument:
    benchmark: BenchmarkInfo
    model: ModelInfo
    run: RunInfo
    metrics: dict[str, float | None]
    per_pair: dict[str, dict[str, float | int | None]]
    per_category: dict[str, dict[str, float | int | None]]
    query_counts: dict[str, int]
    rankings: Rankings
    rankings_sha256: str
    schema_version: str = SCHEMA_VERSION
    intervals: dict[str, Any] | None = None    # SPEC 9 (`odbench.intervals`); absent in 2.0 documents

    @classmethod
    def from_json(cls, data: Any) -> ResultDocument:
        """The document of parsed JSON; raises InvalidDocument unless `validate` accepts it."""
        validate(data)
        return cls(BenchmarkInfo(**data["benchmark"]), ModelInfo(**data["model"]), RunInfo(**data["run"]),
                   data["metrics"], data["per_pair"], data["per_category"], data["query_counts"],
                   data["rankings"], data["rankings_sha256"], data["schema_version"], data.get("intervals"))

    def to_json(self) -> dict[str, Any]:
        """The document as stored (a fresh copy of every part)."""
        data = dataclasses.asdict(self)
        for optional in ("num_workers", "tied_queries"):
            if data["run"][optional] is None:
                del data["run"][optional]
        for optional in ("revision", "mteb"):
            if data["model"][optional] is None:
                del data["model"][optional]
        if data["intervals"] is None:
            del data["intervals"]
        if data["benchmark"]["split"] is None:
            del data["benchmark"]["split"]
        return data

    def validate(self) -> None:
        validate(self.to_json())


def load(path: str | os.PathLike) -> ResultDocument:
    """Read (strictly: see odbench.strict_json) and validate a result document."""
    data = strict_json.read(path)
    try:
        return ResultDocument.from_json(data)
    except ResultError as exc:
        raise ResultError(f"{one_line(path)}: {exc}") from None


def dump(data: Any) -> str:
    """Stable text form of a JSON document: sorted keys, one level of indentation, trailing newline."""
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def save(doc: ResultDocument, path: str | os.PathLike, *, overwrite: bool = False, validated: bool = False) -> Path:
    """Validate (unless the caller just did: `validated`, as after `evaluate`), then write atomically."""
    data = doc.to_json()
    if not validated:
        validate(data)
    text = dump(data)
    if len(text.encode("utf-8")) > strict_json.MAX_BYTES:
        raise ResultError(f"the result would be {len(text.encode('utf-8')) / 2**20:.0f} MiB, over the "
                          f"{strict_json.MAX_BYTES / 2**20:.0f} MiB a result file may have; use a smaller --k")
    return write_atomic(path, text, overwrite=overwrite)
