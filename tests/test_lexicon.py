"""The lexicon decides M(c), so every relevance label depends on it: these are its examples."""
import json

import pytest

from odbench.categories import BY_NAME, CATEGORY_NAMES, COCO_CATEGORIES
from odbench.lexicon import Lexicon

from coco_trees import COCO_MINI, needs_coco_mini

LEX = Lexicon.coco()


def test_categories_are_cocos_80():
    assert len(COCO_CATEGORIES) == 80 and len(set(CATEGORY_NAMES)) == 80
    assert BY_NAME["hot dog"].id == 58 and BY_NAME["hot dog"].supercategory == "food"
    assert BY_NAME["toothbrush"].id == 90
    assert LEX.categories == set(CATEGORY_NAMES)  # every category can be mentioned


@pytest.mark.parametrize("text, expected", [
    ("A hot dog on a plate", {"hot dog"}),                 # longest match: not a dog
    ("a teddy bear on a bed", {"teddy bear", "bed"}),      # not a bear
    ("a polar bear on a rock", {"bear"}),
    ("A fire hydrant next to a stop sign", {"fire hydrant", "stop sign"}),
    ("two microwave ovens", {"microwave"}),                 # not an oven
    ("A man holding a tv remote", {"person", "remote"}),    # not a tv
    ("a man throws a ball", {"person", "sports ball"}),
    ("A cat on a sofa", {"cat", "couch"}),
    ("Dogs chasing puppies", {"dog"}),
    ("a woman, two men and some children", {"person"}),
    ("the motorbike and the bike", {"motorcycle", "bicycle"}),
    ("a television and a laptop computer", {"tv", "laptop"}),
    ("her cellphone and his phone", {"cell phone"}),
    ("a doughnut and donuts", {"donut"}),
    ("a glass of water", set()),                           # glass alone is not a wine glass
    ("a glass of wine", {"wine glass"}),
    ("a yellow and orange fruit", set()),                  # orange the colour
    ("pears and oranges", {"orange"}),
    ("a baseball player swings a bat", {"person", "baseball bat"}),
    ("people wait at the train station", {"person"}),      # a station is not a train
    ("a toddler on a toilet bowl", {"person", "toilet"}),   # not a bowl
    ("a laptop with an mp3 player", {"laptop"}),            # a player that is not a person
])
def test_mentions(text, expected):
    assert LEX.mentions(text) == expected


def test_possessives_hyphens_and_case():
    assert LEX.mentions("The dog's frisbee") == {"dog", "frisbee"}
    assert LEX.mentions("the dogs' bowls") == {"dog", "bowl"}
    assert LEX.mentions("A HOT-DOG STAND") == {"hot dog"}
    assert LEX.mentions("hot, dog") == {"dog"}              # a comma breaks a phrase
    assert LEX.mentions("hotdogs") == {"hot dog"}
    assert LEX.mentions("A cat-shaped cushion") == {"cat"}
    assert LEX.mentions("a dogged man") == {"person"}       # word boundaries


def test_find_gives_spans_for_the_caption_editor():
    text = "A man, a dog and a Fire Hydrant."
    found = LEX.find(text)
    assert [(m.text, m.category) for m in found] == [
        ("man", "person"), ("dog", "dog"), ("Fire Hydrant", "fire hydrant")]
    assert all(text[m.start:m.end] == m.text for m in found)
    assert found[2].phrase == "fire hydrant"


def test_rows_round_trip_and_version():
    assert LEX.version == "1.0.0"
    rows = LEX.rows()
    assert {"phrase": "puppies", "category": "dog"} in rows
    assert {"phrase": "train station", "category": None} in rows   # a blocking phrase
    again = Lexicon.from_rows(rows, LEX.version)
    assert again.rows() == rows and again.version == "1.0.0"
    assert again.mentions("a hot dog near a puppy") == {"hot dog", "dog"}
    assert Lexicon.from_rows([{"phrase": "Pooch", "category": "dog"}], "x").mentions("a pooch") == {"dog"}


@needs_coco_mini
def test_real_captions_mostly_name_annotated_objects():
    root = COCO_MINI / "annotations"
    inst = json.loads((root / "instances_val2017.json").read_text())
    caps = json.loads((root / "captions_val2017.json").read_text())
    names = {c["id"]: c["name"] for c in inst["categories"]}
    objects: dict[int, set[str]] = {}
    for a in inst["annotations"]:
        objects.setdefault(a["image_id"], set()).add(names[a["category_id"]])
    hits = total = 0
    for c in caps["annotations"]:
        for m in LEX.mentions(c["caption"]):
            total += 1
            hits += m in objects.get(c["image_id"], set())
    assert total > 550 and hits / total > 0.94   # measured: 591/613 = 96.4%
