"""Reading COCO-format files: real COCO (coco-mini) and small files written here."""
import hashlib
import json

import numpy as np
import pytest
from PIL import Image

from dataset_builders.coco_format import (
    CocoFormatError,
    InputNames,
    counts_to_rle_string,
    polygons_to_mask,
    read_coco,
    rle_decode,
    rle_encode,
    rle_string_to_counts,
)

from coco_trees import COCO_MINI, write_tree
from coco_trees import needs_coco_mini as needs_mini


def _read_mini(**kw):
    ann = COCO_MINI / "annotations"
    return read_coco(ann / "instances_val2017.json", ann / "captions_val2017.json",
                     COCO_MINI / "images", split_name="val", **kw)


# ------------------------------------------------------------------------------- masks
def test_uncompressed_rle_is_column_major():
    # 3 rows x 2 columns; runs over column 0 then column 1: 0,1,1 | 0,0,1
    mask = rle_decode({"size": [3, 2], "counts": [1, 2, 2, 1]})
    assert mask.tolist() == [[False, False], [True, False], [True, True]]


def test_rle_round_trip_both_kinds():
    rng = np.random.default_rng(0)
    for shape in [(7, 5), (48, 64), (1, 1)]:
        mask = rng.random(shape) > 0.6
        mask[0, 0] = True                      # a mask starting with a 1-run needs a 0 first
        for compressed in (False, True):
            rle = rle_encode(mask, compressed=compressed)
            assert isinstance(rle["counts"], str) == compressed
            assert np.array_equal(rle_decode(rle), mask)


def test_compressed_rle_matches_pycocotools_encoding():
    # pycocotools' format: runs after the 2nd as deltas, 5-bit chunks, offset 48 ('0')
    for counts in ([0, 5, 3, 100], [12, 1, 40000, 2, 3], [0, 31, 32, 1000000]):
        assert rle_string_to_counts(counts_to_rle_string(counts)) == counts
    # the string pycocotools.mask.encode gives for this 3x2 mask (checked once against it)
    mask = np.array([[0, 1], [1, 1], [0, 0]], dtype=bool)
    assert rle_encode(mask, compressed=True) == {"size": [3, 2], "counts": "11110"}
    assert rle_string_to_counts("11110") == [1, 1, 1, 2, 1]


def test_polygon_square_has_its_area():
    mask = polygons_to_mask([[10, 10, 30, 10, 30, 20, 10, 20]], 40, 50)
    assert mask.shape == (40, 50) and abs(int(mask.sum()) - 200) <= 30
    assert mask[15, 20] and not mask[5, 5]


def test_bad_rle_is_a_clear_error():
    with pytest.raises(CocoFormatError, match="sum"):
        rle_decode({"size": [4, 4], "counts": [3, 2]})


# ------------------------------------------------------------------------------ coco-mini
@needs_mini
def test_reads_coco_mini_end_to_end():
    src = _read_mini()
    assert (len(src.images), sum(len(im.instances) for im in src.images),
            sum(len(im.captions) for im in src.images)) == (79, 624, 395)
    assert len(src.categories) == 80 and src.supercategory("giraffe") == "animal"
    im = next(i for i in src.images if i.coco_id == 397133)
    assert im.id == "i397133" and (im.width, im.height) == (640, 427)
    assert {"person", "oven", "broccoli"} <= im.objects
    assert all(c.id.startswith("c") for c in im.captions) and len(im.captions) == 5
    assert im.load().size == (640, 427)
    assert src.name == "coco/val" and src.info["images_without_instances"] == 0


@needs_mini
def test_polygon_masks_match_coco_areas():
    src = _read_mini()
    ratios = [inst.mask(im.height, im.width).sum() / inst.area
              for im in src.images for inst in im.instances if not inst.iscrowd and inst.area > 100]
    assert len(ratios) > 500
    assert abs(np.median(ratios) - 1) < 0.03     # measured: 1.016
    assert np.percentile(ratios, 95) < 1.12


@needs_mini
def test_crowd_rle_masks_fit_their_boxes():
    src = _read_mini()
    crowds = [(im, inst) for im in src.images for inst in im.instances if inst.iscrowd]
    assert len(crowds) == 5
    for im, inst in crowds:
        mask = inst.mask(im.height, im.width)
        ys, xs = np.nonzero(mask)
        x, y, w, h = inst.bbox
        assert abs(xs.min() - x) <= 1 and abs(ys.min() - y) <= 1
        assert abs(xs.max() + 1 - (x + w)) <= 1 and abs(ys.max() + 1 - (y + h)) <= 1
    assert im.category_mask(inst.category).any()


@needs_mini
def test_karpathy_split_selects_images(tmp_path):
    ids = json.loads((COCO_MINI / "annotations" / "instances_val2017.json").read_text())["images"]
    karpathy = {"images": [{"cocoid": im["id"], "split": "test" if k < 10 else "train",
                            "filepath": "val2017", "filename": im["file_name"]}
                           for k, im in enumerate(ids)] + [{"cocoid": 1, "split": "test"}]}
    path = tmp_path / "dataset_coco.json"
    path.write_text(json.dumps(karpathy))
    test = _read_mini(karpathy_json=path, karpathy_split="test")
    assert len(test.images) == 10 and test.info["karpathy_images_not_in_annotations"] == 1
    assert len(_read_mini(karpathy_json=path, karpathy_split=("train", "restval")).images) == 69


# ------------------------------------------------------------------------ small files
def _write_coco(tmp_path, *, with_image=True, image_anns=True):
    (tmp_path / "img").mkdir()
    if with_image:
        Image.new("RGB", (8, 6), "white").save(tmp_path / "img" / "a.png")
        Image.new("RGB", (8, 6), "white").save(tmp_path / "img" / "b.png")
    mask = np.zeros((6, 8), dtype=bool)
    mask[1:4, 2:5] = True
    inst = {"images": [{"id": 1, "file_name": "a.png", "width": 8, "height": 6},
                       {"id": 2, "file_name": "b.png", "width": 8, "height": 6}],
            "categories": [{"id": 18, "name": "dog", "supercategory": "animal"}],
            "annotations": [{"id": 5, "image_id": 1, "category_id": 18, "iscrowd": 0, "area": 9.0,
                             "bbox": [2, 1, 3, 3], "segmentation": rle_encode(mask)}] if image_anns else []}
    caps = {"annotations": [{"id": 7, "image_id": 1, "caption": " A dog. "}]}
    (tmp_path / "inst.json").write_text(json.dumps(inst))
    (tmp_path / "caps.json").write_text(json.dumps(caps))
    return tmp_path / "inst.json", tmp_path / "caps.json", tmp_path / "img", mask


def test_pictoworld_style_uncompressed_rle(tmp_path):
    inst, caps, img, mask = _write_coco(tmp_path)
    src = read_coco(inst, caps, img, split_name="test", name="pictoworld/test")
    a, b = src.images
    assert np.array_equal(a.category_mask("dog"), mask)
    assert a.captions[0].text == "A dog." and a.captions[0].id == "c7"
    assert b.objects == frozenset() and b.captions == ()      # kept, with O(x) empty
    assert src.info["images_without_instances"] == 1 and src.info["images_without_captions"] == 1


def test_clear_errors(tmp_path):
    inst, caps, img, _ = _write_coco(tmp_path, with_image=False)
    with pytest.raises(FileNotFoundError, match="instances file not found"):
        read_coco(tmp_path / "nope.json", caps, img, split_name="x")
    with pytest.raises(FileNotFoundError, match="images folder not found"):
        read_coco(inst, caps, tmp_path / "nope", split_name="x")
    with pytest.raises(FileNotFoundError, match="image file"):
        read_coco(inst, caps, img, split_name="x")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(CocoFormatError, match="not valid JSON"):
        read_coco(tmp_path / "bad.json", caps, img, split_name="x")
    with pytest.raises(CocoFormatError, match="together"):
        read_coco(inst, caps, img, split_name="x", karpathy_split="test")


def test_wrong_kind_of_file_is_named(tmp_path):
    inst, caps, img, _ = _write_coco(tmp_path)
    with pytest.raises(CocoFormatError, match=r"^captions_json: .*inst.json is a COCO instances file "
                                              r"\(instances_\*.json\), not a COCO captions file"):
        read_coco(inst, inst, img, split_name="x")
    with pytest.raises(CocoFormatError, match=r"^instances_json: .*caps.json is a COCO captions file"):
        read_coco(caps, caps, img, split_name="x")
    keypoints = json.loads(inst.read_text())
    keypoints["categories"][0]["keypoints"] = ["nose"]
    (tmp_path / "kp.json").write_text(json.dumps(keypoints))
    with pytest.raises(CocoFormatError, match=r"kp.json is a COCO person-keypoints file"):
        read_coco(tmp_path / "kp.json", caps, img, split_name="x")
    with pytest.raises(CocoFormatError, match=r"^karpathy_json: .*caps.json is a COCO captions file"):
        read_coco(inst, caps, img, split_name="x", karpathy_json=caps, karpathy_split="test")


def test_names_given_by_a_cli_are_used(tmp_path):
    inst, caps, img, _ = _write_coco(tmp_path)
    flags = InputNames(instances="--instances", captions="--captions", images="--images",
                       karpathy="--karpathy", karpathy_split="--karpathy-split")
    with pytest.raises(CocoFormatError, match="^--karpathy and --karpathy-split must be given together$"):
        read_coco(inst, caps, img, split_name="x", karpathy_split="test", names=flags)
    with pytest.raises(CocoFormatError, match="^--captions: .* not a COCO captions file"):
        read_coco(inst, inst, img, split_name="x", names=flags)


def test_malformed_records_and_foreign_captions(tmp_path):
    inst, caps, img, _ = _write_coco(tmp_path)
    data = json.loads(inst.read_text())
    del data["annotations"][0]["bbox"]
    (tmp_path / "nobbox.json").write_text(json.dumps(data))
    with pytest.raises(CocoFormatError, match=r"nobbox.json: malformed record \(id 5\): missing key 'bbox'"):
        read_coco(tmp_path / "nobbox.json", caps, img, split_name="x")
    (tmp_path / "other.json").write_text(json.dumps({"annotations": [{"id": 1, "image_id": 99, "caption": "x"}]}))
    with pytest.raises(CocoFormatError, match="no caption belongs to an image of instances_json"):
        read_coco(inst, tmp_path / "other.json", img, split_name="x")


def test_files_are_recorded_by_name_and_sha256(tmp_path):
    inst, caps, img, _ = _write_coco(tmp_path)
    src = read_coco(inst, caps, img, split_name="x")
    assert src.info["instances"] == [{"file": "inst.json", "sha256": hashlib.sha256(inst.read_bytes()).hexdigest()}]
    assert src.info["captions"] == [{"file": "caps.json", "sha256": hashlib.sha256(caps.read_bytes()).hexdigest()}]


@needs_mini
def test_2017_layout_with_a_2014_style_karpathy_file(tmp_path):
    # issue #11: dataset_coco.json names val2014/COCO_val2014_<id>.jpg, which a 2017 tree lacks
    root = write_tree(tmp_path / "coco", "2017")
    ann = root / "annotations"
    test = read_coco([ann / "instances_train2017.json", ann / "instances_val2017.json"],
                     [ann / "captions_train2017.json", ann / "captions_val2017.json"], root / "images",
                     split_name="test", karpathy_json=root / "dataset_coco.json", karpathy_split="test")
    assert len(test.images) == 27 and test.info["images_found_by_id"] == 27
    folders = {im.path.parent.name for im in test.images}
    assert folders == {"train2017", "val2017"}                   # Karpathy test spans both
    assert all(im.path.name == f"{im.coco_id:012d}.jpg" for im in test.images)
    assert test.images[0].load().size == (test.images[0].width, test.images[0].height)


@needs_mini
def test_2014_layout_resolves_by_the_karpathy_folder(tmp_path):
    root = write_tree(tmp_path / "coco", "2014")
    ann = root / "annotations"
    test = read_coco(ann / "instances_val2014.json", ann / "captions_val2014.json", root / "images",
                     split_name="test", karpathy_json=root / "dataset_coco.json", karpathy_split="test")
    assert len(test.images) == 27 and test.info["images_found_by_id"] == 0
    assert all(im.path.name == f"COCO_val2014_{im.coco_id:012d}.jpg" for im in test.images)


def test_an_id_that_no_file_carries_is_still_missing(tmp_path):
    inst, caps, img, _ = _write_coco(tmp_path)
    (img / "a.png").rename(img / "000000000003.png")     # another id: not image 1
    with pytest.raises(FileNotFoundError, match=r"^images_dir: 1 image file\(s\) missing"):
        read_coco(inst, caps, img, split_name="x")
