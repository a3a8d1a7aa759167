"""`python -m dataset_builders`: --help shows every default; a user's mistake is one `error:` line
that names the flag to fix, exit status 2, no traceback and no output folder."""
from __future__ import annotations

import argparse
import dataclasses
import json
import os

import pytest

from dataset_builders.__main__ import build_parser, main

from coco_trees import needs_coco_mini, write_tree

pytestmark = needs_coco_mini


def test_help_shows_every_default():
    parser = build_parser()
    subcommands = parser._subparsers._group_actions[0].choices
    assert set(subcommands) == {"picto", "test-split", "train-set", "merge", "card-examples", "package-card"}
    for name, sub in subcommands.items():
        text = "".join(sub.format_help().split())   # argparse wraps lines, also at hyphens
        for action in sub._actions:
            if action.required or action.default in (None, "", argparse.SUPPRESS) or action.default is False:
                continue            # nothing to show: required, no default, or a plain switch
            assert "".join(f"(default: {action.default})".split()) in text, (name, action.dest)
    assert "--min-support MIN_SUPPORT pairs must be seen together" in " ".join(
        subcommands["test-split"].format_help().split())


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = write_tree(tmp_path_factory.mktemp("coco"), "2017")
    # a person-keypoints file, as COCO ships beside the instances: categories carry keypoints
    inst = json.loads((root / "annotations" / "instances_val2017.json").read_text())
    person = [c for c in inst["categories"] if c["name"] == "person"]
    keypoints = {**inst, "categories": [{**c, "keypoints": ["nose"], "skeleton": []} for c in person],
                 "annotations": [{**a, "keypoints": [0, 0, 0], "num_keypoints": 0}
                                 for a in inst["annotations"] if a["category_id"] == person[0]["id"]]}
    (root / "annotations" / "person_keypoints_val2017.json").write_text(json.dumps(keypoints))
    return root


TRAIN = ["--train-instances", "annotations/instances_train2017.json",
         "--train-captions", "annotations/captions_train2017.json", "--train-images", "images/train2017"]
TEST = ["--instances", "annotations/instances_val2017.json",
        "--captions", "annotations/captions_val2017.json", "--images", "images/val2017"]
KARPATHY = ["--karpathy", "dataset_coco.json",
            "--train-instances", "annotations/instances_train2017.json", "annotations/instances_val2017.json",
            "--train-captions", "annotations/captions_train2017.json", "annotations/captions_val2017.json",
            "--train-images", "images/", "--train-karpathy-split", "train", "restval",
            "--instances", "annotations/instances_train2017.json", "annotations/instances_val2017.json",
            "--captions", "annotations/captions_train2017.json", "annotations/captions_val2017.json",
            "--images", "images/", "--karpathy-split", "test"]


def _swap(argv, flag, *values):
    """argv with the values of `flag` replaced (or the flag removed when no value is given)."""
    i = argv.index(flag)
    j = i + 1
    while j < len(argv) and not argv[j].startswith("--"):
        j += 1
    return argv[:i] + ([flag, *values] if values else []) + argv[j:]


CASES = {
    # issue #11, item 4: a file in the wrong place is named, with the flag that got it
    "instances file as captions": (
        _swap(TRAIN, "--train-captions", "annotations/instances_train2017.json") + TEST,
        "error: --train-captions: annotations/instances_train2017.json is a COCO instances file "
        "(instances_*.json), not a COCO captions file (captions_*.json)"),
    "keypoints file as instances": (
        TRAIN + _swap(TEST, "--instances", "annotations/person_keypoints_val2017.json"),
        "error: --instances: annotations/person_keypoints_val2017.json is a COCO person-keypoints file "
        "(person_keypoints_*.json), not a COCO instances file (instances_*.json)"),
    "captions of another split": (
        _swap(TRAIN, "--train-captions", "annotations/captions_val2017.json") + TEST,
        "error: --train-captions: no caption belongs to an image of --train-instances"),
    "captions file as karpathy": (
        _swap(KARPATHY, "--karpathy", "annotations/captions_val2017.json"),
        "error: --karpathy: annotations/captions_val2017.json is a COCO captions file"),
    # item 1: --karpathy never applies to one side only, and shared images are refused
    "karpathy without the training split": (
        _swap(KARPATHY, "--train-karpathy-split"),
        "error: --karpathy is given but --train-karpathy-split is not: name the Karpathy split(s) of the "
        "training side, e.g. --train-karpathy-split train restval"),
    "test images on the training side": (
        _swap(KARPATHY, "--train-karpathy-split", "train", "restval", "test") + ["--min-support", "2"],
        "error: the training side (coco/train, 79 images) and the test side (coco/test, 27 images) share "
        "27 image(s) (ids "),
    "same files on both sides": (
        TEST + [a.replace("--", "--train-", 1) if a.startswith("--") else a for a in TEST] + ["--min-support", "2"],
        "share 14 image(s)"),
    # item 5: flags, not Python argument names
    "split without karpathy": (
        TRAIN + ["--train-karpathy-split", "train"] + TEST,
        "error: --karpathy and --train-karpathy-split must be given together"),
    "missing image folder": (_swap(TRAIN, "--train-images", "images/nope") + TEST,
                             "error: --train-images: images folder not found: images/nope"),
    # item 3: the default selection on a small source says what to lower
    "default support on a small source": (
        TRAIN + TEST, "lower --min-support (--min-support "),
    # item 6: the learned inpainter needs its weights, and never downloads them
    "learned inpainter without weights": (
        TRAIN + TEST + ["--inpainter", "diffusers"],
        "error: --inpainter diffusers needs --inpainter-weights FOLDER"),
    "weights for telea": (
        TRAIN + TEST + ["--inpainter-weights", "images"],
        "error: --inpainter-weights is for a learned inpainter (diffusers), not --inpainter telea"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_user_errors_are_one_line_naming_the_flag(case, tree, capsys, monkeypatch):
    argv, expected = CASES[case]
    monkeypatch.chdir(tree)
    assert main(["test-split", "--version", "1.0.0", "--out", "build/out", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    assert expected in err, err
    assert not (tree / "build" / "out").exists() and not (tree / "build" / "out.work").exists()


def test_an_existing_output_needs_overwrite(tree, capsys, monkeypatch):
    monkeypatch.chdir(tree)
    os.makedirs("build/full", exist_ok=True)
    (tree / "build" / "full" / "keep.txt").write_text("mine")
    assert main(["test-split", "--version", "1.0.0", "--out", "build/full", *TRAIN, *TEST]) == 2
    assert capsys.readouterr().err == ("error: --out build/full exists and is not empty; pass --resume to finish its "
                                       "build or --overwrite to replace it\n")
    assert (tree / "build" / "full" / "keep.txt").read_text() == "mine"


def test_a_version_that_is_not_semver_is_refused_before_the_build(tree, capsys, monkeypatch):
    monkeypatch.chdir(tree)
    assert main(["test-split", "--version", "notaversion", "--out", "build/v", *TRAIN, *TEST]) == 2
    assert capsys.readouterr().err == ("error: --version 'notaversion' is not semver X.Y.Z (e.g. 1.0.0): results "
                                       "on it could never be written\n")
    assert not (tree / "build" / "v").exists()


def test_a_build_with_no_edits_is_an_error(tree, capsys, monkeypatch):
    monkeypatch.chdir(tree)
    # as if no test image could take an edit (every candidate rejected)
    from dataset_builders import test_split

    real = test_split._plan_source
    monkeypatch.setattr(test_split, "_plan_source", lambda *a, **k: dataclasses.replace(real(*a, **k), plans=[]))
    assert main(["test-split", "--version", "1.0.0", "--out", "build/none", *TRAIN, *TEST,
                 "--min-support", "2", "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no image of the test side (coco/") and err.count("\n") == 1, err
    assert "can take a decorrelate edit of the selected pairs (" in err and "the dataset would hold no edits" in err
    assert not (tree / "build" / "none").exists()


def test_an_empty_file_as_out_is_called_a_file(tree, capsys, monkeypatch):
    monkeypatch.chdir(tree)
    (tree / "empty-file").write_text("")
    assert main(["test-split", "--version", "1.0.0", "--out", "empty-file", *TRAIN, *TEST]) == 2
    assert capsys.readouterr().err == ("error: --out empty-file is a file, not a folder; name a folder to build the "
                                       "dataset in\n")


def test_an_out_folder_that_refuses_files_is_named_not_a_temporary_folder(tree, capsys, monkeypatch):
    monkeypatch.chdir(tree)
    assert main(["test-split", "--version", "1.0.0", "--out", "/proc/odbench-out", *TRAIN, *TEST]) == 2
    assert capsys.readouterr().err == ("error: --out /proc/odbench-out: cannot write into /proc (No such file or "
                                       "directory)\n")


def test_pictoworld_with_no_images_is_an_error(tmp_path, capsys):
    from dataset_builders.pictoworld.__main__ import main as pictoworld

    assert pictoworld(["--out", str(tmp_path / "pw"), "--train", "0", "--test", "0"]) == 2
    assert capsys.readouterr().err == ("pictoworld: error: every split has 0 images: give --train, --val or --test "
                                       "a positive count\n")
    assert not (tmp_path / "pw").exists()
