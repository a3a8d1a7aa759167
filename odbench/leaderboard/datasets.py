"""The datasets a submission may name, by "name@version": the embedded ones, those listed in
submissions/datasets.json and those given with --dataset NAME@VERSION=PATH."""
from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from .. import strict_json
from ..benchmark import Benchmark
from ..data import EMBEDDED_DIR, load_benchmark, read_manifest
from ..errors import ODBenchError, ResultError
from ..escaping import one_line
from ..queries import QuerySets, build_query_sets
from ..registry import Registry
from .rejection import Rejection

DATASETS_FILE = "datasets.json"
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
        self._sources: Registry[tuple[str, str | None]] = Registry("dataset")   # -> (location, revision)
        if embedded_dir.is_dir():
            for folder in sorted(p for p in embedded_dir.iterdir() if p.is_dir()):
                manifest = read_manifest(folder)   # only the one-row manifest config
                self._sources.register(f"{manifest['name']}@{manifest['version']}", (str(folder), None))
                # Earlier versions with this test split (SPEC 9: a version that only adds a
                # validation split keeps the dataset hash): their results are checked on it.
                for version in manifest.get("same_test_split_as") or []:
                    self._sources.register(f"{manifest['name']}@{version}", (str(folder), None))
        for key, source in (sources or {}).items():
            self._sources.register(key, source, replace=True)
        self._loaded: dict[str, tuple[Benchmark, QuerySets] | Rejection] = {}

    @classmethod
    def of_submissions(cls, folder: Path, options: Sequence[str] = ()) -> DatasetRegistry:
        """The datasets a submissions folder may name: the embedded ones, those of its
        datasets.json (paths relative to the folder), then `--dataset NAME@VERSION=PATH` options."""
        sources = {}
        listed = folder / DATASETS_FILE
        if listed.is_file() or listed.is_symlink():   # read_datasets_file refuses a link, by name
            for key, text in read_datasets_file(listed).items():
                sources[key] = parse_source(text, base=folder)
        for option in options:
            key, text = parse_dataset_option(option)
            sources[key] = parse_source(text)
        return cls(sources)

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
        location, revision = self._sources.get(key)
        try:
            benchmark = load_benchmark(location, revision=revision)
            queries = build_query_sets(benchmark)
        except ODBenchError as exc:
            return Rejection("dataset-unavailable", f"{key} could not be loaded: {exc}")
        version = key.rsplit("@", 1)[1]
        if version != benchmark.version and version in (benchmark.manifest.get("same_test_split_as") or []):
            # The same test data under the earlier version's name; its documents carry that
            # version's dataset hash, which check_document compares with this one.
            benchmark = dataclasses.replace(benchmark, version=version)
        if f"{benchmark.name}@{benchmark.version}" != key:
            return Rejection("dataset-unavailable", f"{key} is registered as {location}, whose manifest "
                             f"says {benchmark.name}@{benchmark.version}")
        return benchmark, queries
