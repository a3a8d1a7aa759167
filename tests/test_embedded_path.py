"""`odbench.embedded_path()`: the shipped dataset's folder, for `load_dataset` from anywhere."""
from __future__ import annotations

import pytest
from datasets import load_dataset

import odbench
from odbench.errors import DatasetError


def test_load_dataset_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                # not the repository: the path must not be relative
    folder = odbench.embedded_path()
    assert folder.is_absolute() and folder.name == "odbench-picto"
    captions = load_dataset(str(folder), "captions", split="test", cache_dir=str(tmp_path / "cache"))
    assert {"caption_id", "text", "mentions"} <= set(captions.column_names)


def test_an_unknown_name_says_what_is_shipped():
    with pytest.raises(DatasetError, match="the package ships odbench-picto"):
        odbench.embedded_path("odbench-coco")
