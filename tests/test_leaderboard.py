"""The leaderboard: every number is recomputed, every bad submission rejected with its reason."""
from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import pytest

from odbench.cli.main import main as odbench
from odbench.data import load_benchmark
from odbench.leaderboard.checks import find_submissions, verify_all
from odbench.leaderboard.datasets import DatasetRegistry
from odbench.leaderboard.markdown import render
from odbench.leaderboard.rejection import REASONS
from odbench.rankings import rankings_hash
from odbench.results import dump

from fake_results import make_submission
from tiny_dataset import KEY, NAME, VERSION, write_tiny_dataset


@pytest.fixture(scope="session")
def tiny(loaded_tiny):
    return loaded_tiny


@pytest.fixture(scope="session")
def registry(dataset) -> DatasetRegistry:
    return DatasetRegistry({KEY: (str(dataset), None)})


@pytest.fixture(scope="session")
def valid(tiny) -> dict:
    return make_submission(tiny, seed=1)


def rehash(doc: dict) -> dict:
    """Tampering with the rankings and fixing their hash, so a later check has to catch it."""
    doc["rankings_sha256"] = rankings_hash(doc["rankings"])
    return doc


def _set(doc, path, value):
    *parents, last = path
    for key in parents:
        doc = doc[key]
    doc[last] = value


# One tampered copy of the valid submission per rejection reason.
TAMPER = {}


def tamper(reason: str):
    def register(func):
        TAMPER[reason] = func
        return func
    return register


@tamper("schema")
def _(d):
    del d["rankings_sha256"]


@tamper("split")
def _(d):
    d["benchmark"]["split"] = "validation"            # SPEC 9: validation is for choosing methods


@tamper("unknown-dataset")
def _(d):
    d["benchmark"]["version"] = "9.9.9"


@tamper("dataset-hash")
def _(d):
    d["benchmark"]["dataset_hash"] = "f" * 64


@tamper("rankings-hash")
def _(d):
    d["rankings"]["i2t"]["i1-no-frisbee"].reverse()      # rankings changed, hash left as it was


@tamper("missing-queries")
def _(d):
    del d["rankings"]["i2t"]["i1-no-person"]
    rehash(d)


@tamper("extra-queries")
def _(d):
    d["rankings"]["t2i"]["c4"] = ["i2", "i1", "i3"]      # c4 names no removed object: not a query
    rehash(d)


@tamper("wrong-length")
def _(d):
    d["rankings"]["std_t2i"]["c1"].pop()
    rehash(d)


@tamper("duplicate-id")
def _(d):
    ranked = d["rankings"]["i2t"]["i1-no-frisbee"]
    ranked[1] = ranked[0]
    rehash(d)


@tamper("unknown-id")
def _(d):
    d["rankings"]["t2i"]["c1"][0] = "i99"
    rehash(d)


@tamper("metric-mismatch")
def _(d):
    d["metrics"]["odmap@10"] += 0.01


@tamper("interval-mismatch")
def _(d):
    d["intervals"]["metrics"]["odmap@10"][1] += 0.01   # a narrower or wider claim than the data give


def tampered(valid: dict, reason: str) -> dict:
    doc = copy.deepcopy(valid)
    TAMPER[reason](doc)
    return doc


def verify(docs: dict[str, dict], folder: Path, registry: DatasetRegistry):
    """Write `docs` as files (by name) and verify them in path order."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, doc in docs.items():
        (folder / name).write_text(dump(doc) if isinstance(doc, dict) else doc, encoding="utf-8")
    return verify_all(find_submissions(folder), registry)


def test_valid_submission_is_accepted_with_recomputed_numbers(valid, registry, tmp_path):
    outcome = verify({"model.json": valid}, tmp_path, registry)
    assert outcome.rejected == []
    [entry] = outcome.accepted
    assert entry.report.metrics == valid["metrics"]


@pytest.mark.parametrize("reason", sorted(TAMPER))
def test_each_tampered_copy_is_rejected_with_its_own_reason(valid, registry, tmp_path, reason):
    outcome = verify({"model.json": tampered(valid, reason)}, tmp_path, registry)
    assert outcome.accepted == []
    [rejected] = outcome.rejected
    assert rejected.reason == reason, rejected.line()
    line = rejected.line()
    assert line.startswith(f"{tmp_path / 'model.json'}: rejected ({reason}): ") and "\n" not in line


def test_not_json_is_a_schema_rejection(registry, tmp_path):
    [rejected] = verify({"broken.json": "{not json"}, tmp_path, registry).rejected
    assert rejected.reason == "schema" and "not valid JSON" in rejected.detail


@pytest.mark.parametrize("part, path, value, expected", [
    ("metrics", ["metrics", "odmap@10"], 0.5, "metrics.odmap@10: reported 0.5, recomputed "),
    ("per_pair", ["per_pair", "dog+frisbee", "odmap_i2t@10"], None, "per_pair.dog+frisbee.odmap_i2t@10: reported null"),
    ("per_category", ["per_category", "person", "n_i2t"], 7, "per_category.person.n_i2t: reported 7, recomputed 1"),
    ("query_counts", ["query_counts", "hr"], 3, "query_counts.hr: reported 3, recomputed 2"),
])
def test_metric_mismatch_names_the_metric_and_both_values(valid, registry, tmp_path, part, path, value, expected):
    doc = copy.deepcopy(valid)
    _set(doc, path, value)
    [rejected] = verify({"model.json": doc}, tmp_path, registry).rejected
    assert rejected.reason == "metric-mismatch" and rejected.detail.startswith(expected), rejected.detail


def test_differences_below_tolerance_are_accepted(valid, registry, tmp_path):
    doc = copy.deepcopy(valid)
    doc["metrics"]["odmap@10"] += 5e-7
    assert verify({"model.json": doc}, tmp_path, registry).rejected == []


def test_a_later_duplicate_is_rejected_naming_the_earlier_file(valid, registry, tmp_path):
    outcome = verify({"a.json": valid, "b.json": valid}, tmp_path, registry)
    assert [e.path.name for e in outcome.accepted] == ["a.json"]
    [rejected] = outcome.rejected
    assert rejected.reason == "duplicate-submission" and str(tmp_path / "a.json") in rejected.detail


def test_an_exhaustive_dataset_is_recomputed_with_its_own_relevance(tmp_path):
    # The leaderboard scores each dataset with the caption style its (hashed) manifest declares.
    write_tiny_dataset(tmp_path / "exh", style="exhaustive", version="0.0.2")
    benchmark = load_benchmark(tmp_path / "exh")
    registry = DatasetRegistry({f"{NAME}@0.0.2": (str(tmp_path / "exh"), None)})
    doc = make_submission(benchmark, seed=3)
    assert "c1-no-frisbee" in doc["rankings"]["t2i"]           # edited captions are the t2i queries
    outcome = verify({"model.json": doc}, tmp_path / "subs", registry)
    assert outcome.rejected == [] and outcome.accepted[0].report.metrics == doc["metrics"]
    lying = copy.deepcopy(doc)
    lying["benchmark"]["caption_style"] = "partial"
    [rejected] = verify({"model.json": lying}, tmp_path / "subs2", registry).rejected
    assert rejected.reason == "dataset-hash" and "caption_style is 'partial'" in rejected.detail


def test_every_ranking_problem_is_a_rejection_reason():
    from odbench.rankings import RankingError

    assert set(RankingError.REASONS) <= set(REASONS)


def test_every_reason_is_tested():
    # the others have tests of their own below, in test_leaderboard_trust.py and (issue #20's)
    # in test_leaderboard_tiers.py
    assert set(REASONS) - set(TAMPER) == {"dataset-unavailable", "duplicate-submission", "duplicate-rankings",
                                          "symlink", "not-reproduced", "near-duplicate", "oracle-like",
                                          "future-date"}


def test_a_dataset_registered_under_the_wrong_version_is_unavailable(valid, dataset, tmp_path):
    doc = tampered(valid, "unknown-dataset")        # claims version 9.9.9
    registry = DatasetRegistry({f"{NAME}@9.9.9": (str(dataset), None)})
    [rejected] = verify({"model.json": doc}, tmp_path, registry).rejected
    assert rejected.reason == "dataset-unavailable" and "manifest says odbench-tiny@0.0.1" in rejected.detail


# ---------------------------------------------------------------- the markdown and the CLI

@pytest.fixture
def repo(tmp_path, monkeypatch, tiny, dataset) -> Path:
    """A repository checkout: submissions/ with two models, one bad file, and datasets.json."""
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "submissions" / NAME
    folder.mkdir(parents=True)
    (folder / "good.json").write_text(dump(make_submission(tiny, seed=1)))
    (folder / "better.json").write_text(dump(make_submission(tiny, seed=7, spec="my_encoder.py:MyEncoder",
                                                             untrained=False, num_parameters=None)))
    (folder / "tampered.json").write_text(dump(tampered(make_submission(tiny, seed=3), "metric-mismatch")))
    (tmp_path / "submissions" / "datasets.json").write_text(json.dumps({KEY: str(dataset)}))
    return tmp_path


def test_leaderboard_markdown(repo, capsys):
    assert odbench(["leaderboard"]) == 0
    text = (repo / "leaderboard.md").read_text()
    print(text)
    assert "`odbench leaderboard`" in text.splitlines()[0]
    assert f"## {NAME} v{VERSION}" in text
    ranked, unranked = text.split(f"### Self-reported on {NAME} v{VERSION} (unranked)")
    rows = [line for line in ranked.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) == 1 and rows[0].startswith("| 1 |")      # better.json is self-reported: unranked
    assert "| `my_encoder.py:MyEncoder` (seed=7) | n/a | no | self-reported |" in unranked
    assert "`mock:random` (seed=1) (untrained) | 1.2M |" in text
    assert "[good.json](submissions/odbench-tiny/good.json)" in text and "| 2024-05-01 |" in text
    assert "[submissions/odbench-tiny/tampered.json](submissions/odbench-tiny/tampered.json) **metric-mismatch**" in text
    err = capsys.readouterr().err
    assert err.count("rejected (metric-mismatch)") == 1


def test_leaderboard_is_deterministic(repo):
    assert odbench(["leaderboard", "--output", "a.md"]) == 0
    assert odbench(["leaderboard", "--output", "b.md"]) == 0
    assert (repo / "a.md").read_bytes() == (repo / "b.md").read_bytes()


def test_render_orders_by_odmap_then_spec(valid, registry, tmp_path):
    outcome = verify({"x.json": valid}, tmp_path, registry)
    [entry] = outcome.accepted
    other = dataclasses.replace(entry.doc, model=dataclasses.replace(entry.doc.model, spec="mock:pil"))
    # same numbers, earlier spec: ranked first (as a file it would be a duplicate-rankings
    # rejection; render only orders what it gets)
    outcome.accepted.append(dataclasses.replace(entry, path=tmp_path / "y.json", shown="y.json", doc=other))
    text = render(outcome, tmp_path)
    assert text.index("`mock:pil`") < text.index("`mock:random`")


def test_check_passes_on_a_fresh_leaderboard_and_writes_nothing(repo, capsys):
    (repo / "submissions" / NAME / "tampered.json").unlink()
    assert odbench(["leaderboard"]) == 0
    before = (repo / "leaderboard.md").stat().st_mtime_ns
    assert odbench(["leaderboard", "--check"]) == 0
    assert (repo / "leaderboard.md").stat().st_mtime_ns == before
    assert "check passed: 2 accepted, 0 rejected" in capsys.readouterr().out


def test_check_fails_when_a_committed_number_changes(repo, capsys):
    (repo / "submissions" / NAME / "tampered.json").unlink()
    assert odbench(["leaderboard"]) == 0
    path = repo / "submissions" / NAME / "good.json"
    doc = json.loads(path.read_text())
    doc["metrics"]["rsum"] += 1.0
    path.write_text(dump(doc))
    capsys.readouterr()
    assert odbench(["leaderboard", "--check"]) == 1
    err = capsys.readouterr().err
    assert "submissions/odbench-tiny/good.json: rejected (metric-mismatch): metrics.rsum: reported " in err


def test_check_fails_when_leaderboard_is_stale(repo, capsys):
    (repo / "submissions" / NAME / "tampered.json").unlink()
    assert odbench(["leaderboard"]) == 0
    (repo / "submissions" / NAME / "better.json").unlink()     # a submission was removed
    capsys.readouterr()
    assert odbench(["leaderboard", "--check"]) == 1
    err = capsys.readouterr().err
    assert "leaderboard.md is out of date (+" in err and "run `odbench leaderboard`" in err


def test_check_fails_on_rejections_and_on_a_missing_leaderboard(repo):
    assert odbench(["leaderboard", "--check"]) == 1
    assert not (repo / "leaderboard.md").exists()


def test_no_submissions_yet(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "submissions").mkdir()
    assert odbench(["leaderboard"]) == 0
    assert "No accepted submissions yet." in (tmp_path / "leaderboard.md").read_text()


@pytest.mark.parametrize("argv, message", [
    (["leaderboard", "--submissions", "nowhere"], "error: submissions folder not found: nowhere"),
    (["leaderboard", "--dataset", "odbench-tiny=data"], "error: --dataset expects NAME@VERSION=PATH"),
])
def test_cli_errors_are_one_line(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "submissions").mkdir()
    assert odbench(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


def test_bad_datasets_json_is_a_one_line_error(repo, capsys):
    (repo / "submissions" / "datasets.json").write_text("[1, 2]")
    assert odbench(["leaderboard"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: submissions/datasets.json must map") and err.count("\n") == 1


def test_dataset_option_overrides_datasets_json(repo, dataset):
    (repo / "submissions" / "datasets.json").write_text(json.dumps({KEY: "no/such-repo@v0"}))
    assert odbench(["leaderboard", "--dataset", f"{KEY}={dataset}"]) == 0
    assert "## Rejected submissions" in (repo / "leaderboard.md").read_text()
