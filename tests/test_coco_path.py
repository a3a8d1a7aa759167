"""The real COCO code path end to end on coco-mini: reader -> pairs -> inpainted photos ->
edited human captions -> dataset folder -> odbench.data checks -> odbench-eval."""
from __future__ import annotations

from pathlib import Path

import pytest

from dataset_builders.coco_format import read_coco
from dataset_builders.hf_folder import DatasetCard
from dataset_builders.pair_stats import PairSelection
from dataset_builders.test_split import TestSplitConfig, build_test_split
from odbench import results
from odbench.cli.eval import main as odbench_eval
from odbench.data import load_benchmark

COCO_MINI = Path(__file__).resolve().parents[1].parent / "shared" / "coco-mini"
pytestmark = pytest.mark.skipif(not COCO_MINI.is_dir(), reason="coco-mini not available")


def read_mini(split: str):
    ann = COCO_MINI / "annotations"
    return read_coco(ann / "instances_val2017.json", ann / "captions_val2017.json", COCO_MINI / "images",
                     split_name=split, name=f"coco-mini/{split}")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    # coco-mini has no training split. Pair statistics come from its images read as a stand-in
    # training split, with thresholds scaled to 79 images; the real build uses COCO train.
    train, test = read_mini("train"), read_mini("test")
    config = TestSplitConfig(name="odbench-coco-mini", version="0.0.1", seed=0,
                             selection=PairSelection(min_support=2, min_npmi=0.15, min_conditional=0.2))
    card = DatasetCard(name="odbench-coco-mini", version="0.0.1", license="cc-by-4.0", citation="@misc{x}",
                       description="coco-mini test build", attribution="COCO Consortium, CC BY 4.0")
    out = tmp_path_factory.mktemp("coco") / "odbench-coco-mini"
    info, report = build_test_split(train, test, out, config, card)
    return out, report


def test_photos_are_inpainted_and_captions_edited(built):
    out, report = built
    assert report["source_images"] == 79
    assert report["images"].get("decorrelate", 0) > 0 and report["images"].get("control", 0) > 0
    assert report["captions"].get("decorrelate", 0) + report["captions"].get("control", 0) > 0
    assert 0.2 < report["caption_edit_success_rate"] < 1.0
    benchmark = load_benchmark(out)                     # checks and hash verification
    assert len(benchmark.sources) == 79
    assert (benchmark.spec_version, benchmark.caption_style) == ("2", "partial")
    # SPEC 8 runs on COCO too, reported without gates: human captions leave objects unnamed.
    assert report["check_benchmark"]["gated"] is False
    assert 0 < report["check_benchmark"]["ceiling"]["odmap@10"] < 1


def test_eval_runs_on_the_coco_build(built, tmp_path):
    out, _ = built
    assert odbench_eval(["--model", "mock:random", "--dataset", str(out), "--output", str(tmp_path / "r.json")]) == 0
    doc = results.load(tmp_path / "r.json")
    assert doc["benchmark"]["name"] == "odbench-coco-mini"
