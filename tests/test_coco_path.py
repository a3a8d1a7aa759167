"""The real COCO code path end to end on coco-mini, as a user runs it: the COCO commands of
docs/datasets.md on COCO trees of the 2014 and 2017 layouts -> inpainted photos -> edited human captions
-> dataset folder with provenance -> odbench.data checks -> odbench-eval."""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shlex
from pathlib import Path

import pytest

from dataset_builders.__main__ import main as build
from odbench import results
from odbench.cli.eval import main as odbench_eval
from odbench.data import load_benchmark, read_manifest

from coco_trees import needs_coco_mini, write_tree

DATASETS_PAGE = Path(__file__).resolve().parents[1] / "docs" / "datasets.md"
pytestmark = needs_coco_mini
# coco-mini has 79 images: the page's thresholds are for COCO train's 118k.
SMALL_SOURCE = ["--min-support", "2"]


def page_coco_commands() -> list[list[str]]:
    """Every `test-split` command of the page's COCO section, as argv after the module name."""
    text = DATASETS_PAGE.read_text(encoding="utf-8")
    section = text[text.index("## A test set from real COCO"):]
    section = section[:section.index("\n## ")]
    commands = re.findall(r"^python -m dataset_builders (test-split .*)$", section.replace("\\\n", " "), re.M)
    return [shlex.split(c) for c in commands]


def _layout(argv: list[str]) -> str:
    return "2017" if any("2017" in a for a in argv) else "2014"


@contextlib.contextmanager
def _cwd(path: Path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> list[tuple[list[str], Path, dict]]:
    """(argv, output folder, report) of each command of the page, run on a tree of its layout."""
    out = []
    for n, argv in enumerate(page_coco_commands()):
        root = write_tree(tmp_path_factory.mktemp(f"coco{_layout(argv)}-{n}"), _layout(argv))
        stdout = io.StringIO()
        with _cwd(root), contextlib.redirect_stdout(stdout):
            assert build(argv + SMALL_SOURCE) == 0, argv
        out.append((argv, root / argv[argv.index("--out") + 1], json.loads(stdout.getvalue())))
    return out


def test_the_page_has_the_three_coco_commands():
    commands = page_coco_commands()
    assert [_layout(c) for c in commands] == ["2014", "2017", "2017"]
    assert ["--karpathy" in c for c in commands] == [True, True, False]


def test_the_commands_build_on_both_layouts(builds):
    for argv, folder, report in builds:
        assert report["images"].get("decorrelate", 0) > 0 and report["images"].get("control", 0) > 0, argv
        benchmark = load_benchmark(folder)                      # checks and hash verification
        assert len(benchmark.sources) == report["source_images"]


def test_manifest_names_each_sides_files_and_splits(builds):
    for argv, folder, _ in builds:
        provenance = read_manifest(folder)["source"]["provenance"]
        root = folder.parents[1]
        for side, flag in (("train", "--train-instances"), ("test", "--instances")):
            given = argv[argv.index(flag) + 1:]
            given = given[:next((i for i, a in enumerate(given) if a.startswith("--")), len(given))]
            assert provenance[side]["instances"] == [
                {"file": Path(g).name, "sha256": hashlib.sha256((root / g).read_bytes()).hexdigest()} for g in given]
        if "--karpathy" in argv:
            assert provenance["train"]["karpathy_split"] == ["train", "restval"]
            assert provenance["test"]["karpathy_split"] == ["test"]
            assert provenance["test"]["karpathy"]["file"] == "dataset_coco.json"
        else:
            assert provenance["test"]["karpathy"] is None
    # the 2017 tree has no 2014 paths: every Karpathy image there was found by its COCO id
    argv, folder, report = builds[1]
    test_side = read_manifest(folder)["source"]["provenance"]["test"]
    assert test_side["images_found_by_id"] == test_side["images"] == report["source_images"] > 0


def test_photos_are_inpainted_and_captions_edited(builds):
    _, out, report = builds[0]
    assert report["captions"].get("decorrelate", 0) + report["captions"].get("control", 0) > 0
    assert 0.2 < report["caption_edit_success_rate"] < 1.0
    manifest = read_manifest(out)
    assert manifest["inpainter"].startswith("opencv-telea/")
    assert manifest["caption_editor"] == "rule-based/1.1.0"
    benchmark = load_benchmark(out)                     # checks and hash verification
    assert (benchmark.spec_version, benchmark.caption_style) == ("2", "partial")
    # SPEC 8 runs on COCO too, reported without gates: human captions leave objects unnamed.
    assert report["check_benchmark"]["gated"] is False
    assert 0 < report["check_benchmark"]["ceiling"]["odmap@10"] < 1


def test_output_folder_is_not_private(builds):
    _, out, _ = builds[0]
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o777 & ~umask


def test_eval_runs_on_the_coco_build(builds, tmp_path):
    _, out, _ = builds[0]
    assert odbench_eval(["--model", "mock:random", "--dataset", str(out), "--output", str(tmp_path / "r.json")]) == 0
    doc = results.load(tmp_path / "r.json")
    assert doc.benchmark.name == "odbench-coco"
