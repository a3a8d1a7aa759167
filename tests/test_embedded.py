"""The shipped odbench-picto is exactly what its recipe builds, and loads like any dataset."""
from __future__ import annotations

import dataclasses

import pytest
from datasets import load_dataset

from dataset_builders.embedded import PictoRecipe, build_picto, embedded_path
from odbench.data import load_benchmark, read_manifest

SHIPPED = embedded_path()


def test_shipped_benchmark_loads_and_verifies():
    benchmark = load_benchmark()                       # the default dataset, hash-verified
    assert (benchmark.name, benchmark.version) == ("odbench-picto", "1.0.0")
    assert len(benchmark.pairs) == 6
    for config in ("images", "captions", "pairs", "pair_stats", "lexicon", "manifest"):
        assert len(load_dataset(str(SHIPPED), config, split="test")) > 0


def test_shipped_benchmark_rebuilds_to_the_same_hash(tmp_path):
    info, _ = build_picto(tmp_path / "rebuilt")
    assert info.dataset_hash == read_manifest(SHIPPED)["dataset_hash"]


def test_seed_changes_the_content(tmp_path):
    small = PictoRecipe(n_images={"train": 600, "test": 30})
    a, _ = build_picto(tmp_path / "a", small)
    b, _ = build_picto(tmp_path / "b", dataclasses.replace(small, seed=1))
    assert a.dataset_hash != b.dataset_hash


def test_exact_remover_builds(tmp_path):
    small = PictoRecipe(n_images={"train": 600, "test": 30})
    info, report = build_picto(tmp_path / "exact", small, inpainter="exact")
    assert read_manifest(info.path)["inpainter"].startswith("exact/")
    assert report["images"]["decorrelate"] > 0
