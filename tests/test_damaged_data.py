"""A dataset file damaged on disk (an image whose bytes no decoder reads) is one line naming the
config, the shard file and the row, and what to do: in odbench-eval and in check-benchmark."""
from __future__ import annotations

import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from console import assert_one_line_error, run_console


@pytest.fixture()
def damaged(dataset, tmp_path):
    copy = tmp_path / "damaged" / dataset.name
    shutil.copytree(dataset, copy)
    (shard,) = sorted((copy / "images").glob("*.parquet"))
    table = pq.read_table(shard)
    images = table.column("image").to_pylist()
    images[2] = {"bytes": b"\x89PNG but then nothing an image decoder reads", "path": None}
    index = table.schema.get_field_index("image")
    pq.write_table(table.set_column(index, table.schema.field(index), pa.array(images, table.schema.field(index).type)),
                   shard)
    return copy, shard


def expected(shard) -> str:
    return f"error: row 2 of {shard} (row 2 of config 'images') cannot be decoded (UnidentifiedImageError: "


ADVICE = "the file is damaged; download the dataset again or rebuild it, then rerun"


@pytest.mark.parametrize("extra", [[], ["--num-workers", "1"]])
def test_odbench_eval_names_the_shard_and_row(damaged, tmp_path, extra):
    copy, shard = damaged
    proc = run_console("odbench-eval", "--model", "open_clip:odbench-tiny", "--dataset", copy,
                       "--output", tmp_path / "r.json", *extra)
    assert_one_line_error(proc, expected(shard), ADVICE)
    assert not (tmp_path / "r.json").exists()


def test_check_benchmark_names_the_shard_and_row(damaged):
    copy, shard = damaged
    assert_one_line_error(run_console("odbench", "check-benchmark", copy), expected(shard), ADVICE)


def test_a_row_is_placed_in_its_shard_of_several():
    from odbench.data import embedded_path, locate_damage
    from odbench.errors import DamagedRow

    shards = sorted((embedded_path() / "images").glob("*.parquet"))
    first = pq.ParquetFile(shards[0]).metadata.num_rows
    message = str(locate_damage("odbench-picto", DamagedRow("images", first + 5, "OSError: broken data stream")))
    assert message.startswith(f"row 5 of {shards[1]} (row {first + 5} of config 'images') cannot be decoded "
                              f"(OSError: broken data stream)")
