"""SPEC section 2: the training and test sides share no image, and the manifest names the files
and splits each side came from."""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from PIL import Image

from dataset_builders.coco_format import read_coco, rle_encode
from dataset_builders.hf_folder import DatasetCard
from dataset_builders.pair_stats import NoPairSelected, PairSelection
from dataset_builders.provenance import SplitOverlapError, check_disjoint, split_provenance
from dataset_builders.test_split import TestSplitConfig, build_test_split

from coco_trees import COCO_MINI, write_tree
from coco_trees import needs_coco_mini as needs_mini


def _write_source(folder, ids, files):
    """A COCO-format split of 8x6 images, each with one dog, under `folder`."""
    (folder / "img").mkdir(parents=True, exist_ok=True)
    mask = np.zeros((6, 8), dtype=bool)
    mask[1:4, 2:5] = True
    for f in set(files):
        Image.new("RGB", (8, 6), "white").save(folder / "img" / f)
    inst = {"images": [{"id": i, "file_name": f, "width": 8, "height": 6} for i, f in zip(ids, files, strict=True)],
            "categories": [{"id": 18, "name": "dog", "supercategory": "animal"}],
            "annotations": [{"id": 100 + i, "image_id": i, "category_id": 18, "iscrowd": 0, "area": 9.0,
                             "bbox": [2, 1, 3, 3], "segmentation": rle_encode(mask)} for i in ids]}
    caps = {"annotations": [{"id": 200 + i, "image_id": i, "caption": "A dog."} for i in ids]}
    (folder / "inst.json").write_text(json.dumps(inst))
    (folder / "caps.json").write_text(json.dumps(caps))
    return folder / "inst.json", folder / "caps.json", folder / "img"


def test_disjoint_sides_pass(tmp_path):
    train = read_coco(*_write_source(tmp_path / "train", [1, 2], ["a.png", "b.png"]), split_name="train")
    test = read_coco(*_write_source(tmp_path / "test", [3], ["c.png"]), split_name="test")
    check_disjoint(train, test)


def test_a_shared_image_id_is_refused(tmp_path):
    # the same COCO photo from another release or folder: same id, another file
    train = read_coco(*_write_source(tmp_path / "train", [1, 2], ["a.png", "b.png"]), split_name="train")
    test = read_coco(*_write_source(tmp_path / "test", [2, 3], ["copy_of_b.png", "c.png"]), split_name="test")
    with pytest.raises(SplitOverlapError, match=r"share 1 image\(s\) \(ids 2\)") as e:
        check_disjoint(train, test)
    assert e.value.shared_ids == [2]


def test_a_shared_file_is_refused_whatever_its_id(tmp_path):
    train = read_coco(*_write_source(tmp_path / "train", [1, 2], ["a.png", "b.png"]), split_name="train")
    inst, caps, _ = _write_source(tmp_path / "test", [7], ["b.png"])
    test = read_coco(inst, caps, tmp_path / "train" / "img", split_name="test")   # train's own b.png
    with pytest.raises(SplitOverlapError, match=r"ids 7"):
        check_disjoint(train, test)


@needs_mini
def test_the_builder_refuses_before_any_work(tmp_path):
    # issue #11: the same files on both sides used to build, with pairs chosen on the test images
    ann = COCO_MINI / "annotations"
    read = lambda split: read_coco(ann / "instances_val2017.json", ann / "captions_val2017.json",
                                   COCO_MINI / "images", split_name=split)
    config = TestSplitConfig(name="leak", version="0.0.1", selection=PairSelection(2, 0.15, 0.2))
    card = DatasetCard(name="leak", version="0.0.1", license="cc-by-4.0", citation="", description="")
    with pytest.raises(SplitOverlapError, match=r"share 79 image\(s\)"):
        build_test_split(read("train"), read("test"), tmp_path / "out", config, card)
    assert not (tmp_path / "out").exists()


@needs_mini
def test_provenance_names_files_hashes_and_splits(tmp_path):
    root = write_tree(tmp_path / "coco", "2014")
    ann = root / "annotations"
    kw = dict(karpathy_json=root / "dataset_coco.json")
    train = read_coco([ann / "instances_train2014.json", ann / "instances_val2014.json"],
                      [ann / "captions_train2014.json", ann / "captions_val2014.json"], root / "images",
                      split_name="train", karpathy_split=("train", "restval"), **kw)
    test = read_coco(ann / "instances_val2014.json", ann / "captions_val2014.json", root / "images",
                     split_name="test", karpathy_split="test", **kw)
    check_disjoint(train, test)
    sha = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()
    prov = split_provenance(train, test)
    assert prov["train"] == {
        "name": "coco/train", "split": "train", "images": 52,
        "instances": [{"file": "instances_train2014.json", "sha256": sha(ann / "instances_train2014.json")},
                      {"file": "instances_val2014.json", "sha256": sha(ann / "instances_val2014.json")}],
        "captions": [{"file": "captions_train2014.json", "sha256": sha(ann / "captions_train2014.json")},
                     {"file": "captions_val2014.json", "sha256": sha(ann / "captions_val2014.json")}],
        "karpathy": {"file": "dataset_coco.json", "sha256": sha(root / "dataset_coco.json")},
        "karpathy_split": ["train", "restval"], "images_found_by_id": 0}
    assert prov["test"]["karpathy_split"] == "test" and prov["test"]["images"] == 27


@needs_mini
def test_no_pair_names_the_support_that_would_select_some(tmp_path):
    root = write_tree(tmp_path / "coco", "2017")
    ann = root / "annotations"
    train = read_coco(ann / "instances_train2017.json", ann / "captions_train2017.json", root / "images",
                      split_name="train")
    test = read_coco(ann / "instances_val2017.json", ann / "captions_val2017.json", root / "images",
                     split_name="test")
    config = TestSplitConfig(name="x", version="0.0.1")            # the COCO default, min_support=100
    card = DatasetCard(name="x", version="0.0.1", license="cc-by-4.0", citation="", description="")
    with pytest.raises(NoPairSelected) as e:
        build_test_split(train, test, tmp_path / "out", config, card)
    value, n = e.value.suggestion
    assert n > 0 and 2 <= value < 100
    selected = [s for s in e.value.stats if s.reason == "low_support" and s.n_ab >= value]
    assert len(selected) == n
