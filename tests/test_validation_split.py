"""The validation split (SPEC 9): loaded and verified like test, scored with `--split
validation`, checked by check-benchmark, and refused by the leaderboard."""
from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datasets import load_dataset

import odbench
from odbench import results
from odbench.cli.eval import main as odbench_eval
from odbench.cli.main import main as odbench_cli
from odbench.data import load_benchmark, read_manifest
from odbench.errors import DatasetError
from odbench.leaderboard.checks import find_submissions, verify_all
from odbench.leaderboard.datasets import DatasetRegistry
from odbench.results import dump

from fake_results import make_submission
from tiny_dataset import KEY, write_tiny_dataset

REFUSAL = ("scored on the validation split; the leaderboard ranks test results only "
           "(validation is for choosing methods)")


@pytest.fixture(scope="module")
def two_splits(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-val") / "tiny"
    write_tiny_dataset(folder, validation=True)
    return folder


def test_the_embedded_validation_split_loads_and_shares_no_source_with_test(tmp_path):
    folder = str(odbench.embedded_path())
    val = load_dataset(folder, "images", split="validation", cache_dir=str(tmp_path))
    test = load_dataset(folder, "images", split="test", cache_dir=str(tmp_path))
    assert len(val) > 0 and not set(val["src_id"]) & set(test["src_id"])
    # Its own PictoWorld world: ids from 1,000,001, the test world's are below 10,000.
    assert min(int(s[1:]) for s in val["src_id"]) >= 1_000_001 > max(int(s[1:]) for s in test["src_id"])
    manifest = read_manifest(folder)
    assert manifest["validation"]["counts"]["scenes_shared_with"] == {"pictoworld/train": 0, "pictoworld/test": 0}
    assert manifest["validation"]["source"]["generator_seed"] != manifest["source"]["generator_seed"]


def test_a_split_is_verified_against_its_own_hashes(two_splits):
    test, val = load_benchmark(two_splits), load_benchmark(two_splits, split="validation")
    assert (test.split, val.split) == ("test", "validation")
    assert val.dataset_hash == test.dataset_hash == test.split_hash != val.split_hash
    assert val.pairs == test.pairs and set(val.sources) == {"vi1", "vi2", "vi3"}


def test_a_tampered_validation_shard_fails_its_split_hash(two_splits, tmp_path):
    import shutil
    folder = tmp_path / "tampered"
    shutil.copytree(two_splits, folder)
    [shard] = (folder / "captions").glob("validation-*.parquet")
    table = pq.read_table(shard)
    texts = table.column("text").to_pylist()
    texts[0] = texts[0] + " Edited."
    pq.write_table(table.set_column(table.schema.get_field_index("text"), "text", pa.array(texts)), shard)
    with pytest.raises(DatasetError, match="config 'captions' does not match the manifest's content hash"):
        load_benchmark(folder, split="validation")
    assert load_benchmark(folder).split == "test"         # the test split is untouched


def test_an_unknown_split_is_one_line(two_splits, dataset, tmp_path, capsys):
    with pytest.raises(DatasetError, match=r"unknown split 'train': odbench-tiny@0.0.1 has test, validation"):
        load_benchmark(two_splits, split="train")
    with pytest.raises(DatasetError, match=r"unknown split 'validation': odbench-tiny@0.0.1 has test$"):
        load_benchmark(dataset, split="validation")       # a dataset without a validation split
    out = tmp_path / "r.json"
    capsys.readouterr()
    assert odbench_eval(["--model", "mock:random", "--dataset", str(two_splits), "--split", "dev",
                         "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == "error: unknown split 'dev': a test dataset's splits are test and validation\n"
    assert not out.exists()


def test_eval_scores_the_validation_split_end_to_end(tmp_path, capsys):
    out = tmp_path / "val.json"
    assert odbench_eval(["--model", "mock:random", "--split", "validation", "--output", str(out)]) == 0
    assert "on odbench-picto v2.1.0, split validation" in capsys.readouterr().out
    doc = results.load(out)
    manifest = read_manifest(None)
    assert doc.benchmark.split == "validation" and doc.benchmark.dataset_hash == manifest["dataset_hash"]
    # Every query is a validation item, and the counts are the validation split's.
    assert all(int(q.split("-")[0][1:]) >= 1_000_001 for q in doc.rankings["i2t"])
    counts = manifest["validation"]["counts"]["images"]
    assert len(doc.rankings["i2t"]) == counts["decorrelate"] + counts["control"]
    assert json.loads(out.read_text())["benchmark"]["split"] == "validation"


def test_a_test_result_records_no_split(dataset, tmp_path):
    out = tmp_path / "test.json"
    assert odbench_eval(["--model", "mock:random", "--dataset", str(dataset), "--output", str(out)]) == 0
    assert "split" not in json.loads(out.read_text())["benchmark"]      # absent means test


def test_the_leaderboard_refuses_a_validation_result(two_splits, tmp_path):
    registry = DatasetRegistry({KEY: (str(two_splits), None)})
    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / "test.json").write_text(dump(make_submission(load_benchmark(two_splits), seed=1)))
    (folder / "val.json").write_text(dump(make_submission(load_benchmark(two_splits, split="validation"), seed=1)))
    outcome = verify_all(find_submissions(folder), registry)
    assert [e.path.name for e in outcome.accepted] == ["test.json"]
    [rejected] = outcome.rejected
    assert rejected.line() == f"{folder / 'val.json'}: rejected (split): {REFUSAL}"


def test_check_benchmark_checks_both_splits(tmp_path, capsys):
    # The tiny exhaustive splits are too small to pass the gates: each split fails, exit 1.
    write_tiny_dataset(tmp_path / "tiny", style="exhaustive", validation=True)
    assert odbench_cli(["check-benchmark", str(tmp_path / "tiny"), "--output", str(tmp_path / "r.json")]) == 1
    out = capsys.readouterr().out
    assert "split test: odbench-tiny@0.0.1 (exhaustive captions" in out
    assert "split validation: odbench-tiny@0.0.1 (validation split) (exhaustive captions" in out
    assert "odbench-tiny@0.0.1 (validation split): FAILS SPEC section 8" in out
    report = json.loads((tmp_path / "r.json").read_text())
    assert set(report["splits"]) == {"test", "validation"} and not report["passed"]
    assert odbench_cli(["check-benchmark", str(tmp_path / "tiny"), "--split", "validation"]) == 1
    assert "split test" not in capsys.readouterr().out


def test_compare_takes_results_of_one_split_and_scores_them_on_it(two_splits, tmp_path, capsys):
    test_doc = make_submission(load_benchmark(two_splits), seed=1)
    val_a, val_b = (make_submission(load_benchmark(two_splits, split="validation"), seed=s) for s in (1, 2))
    for name, doc in (("test.json", test_doc), ("a.json", val_a), ("b.json", val_b)):
        doc["benchmark"]["source"] = str(two_splits)
        (tmp_path / name).write_text(dump(doc))
    assert odbench_cli(["compare", str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 0
    assert "odbench-tiny v0.0.1 \\(validation\\)" in capsys.readouterr().out   # markdown-escaped title
    assert odbench_cli(["compare", str(tmp_path / "test.json"), str(tmp_path / "a.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: ") and "scored on the validation split" in err and "test split" in err
