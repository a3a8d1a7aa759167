"""Two local dataset folders of the same name never share datasets' cache."""
from __future__ import annotations

from odbench.data import load_benchmark
from tiny_dataset import CAPTIONS, write_tiny_dataset


def test_a_second_folder_of_the_same_name_loads_its_own_rows(tmp_path):
    # datasets alone caches a local folder by its name and config: the second folder would
    # load the first one's rows and pass the hash check against the first one's manifest
    first, second = tmp_path / "a" / "odbench-tiny", tmp_path / "b" / "odbench-tiny"
    write_tiny_dataset(first)
    write_tiny_dataset(second, edit=lambda images, captions: captions[0].update(text="A dog and a frisbee."))
    assert load_benchmark(first).texts != load_benchmark(second).texts
    assert sorted(load_benchmark(second).texts) == sorted(
        ["A dog and a frisbee."] + [c[-1] for c in CAPTIONS[1:]])
