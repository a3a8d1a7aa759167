"""The shipped odbench-picto is exactly what its recipe builds, and loads like any dataset."""
from __future__ import annotations

import dataclasses

from datasets import load_dataset

from dataset_builders.embedded import PictoRecipe, build_picto, embedded_path, identified
from odbench.data import load_benchmark, load_config, read_manifest

SHIPPED = embedded_path()
# The dataset hash of odbench-picto v2.0.0. v2.1.0 only adds a validation split, so its test
# split, and with it the dataset hash, must stay this (SPEC 9): results on v2.0.0 stay valid.
V2_0_0_DATASET_HASH = "502b301486f2bd74b98f98717d57d1d8d8899f86fce248b6d13daffa2c697d72"


def test_shipped_benchmark_loads_and_verifies(tmp_path):
    benchmark = load_benchmark()                       # the default dataset, hash-verified
    assert (benchmark.name, benchmark.version) == ("odbench-picto", "2.1.0")
    assert (benchmark.spec_version, benchmark.caption_style) == ("2", "exhaustive")
    assert len(benchmark.pairs) == 6
    assert benchmark.dataset_hash == V2_0_0_DATASET_HASH
    validation = load_benchmark(split="validation")    # verified against its own split hash
    assert validation.pairs == benchmark.pairs and validation.dataset_hash == V2_0_0_DATASET_HASH
    for config in ("images", "captions", "pairs", "pair_stats", "lexicon", "manifest"):
        # A fresh cache: `datasets` would serve an older odbench-picto from its cache by name.
        assert len(load_dataset(str(SHIPPED), config, split="test", cache_dir=str(tmp_path))) > 0
    for config in ("images", "captions"):
        assert len(load_dataset(str(SHIPPED), config, split="validation", cache_dir=str(tmp_path))) > 0


def test_shipped_benchmark_rebuilds_to_the_same_hashes(tmp_path):
    info, _ = build_picto(tmp_path / "rebuilt")
    shipped = read_manifest(SHIPPED)
    assert info.dataset_hash == shipped["dataset_hash"] == V2_0_0_DATASET_HASH
    rebuilt = read_manifest(info.path)
    # Both splits, config by config (the validation split's images and captions too).
    assert rebuilt["splits"] == shipped["splits"] and set(shipped["splits"]) == {"test", "validation"}


def test_shipped_benchmark_is_large_enough():
    counts = read_manifest(SHIPPED)["counts"]
    assert counts["images"]["decorrelate"] >= 600
    assert min(counts["decorrelate_per_pair"].values()) >= 80
    # Controls are matched: one per decorrelate edit, most of them from the same scene.
    assert counts["images"]["control"] == counts["images"]["decorrelate"]
    assert counts["decorrelate_with_same_source_control"] > counts["images"]["decorrelate"] / 2
    size = sum(p.stat().st_size for p in SHIPPED.rglob("*") if p.is_file())
    assert size < 30 * 2**20


def test_shipped_validation_split_is_built_like_test():
    manifest = read_manifest(SHIPPED)
    counts = manifest["validation"]["counts"]
    assert counts["source_images"] == PictoRecipe().validation_images
    assert set(counts["decorrelate_per_pair"]) == set(manifest["counts"]["decorrelate_per_pair"])
    assert min(counts["decorrelate_per_pair"].values()) >= 10
    assert counts["images"]["control"] == counts["images"]["decorrelate"]
    source = manifest["validation"]["source"]
    assert (source["correlation"], source["pair_rate"]) == (0.8, 0.12)     # the test recipe
    assert source["generator_seed"] == PictoRecipe().validation_seed != manifest["source"]["generator_seed"]


def test_seed_changes_the_content(tmp_path):
    small = PictoRecipe(n_images={"train": 600, "test": 30}, validation_images=0)
    a, _ = build_picto(tmp_path / "a", small)
    b, _ = build_picto(tmp_path / "b", dataclasses.replace(small, seed=1))
    assert a.dataset_hash != b.dataset_hash
    assert "splits" not in read_manifest(a.path)       # no validation scenes, no validation split
    # neither is the published recipe, so neither carries its name (odbench-picto 2.1.0)
    manifests = read_manifest(a.path), read_manifest(b.path)
    assert {m["name"] for m in manifests} & {"odbench-picto"} == set()
    assert manifests[0]["name"] != manifests[1]["name"]
    assert manifests[0]["name"].startswith("odbench-picto-variant-") and manifests[0]["version"] == "2.1.0"
    recipe = manifests[1]["source"]["recipe"]
    assert recipe["variant_of"] == "odbench-picto 2.1.0"
    assert recipe["differences"][:2] == ["seed 1 (published: 0)",
                                         "n_images {'train': 600, 'test': 30} (published: {'train': 2000, 'test': 550})"]
    assert "validation_images 0 (published: 150)" in recipe["differences"]


def test_the_shipped_manifest_says_it_is_the_published_recipe():
    assert read_manifest(SHIPPED)["source"]["recipe"] == "published"
    assert identified(PictoRecipe(), "telea") == (PictoRecipe(), "published")


def test_a_named_variant_keeps_its_name():
    recipe = PictoRecipe(name="my-picto", seed=7)
    assert identified(recipe, "exact") == (recipe, {
        "variant_of": "odbench-picto 2.1.0",
        "differences": ["seed 7 (published: 0)", "inpainter 'exact' (published: 'telea')"]})


def test_exact_remover_builds(tmp_path):
    small = PictoRecipe(n_images={"train": 600, "test": 30}, validation_images=12)
    info, report = build_picto(tmp_path / "exact", small, inpainter="exact")
    assert read_manifest(info.path)["inpainter"].startswith("exact/")
    assert report["images"]["decorrelate"] > 0
    assert report["validation"]["images"]["decorrelate"] > 0    # each split re-drawn from its own scenes


def test_shipped_edits_follow_the_spec():
    images = load_config(SHIPPED, "images").select_columns(
        ["image_id", "src_id", "edit_kind", "removed", "objects", "mask_area"]).to_list()
    captions = load_config(SHIPPED, "captions").to_list()
    objects = {r["image_id"]: set(r["objects"]) for r in images}
    mentions = {c["caption_id"]: set(c["mentions"]) for c in captions}
    for r in images:
        if r["edit_kind"] != "original":
            assert objects[r["image_id"]] == objects[r["src_id"]] - {r["removed"]}
            assert 0 < r["mask_area"] <= 0.30
            # Exhaustive style: a relevant caption names exactly the edited image's objects.
            relevant = [c for c in captions if c["src_id"] == r["src_id"] and mentions[c["caption_id"]] == objects[r["image_id"]]]
            assert relevant, r["image_id"]
    for c in captions:
        if c["edit_kind"] == "original":
            assert mentions[c["caption_id"]] == objects[c["src_id"]]      # every object named
        else:
            original = c["caption_id"].split("-no-")[0]
            assert mentions[c["caption_id"]] == mentions[original] - {c["removed"]}
            assert mentions[c["caption_id"]] == objects[c["src_id"]] - {c["removed"]}
