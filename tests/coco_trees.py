"""COCO-format trees made from coco-mini, laid out like the official 2014 and 2017 downloads.

    write_tree(root, "2014")   # annotations/*_train2014.json, images/train2014/COCO_train2014_<id>.jpg, ...
    write_tree(root, "2017")   # annotations/*_train2017.json, images/train2017/<id>.jpg, ...

Both get the same `dataset_coco.json`, a Karpathy split file with 2014-style paths as the real
one has (`filepath` val2014, `filename` COCO_val2014_<id>.jpg). Images are symbolic links to
coco-mini's files. Splits, by position k of the image in id order:
- Karpathy: test when k % 3 == 0, train when k % 3 == 1, restval when k % 3 == 2
- 2014 folders: train2014 holds the Karpathy train images, val2014 the test and restval ones
- 2017 folders: val2017 holds the images with k % 6 == 0 (half the Karpathy test images, as
  in the real releases, where Karpathy's test images are spread over train2017 and val2017)
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

# coco-mini: 79 real COCO val2017 images with their annotations and captions (how to get it:
# docs/getting-started.md, "Running the tests"). Found beside the project, or where
# ODBENCH_COCO_MINI points; the tests that read it skip without it, saying so in one line.
COCO_MINI = Path(os.environ.get("ODBENCH_COCO_MINI") or Path(__file__).resolve().parents[2] / "shared" / "coco-mini")
needs_coco_mini = pytest.mark.skipif(
    not COCO_MINI.is_dir(), reason=f"no coco-mini at {COCO_MINI} (set ODBENCH_COCO_MINI to a copy)")
KARPATHY_SPLITS = ("test", "train", "restval")


def _folders(k: int) -> tuple[str, str]:
    """(2014 folder, 2017 folder) of the image at position k."""
    split = KARPATHY_SPLITS[k % 3]
    return ("train2014" if split == "train" else "val2014"), ("val2017" if k % 6 == 0 else "train2017")


def _file_name(folder: str, coco_id: int) -> str:
    return f"COCO_{folder}_{coco_id:012d}.jpg" if folder.endswith("2014") else f"{coco_id:012d}.jpg"


def write_tree(root: Path, layout: str) -> Path:
    """Write a COCO tree of `layout` ("2014" or "2017") under `root`; returns `root`."""
    if layout not in ("2014", "2017"):
        raise ValueError(f"layout must be 2014 or 2017, got {layout!r}")
    ann = COCO_MINI / "annotations"
    instances = json.loads((ann / "instances_val2017.json").read_text())
    captions = json.loads((ann / "captions_val2017.json").read_text())
    ids = sorted(im["id"] for im in instances["images"])
    position = {i: k for k, i in enumerate(ids)}
    folder_of = {i: _folders(position[i])[0 if layout == "2014" else 1] for i in ids}

    (root / "annotations").mkdir(parents=True, exist_ok=True)
    for folder in sorted(set(folder_of.values())):
        mine = {i for i in ids if folder_of[i] == folder}
        images = [{**im, "file_name": _file_name(folder, im["id"])} for im in instances["images"] if im["id"] in mine]
        inst = {**instances, "images": images,
                "annotations": [a for a in instances["annotations"] if a["image_id"] in mine]}
        caps = {**captions, "images": images,
                "annotations": [a for a in captions["annotations"] if a["image_id"] in mine]}
        (root / "annotations" / f"instances_{folder}.json").write_text(json.dumps(inst))
        (root / "annotations" / f"captions_{folder}.json").write_text(json.dumps(caps))
        (root / "images" / folder).mkdir(parents=True, exist_ok=True)
        for im in instances["images"]:
            if im["id"] in mine:
                os.symlink(COCO_MINI / "images" / im["file_name"], root / "images" / folder / _file_name(folder, im["id"]))

    sentences = {}
    for a in captions["annotations"]:
        sentences.setdefault(a["image_id"], []).append({"raw": a["caption"], "sentid": a["id"]})
    karpathy = {"dataset": "coco", "images": [
        {"filepath": _folders(position[i])[0], "filename": _file_name(_folders(position[i])[0], i),
         "cocoid": i, "split": KARPATHY_SPLITS[position[i] % 3], "sentences": sentences.get(i, [])}
        for i in ids]}
    (root / "dataset_coco.json").write_text(json.dumps(karpathy))
    return root
