"""The dataset card shows pictures: examples.png (original and edited images with their
captions), linked from the card, added without changing the content hash."""
from __future__ import annotations

import shutil

from PIL import Image

from dataset_builders.__main__ import main as builders
from dataset_builders.card_examples import FILE_NAME, add_examples
from dataset_builders.hf_folder import read_card_metadata
from odbench.data import EMBEDDED_DIR, load_benchmark

SHIPPED = EMBEDDED_DIR / "odbench-picto"
LINK = f"![Original and edited test images with their captions]({FILE_NAME})"


def test_the_shipped_card_shows_examples_and_the_check_table():
    card = (SHIPPED / "README.md").read_text()
    assert LINK in card
    assert "## Validity (SPEC section 8)" in card and "| label oracle |" in card
    assert (SHIPPED / FILE_NAME).stat().st_size < 500_000
    with Image.open(SHIPPED / FILE_NAME) as grid:
        assert grid.format == "PNG" and grid.height > 6 * 150     # six pairs, one row each


def test_adding_examples_changes_no_hash(dataset, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(dataset, folder)
    before = read_card_metadata(folder)["odbench"]["dataset_hash"]
    path = add_examples(folder)
    assert path == folder / FILE_NAME
    with Image.open(path) as grid:
        assert grid.width > 2 * 176
    add_examples(folder)                                  # again: the section is replaced, not doubled
    card = (folder / "README.md").read_text()
    assert card.count("## Examples") == 1 and card.count(LINK) == 1
    assert card.index("## Examples") < card.index("## Licence")
    assert load_benchmark(folder).dataset_hash == before   # loads and verifies as before


def test_the_command_checks_the_hash(dataset, tmp_path, capsys):
    folder = tmp_path / "copy"
    shutil.copytree(dataset, folder)
    assert builders(["card-examples", str(folder)]) == 0
    assert '"dataset_hash"' in capsys.readouterr().out and (folder / FILE_NAME).is_file()
    assert builders(["card-examples", str(tmp_path / "nothing")]) == 2
    assert "not a dataset folder" in capsys.readouterr().err
