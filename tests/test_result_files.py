"""Reading result documents: strict JSON, bounded size, enforced formats, one clear line each.

Every case runs `odbench validate` in a fresh process, as a user (or CI) does, on a copy of a
valid document with one thing wrong.
"""
from __future__ import annotations

import copy
import dataclasses
import json

import pytest

from odbench.results import InvalidDocument, ResultDocument, dump, load, save

from console import assert_one_line_error, run_console
from fake_results import make_submission


@pytest.fixture(scope="module")
def valid(loaded_tiny) -> dict:
    return make_submission(loaded_tiny, seed=1)


def _set(doc: dict, dotted: str, value) -> dict:
    *parents, last = dotted.split("/")
    target = doc
    for key in parents:
        target = target[key]
    target[last] = value
    return doc


def _nan_metric(doc):          # json.dumps writes NaN, Python's json.loads reads it back
    return json.dumps(_set(doc, "metrics/odmap@10", float("nan")))


def _duplicate_metrics(doc):   # a first, fake "metrics" that a reader sees, a second the checks see
    text = dump(doc)
    fake = json.dumps({**doc["metrics"], "odmap@10": 0.99})
    return text.replace('"metrics": {', f'"metrics": {fake}, "metrics": {{', 1)


@pytest.mark.parametrize("name, make, message", [
    ("nan", _nan_metric, "NaN is not a JSON number (metrics must be finite)"),
    ("infinity", lambda d: dump(d).replace('"wall_time_s": 1.0', '"wall_time_s": 1e400'),
     "number 1e400 is out of range (metrics must be finite)"),
    ("duplicate-key", _duplicate_metrics, "duplicate key 'metrics' in one object"),
    ("deep", lambda d: "[" * 100_000 + "]" * 100_000, "nested deeper than 16 levels"),
    ("long-int", lambda d: dump(d).replace('"seed": 0', '"seed": ' + "9" * 5001), "an integer of 5001 digits"),
    ("date", lambda d: dump(_set(d, "run/date", "yesterday-ish")),
     "schema violation at /run/date: is not a valid date-time"),
    ("k", lambda d: dump(_set(d, "run/k", 100_000)), "schema violation at /run/k: must be <= 100"),
    ("spec", lambda d: dump(_set(d, "model/spec", "x\n## pwned\n<img src=x onerror=alert(1)>")),
     "schema violation at /model/spec: must be one line of printable characters"),
    ("spec-length", lambda d: dump(_set(d, "model/spec", "m" * 201)),
     "schema violation at /model/spec: must have at most 200 characters"),
    ("args-key", lambda d: dump(_set(d, "model/args", {"not a name": "1"})),
     "schema violation at /model/args: has a key that breaks the rule"),
    ("args-value", lambda d: dump(_set(d, "model/args", {"dim": {"inner": [1]}})),
     "schema violation at /model/args/dim: must be a string, a number, true or false, null"),
])
def test_each_malformed_document_is_one_line(valid, tmp_path, name, make, message):
    path = tmp_path / f"{name}.json"
    path.write_text(make(copy.deepcopy(valid)), encoding="utf-8")
    err = assert_one_line_error(run_console("odbench", "validate", path), message)
    # Never the document's content: the bad values stay out of the message.
    for content in ("yesterday", "pwned", "onerror", "inner", "99999"):
        assert content not in err


def test_a_file_over_the_size_limit_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.json"
    with open(path, "wb") as f:
        f.truncate(101 * 2**20)        # sparse: 101 MiB on paper, nothing on disk
    assert_one_line_error(run_console("odbench", "validate", path), "is 101.0 MiB, over the 100 MiB")


def test_validate_a_folder_says_it_is_a_folder(tmp_path):
    assert_one_line_error(run_console("odbench", "validate", tmp_path),
                          f"{tmp_path}: is a folder, not a result file (pass the JSON files in it)")


def test_validate_accepts_the_valid_document(valid, tmp_path):
    path = tmp_path / "ok.json"
    path.write_text(dump(valid))
    proc = run_console("odbench", "validate", path)
    assert proc.returncode == 0 and proc.stderr == "" and ": valid (mock:random" in proc.stdout


# ---- the typed document: what code reads, while the JSON Schema stays the file format ----------

def test_the_typed_document_round_trips_a_file_exactly(valid, tmp_path):
    doc = ResultDocument.from_json(copy.deepcopy(valid))
    assert (doc.benchmark.name, doc.model.spec, doc.run.k) == ("odbench-tiny", "mock:random", 10)
    assert doc.metrics["odmap@10"] == valid["metrics"]["odmap@10"]
    assert doc.to_json() == valid
    path = tmp_path / "saved.json"
    save(doc, path)
    assert path.read_text(encoding="utf-8") == dump(valid) and load(path) == doc
    # run.num_workers is optional in the schema (this file has none): present or not, it round-trips
    assert "num_workers" not in valid["run"]
    newer = _set(copy.deepcopy(valid), "run/num_workers", 2)
    assert ResultDocument.from_json(newer).run.num_workers == 2
    assert ResultDocument.from_json(newer).to_json() == newer


def test_the_typed_document_accepts_only_what_the_schema_accepts(valid):
    broken = _set(copy.deepcopy(valid), "run/k", 9)
    with pytest.raises(InvalidDocument, match="schema violation at /run/k: must be >= 10") as raised:
        ResultDocument.from_json(broken)
    assert raised.value.reason == "schema"
    edited = _set(copy.deepcopy(valid), "rankings_sha256", "0" * 64)
    with pytest.raises(InvalidDocument, match="but the rankings hash to") as raised:
        ResultDocument.from_json(edited)
    assert raised.value.reason == "rankings-hash"
    doc = dataclasses.replace(ResultDocument.from_json(valid), rankings_sha256="0" * 64)
    with pytest.raises(InvalidDocument):
        doc.validate()


def test_rankings_are_checked_as_the_schema_says_without_jsonschema_over_every_list():
    from pathlib import Path

    from odbench.result_schema import _schema_problem, schema_problem

    submissions = Path(__file__).resolve().parents[1] / "submissions"
    doc = json.loads(next(submissions.rglob("*.json")).read_text())
    assert schema_problem(doc) is None
    query = next(iter(doc["rankings"]["i2t"]))
    for bad, where, rule in [("id", f"/rankings/i2t/{query}", "must be an array"),
                             (["ok", 3], f"/rankings/i2t/{query}/1", "must be a string")]:
        broken = {**doc, "rankings": {**doc["rankings"], "i2t": {**doc["rankings"]["i2t"], query: bad}}}
        assert schema_problem(broken) == f"schema violation at {where}: {rule}"
        assert schema_problem(broken) == _schema_problem(broken)     # what jsonschema says of it
    assert "lacks the required field 't2i'" in schema_problem({**doc, "rankings": {"i2t": {}}})
    assert "must be an object" in schema_problem({**doc, "rankings": {**doc["rankings"], "t2i": []}})


# ---- validate recomputes what it can, and checks every file -----------------------------------

def test_validate_recomputes_the_metrics_from_the_source_folder(valid, dataset, tmp_path):
    path = tmp_path / "ok.json"
    path.write_text(dump(_set(copy.deepcopy(valid), "benchmark/source", str(dataset))))
    proc = run_console("odbench", "validate", path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.endswith("; checked: JSON, schema, rankings hash, and every metric and interval recomputed "
                                "from the rankings on odbench-tiny@0.0.1\n")


def test_validate_refuses_a_hand_edited_headline_metric(valid, dataset, tmp_path):
    path = tmp_path / "edited.json"
    edited = _set(copy.deepcopy(valid), "metrics/odmap@10", 0.99)
    path.write_text(dump(edited))
    proc = run_console("odbench", "validate", path, "--dataset", f"odbench-tiny@0.0.1={dataset}")
    assert_one_line_error(proc, f"error: {path}: metric-mismatch: metrics.odmap@10: "
                                f"reported 0.99, recomputed {valid['metrics']['odmap@10']!r}")


def test_validate_says_what_it_could_not_check(valid, tmp_path):
    path = tmp_path / "elsewhere.json"
    path.write_text(dump(valid))      # source "odbench-tiny": no folder, and no --dataset
    proc = run_console("odbench", "validate", path)
    assert proc.returncode == 0 and proc.stdout.endswith(
        "; checked: JSON, schema, rankings hash; not checked: the metrics and intervals (odbench-tiny@0.0.1 "
        "cannot be loaded here: pass --dataset odbench-tiny@0.0.1=PATH)\n")


def test_validate_checks_every_file_and_fails_if_any_fails(valid, tmp_path):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(dump(valid))
    bad.write_text("{")
    proc = run_console("odbench", "validate", bad, tmp_path / "missing.json", good, "/dev/zero")
    assert proc.returncode == 2
    assert [line.split(": ")[1] for line in proc.stderr.splitlines()] == [str(bad), str(tmp_path / "missing.json"),
                                                                         "/dev/zero"]
    assert "/dev/zero: is not a regular file, so not a result file" in proc.stderr
    assert proc.stdout.startswith(f"{good}: valid (")


def test_validate_refuses_a_hand_edited_interval(valid, dataset, tmp_path):
    path = tmp_path / "edited.json"
    edited = copy.deepcopy(valid)
    edited["intervals"]["metrics"]["odmap@10"] = [0.0, 1.0]
    path.write_text(dump(edited))
    proc = run_console("odbench", "validate", path, "--dataset", f"odbench-tiny@0.0.1={dataset}")
    assert_one_line_error(proc, f"error: {path}: interval-mismatch: intervals.metrics.odmap@10")
