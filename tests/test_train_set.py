"""The synthetic training set: remove and paste rows that break the correlated pairs."""
from __future__ import annotations

import pytest

from dataset_builders.embedded import PictoRecipe, read_pictoworld
from dataset_builders.hf_folder import DatasetCard
from dataset_builders.pair_stats import compute_pair_stats, selected_pairs
from dataset_builders.pictoworld import generate
from dataset_builders.train_set import TrainSetConfig, build_train_set, naming_caption
from odbench.data import load_config
from odbench.lexicon import Lexicon


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("pw") / "pictoworld"
    generate(root, seed=0, n_images={"train": 600}, correlation={"train": 0.9})
    train = read_pictoworld(root, "train")
    selected = selected_pairs(compute_pair_stats(train, PictoRecipe().selection))
    card = DatasetCard(name="odbench-picto-train", version="1.0.0", license="cc-by-sa-4.0",
                       citation="@misc{x}", description="test")
    out = tmp_path_factory.mktemp("out") / "train"
    info, report = build_train_set(train, selected, out, TrainSetConfig("odbench-picto-train", "1.0.0",
                                                                        paste_per_pair=10), card)
    return train, selected, load_config(out, "train"), report


def test_rows_break_the_selected_pairs(built):
    train, selected, rows, report = built
    assert {"remove", "paste"} == set(rows["kind"]) and report["rows"] == len(rows)
    objects = {im.id: im.objects for im in train.images}
    lexicon = Lexicon.coco()
    for row in rows:
        a, b = row["pair"]
        assert sorted(lexicon.mentions(row["caption"])) == row["mentions"]
        if row["kind"] == "remove":
            present = objects[row["src_id"]] - {row["category"]}
            assert row["category"] not in row["mentions"]          # the caption is true of the edit
            assert set(row["mentions"]) <= present
        else:
            assert row["category"] in row["mentions"]
            partner = b if row["category"] == a else a
            assert partner not in objects[row["src_id"]]          # pasted where its partner is absent


def test_naming_caption_adds_one_mention():
    lexicon = Lexicon.coco()
    text = naming_caption("A cat sitting on a couch.", "frisbee")
    assert text == "A cat sitting on a couch with a frisbee nearby."
    assert lexicon.mentions(text) == {"cat", "couch", "frisbee"}
    assert naming_caption("Two dogs", "umbrella").endswith("with an umbrella nearby.")
