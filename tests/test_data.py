"""Loading a test dataset: where it comes from, what is checked, and tampering detection."""
from __future__ import annotations

import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import odbench.data as data
from odbench.data import load_benchmark, resolve_dataset
from odbench.errors import DatasetError
from odbench.queries import build_query_sets

from tiny_dataset import CAPTIONS, write_tiny_dataset


def test_dataset_names_say_where_they_come_from(dataset, tmp_path):
    assert resolve_dataset(None) == (str(data.EMBEDDED_DIR / "odbench-picto"), True)
    assert resolve_dataset(str(dataset)) == (str(dataset), True)
    assert resolve_dataset(f"local-dir:{dataset}") == (str(dataset), True)
    assert resolve_dataset("some-org/odbench") == ("some-org/odbench", False)
    assert resolve_dataset("hf-hub:some-org/odbench") == ("some-org/odbench", False)
    with pytest.raises(DatasetError, match="not found"):
        resolve_dataset(str(tmp_path / "missing"))
    with pytest.raises(DatasetError, match="not found"):
        resolve_dataset(f"local-dir:{tmp_path / 'missing'}")


def test_hub_ids_go_through_load_dataset_with_the_revision(dataset, monkeypatch):
    """Up to the network boundary: a hub id and its revision reach datasets.load_dataset."""
    import datasets

    calls = []
    real = datasets.load_dataset

    def fake(path, name=None, revision=None, **kw):
        calls.append((path, name, revision))
        return real(str(dataset), name)          # serve the local copy instead of the hub

    monkeypatch.setattr(datasets, "load_dataset", fake)
    benchmark = load_benchmark("some-org/odbench-tiny", revision="v0.0.1")
    assert benchmark.revision == "v0.0.1"
    assert {c[0] for c in calls} == {"some-org/odbench-tiny"} and {c[2] for c in calls} == {"v0.0.1"}
    assert {c[1] for c in calls} >= {"manifest", "images", "captions", "pairs", "lexicon"}


def test_hub_errors_are_one_line(monkeypatch):
    import datasets

    def offline(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'some-org/odbench' on the Hub (LocalEntryNotFoundError)\nmore")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(DatasetError, match="^cannot load config 'manifest' of some-org/odbench: Couldn't reach") as exc:
        load_benchmark("some-org/odbench")
    assert "\n" not in str(exc.value)


def test_modified_data_fails_the_content_hash(dataset, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(dataset, copy)
    shard = next((copy / "captions").glob("*.parquet"))
    table = pq.read_table(shard)
    texts = table.column("text").to_pylist()
    texts[0] = "A cat and a frisbee."
    pq.write_table(table.set_column(table.schema.get_field_index("text"), "text", pa.array(texts)), shard)
    with pytest.raises(DatasetError, match="does not match the manifest's content hash"):
        load_benchmark(copy)
    assert load_benchmark(copy, verify=False).captions.ids  # the check can be skipped knowingly


def test_malformed_datasets_are_rejected(tmp_path):
    bad = tmp_path / "dup"
    write_tiny_dataset(bad, edit=lambda images, captions: captions[1].update(caption_id="c1"))
    with pytest.raises(DatasetError, match="caption_id values are not unique"):
        load_benchmark(bad)
    orphan = tmp_path / "orphan"
    write_tiny_dataset(orphan, edit=lambda images, captions: captions[0].update(src_id="i9"))
    with pytest.raises(DatasetError, match="src_id 'i9' is not an original image"):
        load_benchmark(orphan)
    no_caption = tmp_path / "no-caption"
    # i3-no-frisbee's only relevant caption is the edited c5-no-frisbee; make it name the frisbee.
    write_tiny_dataset(no_caption, edit=lambda images, captions: captions[6].update(mentions=["dog", "frisbee"]))
    with pytest.raises(DatasetError, match="no relevant caption"):   # SPEC 3, checked with the queries
        build_query_sets(load_benchmark(no_caption))


def test_a_rebuilt_folder_is_loaded_anew_not_from_the_cache(tmp_path):
    # `datasets` caches a local folder by its name: without odbench's own cache key a rebuilt
    # folder (here: another caption style, same path) would load as the old data.
    folder = tmp_path / "odbench-tiny"
    write_tiny_dataset(folder, style="partial")
    first = load_benchmark(folder)
    shutil.rmtree(folder)
    write_tiny_dataset(folder, style="exhaustive")
    second = load_benchmark(folder)
    assert (first.caption_style, second.caption_style) == ("partial", "exhaustive")
    assert first.dataset_hash != second.dataset_hash and "i4" in second.sources


def test_caption_style_is_covered_by_the_dataset_hash(tmp_path):
    folder = tmp_path / "tiny"
    write_tiny_dataset(folder, style="exhaustive")
    table = pq.read_table(folder / "manifest" / "test-00000-of-00001.parquet")
    column = table.schema.get_field_index("caption_style")
    table = table.set_column(column, "caption_style", pa.array(["partial"]))
    pq.write_table(table, folder / "manifest" / "test-00000-of-00001.parquet")
    with pytest.raises(DatasetError, match="dataset_hash does not match"):
        load_benchmark(folder)


def test_a_second_folder_of_the_same_name_loads_its_own_rows(tmp_path):
    # datasets alone caches a local folder by its name and config: the second folder would
    # load the first one's rows and pass the hash check against the first one's manifest
    first, second = tmp_path / "a" / "odbench-tiny", tmp_path / "b" / "odbench-tiny"
    write_tiny_dataset(first)
    write_tiny_dataset(second, edit=lambda images, captions: captions[0].update(text="A dog and a frisbee."))
    assert load_benchmark(first).texts != load_benchmark(second).texts
    assert sorted(load_benchmark(second).texts) == sorted(
        ["A dog and a frisbee."] + [c[-1] for c in CAPTIONS[1:]])
