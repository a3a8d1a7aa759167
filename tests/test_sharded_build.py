"""Sharded, resumable builds: plan once, edit in shards, merge, the same dataset hash as one process.

A 60-scene test split and a 300-scene training split of PictoWorld at 64 px, built by the Python
builders in one process (the reference), then by the command line in 1, 2 and 4 shards (as a
job array would run them), under torchrun, and killed midway and resumed.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dataset_builders.__main__ import main
from dataset_builders.build_progress import ProgressLine
from dataset_builders.embedded import CITATION, read_pictoworld
from dataset_builders.hf_folder import DatasetCard, read_card_metadata
from dataset_builders.pair_stats import PairSelection, compute_pair_stats, selected_pairs
from dataset_builders.test_split import TestSplitConfig, build_test_split
from dataset_builders.train_set import TrainSetConfig, build_train_set

SELECTION = PairSelection(min_support=10, min_npmi=0.3, min_conditional=0.3)
CARD = DatasetCard(name="w", version="1.0.0", license="cc-by-4.0", citation=CITATION, description="d")
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    from dataset_builders.pictoworld import generate

    root = tmp_path_factory.mktemp("sharded") / "pw"
    generate(root, seed=0, n_images={"train": 300, "test": 60}, correlation={"train": 0.9, "test": 0.8},
             pair_rate={"train": 0.1, "test": 0.15}, image_size=64, num_workers=1)
    return root


def split_args(world: Path) -> list[str]:
    a, i = world / "annotations", world / "images"
    return ["test-split", "--train-instances", str(a / "instances_train.json"),
            "--train-captions", str(a / "captions_train.json"), "--train-images", str(i / "train"),
            "--instances", str(a / "instances_test.json"), "--captions", str(a / "captions_test.json"),
            "--images", str(i / "test"), "--version", "1.0.0", "--name", "w", "--license", "cc-by-4.0",
            "--description", "d", "--caption-style", "exhaustive", "--min-support", "10", "--min-npmi", "0.3",
            "--min-conditional", "0.3", "--no-check", "--workers", "1", "--chunk-units", "4"]


def train_args(world: Path) -> list[str]:
    return ["train-set", "--pictoworld", str(world), "--min-support", "10", "--min-npmi", "0.3",
            "--min-conditional", "0.3", "--paste-per-pair", "5", "--max-remove", "40", "--name", "t",
            "--license", "cc-by-4.0", "--workers", "1", "--chunk-units", "4"]


@pytest.fixture(scope="module")
def one_process(world, tmp_path_factory) -> dict[str, str]:
    """The dataset hashes of the one-process Python builders."""
    tmp = tmp_path_factory.mktemp("reference")
    train, test = read_pictoworld(world, "train"), read_pictoworld(world, "test")
    config = TestSplitConfig(name="w", version="1.0.0", selection=SELECTION, caption_style="exhaustive",
                             num_workers=1, check=False)
    test_info, _ = build_test_split(train, test, tmp / "test", config, CARD)
    selected = selected_pairs(compute_pair_stats(train, SELECTION))
    train_info, _ = build_train_set(train, selected, tmp / "train", TrainSetConfig(
        name="t", version="1.0.0", paste_per_pair=5, max_remove=40, num_workers=1),
        DatasetCard(name="t", version="1.0.0", license="cc-by-4.0", citation=CITATION,
                    description="ODBench synthetic training set: images where one object of a correlated pair "
                                "was removed or pasted in, with matching captions."))
    return {"test-split": test_info.dataset_hash, "train-set": train_info.dataset_hash}


def dataset_hash(folder: Path) -> str:
    return read_card_metadata(folder)["odbench"]["dataset_hash"]


def last_error(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    return lines[-1]


@pytest.mark.parametrize("kind", ["test-split", "train-set"])
@pytest.mark.parametrize("shards", [1, 2, 4])
def test_shards_merge_to_the_one_process_hash(kind, shards, world, one_process, tmp_path):
    args, out = (split_args if kind == "test-split" else train_args)(world), tmp_path / "out"
    if shards == 1:
        assert main([*args, "--out", str(out)]) == 0
    else:
        for shard in reversed(range(shards)):      # any order: each shard knows its chunks from the plan
            assert main([*args, "--out", str(out), "--shards", str(shards), "--shard", str(shard)]) == 0
        assert not out.exists()
        assert main(["merge", "--work", str(tmp_path / "out.work"), "--out", str(out)]) == 0
    assert dataset_hash(out) == one_process[kind]
    assert not (tmp_path / "out.work").exists()     # the parts are gone once merged


def test_torchrun_ranks_take_one_shard_each_and_rank_0_merges(world, one_process, tmp_path):
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                          "-m", "dataset_builders", *split_args(world), "--out", str(out), "--keep-work"],
                         capture_output=True, text=True, env=ENV, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.count('"dataset_hash"') == 1              # rank 0 alone reports
    assert dataset_hash(out) == one_process["test-split"]
    assert sorted(p.name for p in (tmp_path / "out.work").glob("shard-*")) == ["shard-0-of-2", "shard-1-of-2"]


def test_a_killed_build_resumes_to_the_same_hash(world, one_process, tmp_path):
    out, work = tmp_path / "out", tmp_path / "out.work"
    args = [*split_args(world)[:-1], "1", "--out", str(out)]       # one unit per part: many parts
    proc = subprocess.Popen([sys.executable, "-m", "dataset_builders", *args], env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list((work / "shard-0-of-1").glob("chunk-*"))) < 5:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(list((work / "shard-0-of-1").glob("chunk-*")))
    assert done >= 5 and not out.exists()
    assert main(args) == 2                      # neither --resume nor --overwrite: refused, nothing lost
    assert len(list((work / "shard-0-of-1").glob("chunk-*"))) == done
    run = subprocess.run([sys.executable, "-m", "dataset_builders", *args, "--resume"], env=ENV,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout)
    assert report["units_resumed"] >= done and report["units_resumed"] < report["units"]
    assert dataset_hash(out) == one_process["test-split"]


def test_resume_refuses_changed_inputs_in_one_line(world, tmp_path, capsys):
    args, out = split_args(world), tmp_path / "out"
    assert main([*args, "--out", str(out), "--shards", "2", "--shard", "0"]) == 0
    parts = sorted(p.name for p in (tmp_path / "out.work" / "shard-0-of-2").iterdir())
    changed = [a if a != "0.3" else "0.35" for a in args]          # other thresholds: another plan
    assert main([*changed, "--out", str(out), "--shards", "2", "--shard", "0", "--resume"]) == 2
    assert "the inputs or options changed since the plan" in last_error(capsys)
    assert sorted(p.name for p in (tmp_path / "out.work" / "shard-0-of-2").iterdir()) == parts


def test_bad_shards_and_merges_are_one_line_each(world, tmp_path, capsys):
    args, out, work = split_args(world), tmp_path / "out", tmp_path / "out.work"
    assert main([*args, "--out", str(out), "--shards", "2", "--shard", "2"]) == 2
    assert last_error(capsys) == "error: --shard 2 is out of range for --shards 2 (valid: 0 to 1)"
    assert main([*args, "--out", str(out), "--shards", "3", "--shard", "0"]) == 0
    assert main(["merge", "--work", str(work), "--out", str(out)]) == 2
    assert last_error(capsys) == ("error: shard(s) 1, 2 of 3 missing; run them (--shards 3 --shard 1) "
                                  "before merging")
    for shard in (1, 2):
        assert main([*args, "--out", str(out), "--shards", "3", "--shard", str(shard)]) == 0
    copy = tmp_path / "elsewhere" / "shard-1-of-3"
    shutil.copytree(work / "shard-1-of-3", copy)
    assert main(["merge", "--work", str(work), "--out", str(out), "--shard-folder", str(copy)]) == 2
    assert last_error(capsys).startswith("error: shard 1 of 3 is given twice")
    # a shard of another plan (another seed) from another work folder
    other = tmp_path / "other"
    seeded = [*args, "--seed", "7", "--out", str(other), "--shards", "3", "--shard", "1"]
    assert main(seeded) == 0
    shutil.rmtree(work / "shard-1-of-3")
    assert main(["merge", "--work", str(work), "--out", str(out), "--shard-folder",
                 str(tmp_path / "other.work" / "shard-1-of-3")]) == 2
    assert "shards from different plans cannot be merged" in last_error(capsys)
    assert not out.exists() and (work / "plan" / "plan.json").is_file()   # nothing built is lost


def test_an_existing_output_needs_resume_or_overwrite(world, tmp_path, capsys):
    args, out = split_args(world), tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    assert main([*args, "--out", str(out)]) == 2
    assert last_error(capsys) == (f"error: --out {out} exists and is not empty; pass --resume to finish its "
                                  f"build or --overwrite to replace it")
    assert (out / "mine.txt").read_text() == "keep me"


def test_progress_lines_give_done_total_rate_and_eta_every_30_s(capsys):
    now = [0.0]
    line = ProgressLine("edit shard 1/2", 100, 10, overall=lambda: 40, overall_total=200, clock=lambda: now[0])
    for _ in range(30):
        now[0] += 2.0          # one unit every 2 s: a line at 30 s and at 60 s
        line.advance()
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["edit shard 1/2: 25/100 units (25%), 0.50 units/s, ETA 2m30s; overall 40/200",
                     "edit shard 1/2: 40/100 units (40%), 0.50 units/s, ETA 2m00s; overall 40/200"]
