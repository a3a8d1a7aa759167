"""Dataset folders: layout, offline loading of every config, content hashes, atomic writes."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from datasets import Dataset, Features, Image, List, Value
from PIL import Image as PILImage

from dataset_builders.hf_folder import (
    DatasetCard,
    read_card_metadata,
    verify_dataset_folder,
    write_dataset_folder,
)
from odbench.hashing import config_hash

CARD = DatasetCard(name="odbench-tiny", version="1.2.3", license="cc-by-4.0",
                   citation="@misc{odbench, title={ODBench}}", description="A tiny test dataset.",
                   attribution="Pictograms: OpenMoji, CC BY-SA 4.0.")
MANIFEST = {"builder_version": "0.1.0", "seed": 0, "source": {"kind": "hand", "split": "test"},
            "parameters": {"min_npmi": 0.15}}

# Features for nullable and list columns must be given explicitly: `pair` is a list or None.
IMAGE_FEATURES = Features({
    "image_id": Value("string"), "image": Image(), "removed": Value("string"),
    "objects": List(Value("string")), "pair": List(Value("string")),
    "mask_area": Value("float64"), "gallery_pos": Value("int64"),
})
CAPTION_FEATURES = Features({"caption_id": Value("string"), "text": Value("string"),
                             "mentions": List(Value("string"))})


def pixels(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (6, 8, 3), dtype=np.uint8)


def image_rows(arrays=None) -> list[dict]:
    arrays = arrays or [pixels(k) for k in range(3)]
    return [{"image_id": f"i{k}" if k == 0 else f"i0-no-dog{k}", "image": PILImage.fromarray(a),
             "removed": None if k == 0 else "dog", "objects": ["cat", "dog"][: 2 - (k > 0)],
             "pair": None if k == 0 else ["cat", "dog"], "mask_area": 0.125 * k, "gallery_pos": 2 - k}
            for k, a in enumerate(arrays)]


CAPTIONS = [{"caption_id": "c1", "text": "A dog and a cat.", "mentions": ["cat", "dog"]},
            {"caption_id": "c1-no-dog", "text": "A cat.", "mentions": ["cat"]}]


def write(out: Path, rows=None, **kw):
    return write_dataset_folder(out, {"images": (rows or image_rows(), IMAGE_FEATURES),
                                      "captions": (CAPTIONS, CAPTION_FEATURES)}, CARD, MANIFEST, **kw)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("build") / "odbench-tiny"
    write(out)
    return out


def test_layout_and_card(folder):
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
        "README.md", "captions/test-00000-of-00001.parquet", "images/test-00000-of-00001.parquet",
        "manifest/test-00000-of-00001.parquet"]
    meta = read_card_metadata(folder)
    assert (meta["version"], meta["license"]) == ("1.2.3", "cc-by-4.0")
    assert meta["citation"].startswith("@misc{odbench")
    assert [c["config_name"] for c in meta["configs"]] == ["images", "captions", "manifest"]
    assert meta["configs"][0]["data_files"] == [{"split": "test", "path": "images/test-*.parquet"}]
    assert "OpenMoji" in (folder / "README.md").read_text()
    # Images are stored as PNG bytes.
    cell = pq.read_table(folder / "images/test-00000-of-00001.parquet").column("image")[0].as_py()
    assert cell["bytes"].startswith(b"\x89PNG")


def test_every_config_loads_offline_with_load_dataset(folder):
    # A fresh interpreter with HF_HUB_OFFLINE=1 set before `datasets` is imported, as users run it.
    code = ("import json, sys; from datasets import load_dataset\n"
            "out = {}\n"
            "for name in ['images', 'captions', 'manifest']:\n"
            "    ds = load_dataset(sys.argv[1], name, split='test')\n"
            "    out[name] = [len(ds), {k: type(v).__name__ for k, v in ds[0].items()}]\n"
            "print(json.dumps(out))\n")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_CACHE": str(folder.parent / "cache")}
    res = subprocess.run([sys.executable, "-c", code, str(folder)], env=env, capture_output=True,
                         text=True, check=True)
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert got["images"][0] == 3 and got["captions"][0] == 2 and got["manifest"][0] == 1
    assert got["images"][1]["image"] == "PngImageFile" and got["images"][1]["pair"] == "NoneType"
    assert set(got["manifest"][1]) >= {"name", "version", "seed", "source", "content_hashes", "dataset_hash"}


def test_manifest_hashes_are_over_decoded_rows(folder):
    manifest = verify_dataset_folder(folder)
    assert (manifest["name"], manifest["version"], manifest["seed"]) == ("odbench-tiny", "1.2.3", "0")
    assert manifest["source"] == MANIFEST["source"]   # structured values: stored as JSON, read back decoded
    hashes = manifest["content_hashes"]
    assert set(hashes) == {"images", "captions"}
    from datasets import load_dataset
    loaded = load_dataset(str(folder), "captions", split="test", cache_dir=str(folder.parent / "c2"))
    assert hashes["captions"] == config_hash(loaded) == config_hash(CAPTIONS)


def test_same_rows_same_hash_one_pixel_different_hash(tmp_path, folder):
    again = write(tmp_path / "again")
    assert again.dataset_hash == verify_dataset_folder(folder)["dataset_hash"]
    # PNG bytes with other compression settings, and a Dataset instead of rows: same content.
    rows = image_rows()
    for r in rows:
        buf = io.BytesIO()
        r["image"].save(buf, format="PNG", compress_level=0)
        r["image"] = {"bytes": buf.getvalue(), "path": None}
    as_dataset = Dataset.from_list(rows, features=IMAGE_FEATURES)
    assert write(tmp_path / "recoded", rows=as_dataset).content_hashes == again.content_hashes

    arrays = [pixels(k) for k in range(3)]
    arrays[1][2, 3, 0] ^= 1
    changed = write(tmp_path / "changed", rows=image_rows(arrays))
    assert changed.content_hashes["images"] != again.content_hashes["images"]
    assert changed.content_hashes["captions"] == again.content_hashes["captions"]
    assert changed.dataset_hash != again.dataset_hash


def test_refuses_to_overwrite_and_writes_atomically(tmp_path):
    out = tmp_path / "ds"
    out.mkdir()  # an empty folder is fine to write into
    first = write(out)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write(out)
    arrays = [pixels(k + 10) for k in range(3)]
    second = write(out, rows=image_rows(arrays), overwrite=True)
    assert second.dataset_hash != first.dataset_hash
    assert verify_dataset_folder(out)["dataset_hash"] == second.dataset_hash

    bad = image_rows()
    del bad[1]["mask_area"]
    with pytest.raises(ValueError, match="row 1: missing columns \\['mask_area'\\]"):
        write(out, rows=bad, overwrite=True)
    assert verify_dataset_folder(out)["dataset_hash"] == second.dataset_hash  # old one intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]  # no temp folders left behind


def test_rejects_empty_configs_and_computed_manifest_fields(tmp_path):
    with pytest.raises(ValueError, match="no rows"):
        write_dataset_folder(tmp_path / "a", {"captions": ([], CAPTION_FEATURES)}, CARD, MANIFEST)
    with pytest.raises(ValueError, match="computed here"):
        write_dataset_folder(tmp_path / "b", {"captions": (CAPTIONS, CAPTION_FEATURES)}, CARD,
                             {"dataset_hash": "x"})
    assert not any(tmp_path.iterdir())


def test_verify_detects_tampering(tmp_path):
    out = tmp_path / "ds"
    write(out)
    path = out / "captions/test-00000-of-00001.parquet"
    table = pq.read_table(path)
    rows = table.to_pylist()
    rows[0]["text"] = "A dog and a cat!"
    pq.write_table(type(table).from_pylist(rows, schema=table.schema), path)
    with pytest.raises(ValueError, match="config 'captions' does not match the manifest's content hash"):
        verify_dataset_folder(out)


def test_large_configs_are_sharded_in_order(tmp_path, monkeypatch, folder):
    import dataset_builders.hf_folder as hf_folder
    monkeypatch.setattr(hf_folder, "MAX_SHARD_BYTES", 1)      # every row group its own shard
    rows = [dict(r, image_id=f"{r['image_id']}-{n}") for n in range(84) for r in image_rows()]  # 3 row groups
    info = write(tmp_path / "sharded", rows=rows)
    shards = sorted(p.name for p in (tmp_path / "sharded" / "images").iterdir())
    assert len(shards) > 1 and shards[0].endswith(f"-of-{len(shards):05d}.parquet")
    from datasets import load_dataset
    loaded = load_dataset(str(tmp_path / "sharded"), "images", split="test", cache_dir=str(tmp_path / "cache"))
    assert loaded["image_id"] == [r["image_id"] for r in rows]
    assert info.num_rows["images"] == len(rows)


@pytest.mark.parametrize("umask", [0o022, 0o002], ids=["umask-022", "umask-002"])
def test_folder_mode_follows_the_umask(tmp_path, umask):
    # issue #11: the folder was renamed from a mkdtemp folder and kept its private 0700
    old = os.umask(umask)
    try:
        out = tmp_path / f"ds-{umask:o}"
        write_dataset_folder(out, {"captions": (CAPTIONS, CAPTION_FEATURES)}, CARD, MANIFEST)
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o777 & ~umask
    assert all(p.stat().st_mode & 0o777 == (0o777 if p.is_dir() else 0o666) & ~umask for p in out.rglob("*"))
