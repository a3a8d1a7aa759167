"""Human-style captions for PictoWorld scenes.

A small grammar with synonyms, plurals and counts, relations the layout really realises
("holding", "on"), loose ones ("next to") and scene words ("on the beach").  Two caption
styles (SPEC section 1): `partial` captions, like people's, often leave some present objects
unnamed; `exhaustive` captions name every present category (test splits, so that relevance
can be decided by the object set).  Neither ever names an absent object.  Every word that
names a category comes from `NOUNS`, and the rest of the grammar avoids category words, so
the mentions a lexicon finds are exactly the categories the caption chose.
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from odbench.dataset_format import EXHAUSTIVE, PARTIAL

from .backgrounds import SCENE_TYPES

# category -> (singular, plural) names; the first is the plain one.
NOUNS: dict[str, tuple[tuple[str, str], ...]] = {
    "person": (("person", "people"), ("man", "men"), ("woman", "women")),
    "bicycle": (("bicycle", "bicycles"), ("bike", "bikes")),
    "car": (("car", "cars"),),
    "motorcycle": (("motorcycle", "motorcycles"), ("motorbike", "motorbikes")),
    "airplane": (("airplane", "airplanes"), ("plane", "planes")),
    "bus": (("bus", "buses"),), "train": (("train", "trains"),), "truck": (("truck", "trucks"),),
    "boat": (("boat", "boats"),),
    "traffic light": (("traffic light", "traffic lights"),), "stop sign": (("stop sign", "stop signs"),),
    "bird": (("bird", "birds"),), "cat": (("cat", "cats"), ("kitten", "kittens")),
    "dog": (("dog", "dogs"), ("puppy", "puppies")), "horse": (("horse", "horses"),),
    "sheep": (("sheep", "sheep"),), "cow": (("cow", "cows"),), "elephant": (("elephant", "elephants"),),
    "zebra": (("zebra", "zebras"),), "giraffe": (("giraffe", "giraffes"),),
    "backpack": (("backpack", "backpacks"),), "umbrella": (("umbrella", "umbrellas"),),
    "handbag": (("handbag", "handbags"), ("purse", "purses")), "suitcase": (("suitcase", "suitcases"),),
    "frisbee": (("frisbee", "frisbees"),), "sports ball": (("ball", "balls"),), "kite": (("kite", "kites"),),
    "skateboard": (("skateboard", "skateboards"),),
    "bottle": (("bottle", "bottles"),), "wine glass": (("wine glass", "wine glasses"),),
    "cup": (("cup", "cups"), ("mug", "mugs")), "knife": (("knife", "knives"),), "spoon": (("spoon", "spoons"),),
    "bowl": (("bowl", "bowls"),), "banana": (("banana", "bananas"),), "apple": (("apple", "apples"),),
    "sandwich": (("sandwich", "sandwiches"),), "orange": (("tangerine", "tangerines"), ("tangerine", "oranges")),  # lone "orange" is a colour
    "broccoli": (("head of broccoli", "heads of broccoli"), ("broccoli", "broccoli")), "carrot": (("carrot", "carrots"),),
    "hot dog": (("hot dog", "hot dogs"),), "pizza": (("slice of pizza", "slices of pizza"), ("pizza", "pizzas")),
    "donut": (("donut", "donuts"), ("doughnut", "doughnuts")), "cake": (("cake", "cakes"),),
    "chair": (("chair", "chairs"),), "couch": (("couch", "couches"), ("sofa", "sofas")),
    "potted plant": (("potted plant", "potted plants"),), "bed": (("bed", "beds"),),
    "toilet": (("toilet", "toilets"),),
    "tv": (("tv", "tvs"), ("television", "televisions")), "laptop": (("laptop", "laptops"),),
    "mouse": (("computer mouse", "computer mice"), ("mouse", "mice")), "keyboard": (("keyboard", "keyboards"),),
    "cell phone": (("cell phone", "cell phones"), ("phone", "phones")),
    "book": (("book", "books"),), "clock": (("clock", "clocks"),), "vase": (("vase", "vases"),),
    "scissors": (("pair of scissors", "pairs of scissors"),), "teddy bear": (("teddy bear", "teddy bears"),),
    "toothbrush": (("toothbrush", "toothbrushes"),),
}
_NUMBERS = {2: "two", 3: "three", 4: "four", 5: "five"}
_MASS = {"broccoli"}  # "some broccoli", never "a broccoli"
_ANIMATE = {"person", "dog", "cat", "horse", "sheep", "cow", "elephant", "zebra", "giraffe", "bird"}
_STANCE = {"person": ("standing", "walking"), "bird": ("perched",)}  # default: "standing"
_ON_VERB = {"person": "riding", "cat": "sitting on", "dog": "sitting on", "bird": "sitting on"}
_HOLD_VERB = {"kite": "flying", "suitcase": "pulling", "backpack": "carrying", "handbag": "carrying"}


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def noun_phrase(category: str, count: int, rng: np.random.Generator, definite_count: bool = True) -> str:
    """'a dog', 'two puppies', 'some dogs' (the plain name is preferred)."""
    names = NOUNS[category]
    sing, plur = names[0] if rng.random() < 0.6 else names[int(rng.integers(len(names)))]
    if sing == plur and sing in _MASS:
        return f"some {sing}"
    if count == 1:
        return f"{_article(sing)} {sing}"
    if definite_count or rng.random() < 0.7:
        return f"{_NUMBERS.get(count, 'several')} {plur}"
    return f"some {plur}"


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _cap(s: str) -> str:
    return s[0].upper() + s[1:]


def _relations(scene: dict) -> list[tuple[str, str, str]]:
    """(subject category, relation, object category) the layout realises."""
    by_id = {l["id"]: l for l in scene["layers"]}
    out = []
    for l in scene["layers"]:
        if "rel" in l and l["rel"][1] in by_id:
            kind, other = l["rel"][0], by_id[l["rel"][1]]["category"]
            out.append((l["category"], "on", other) if kind == "on" else (other, "holding", l["category"]))
    return sorted(set(out))


def _relation_clause(subj: str, rel: str, obj: str, rng) -> str:
    # Singular on both sides: the relation holds for one instance, not necessarily all.
    s, o = noun_phrase(subj, 1, rng), noun_phrase(obj, 1, rng)
    if rel == "on":
        verb = _ON_VERB.get(subj, "on")
        if verb == "on" and rng.random() < 0.5:
            verb = "lying on"
    else:
        verb = _HOLD_VERB.get(obj, "holding" if rng.random() < 0.7 else "with")
    return f"{s} {verb} {o}"


def _pick(rng, cats: list[str], counts: Counter, exhaustive: bool) -> list[str]:
    """Which categories a caption names: all (exhaustive), else often all, otherwise a
    non-empty subset."""
    if exhaustive or len(cats) == 1 or rng.random() < 0.45:
        return list(cats)
    k = int(rng.integers(1, len(cats)))
    # big / animate things are named first, as people tend to
    weights = np.array([3.0 if c in _ANIMATE else 1.0 for c in cats]) * np.array([1 + counts[c] for c in cats])
    return sorted(rng.choice(cats, size=k, replace=False, p=weights / weights.sum()).tolist())


def one_caption(scene: dict, rng: np.random.Generator, exhaustive: bool = False) -> tuple[str, frozenset[str]]:
    """A caption and the categories it names (all of the scene's when `exhaustive`)."""
    counts = Counter(l["category"] for l in scene["layers"])
    st = SCENE_TYPES[scene["scene_type"]]
    place = st.places[int(rng.integers(len(st.places)))]
    cats = list(counts)
    rng.shuffle(cats)
    named = _pick(rng, cats, counts, exhaustive)
    order = [c for c in cats if c in named]
    rels = [r for r in _relations(scene) if r[0] in named and r[2] in named]
    template = int(rng.integers(7))
    if rels and template < 3:
        subj, rel, obj = rels[int(rng.integers(len(rels)))]
        rest = [noun_phrase(c, counts[c], rng) for c in order if c not in (subj, obj)]
        text = _relation_clause(subj, rel, obj, rng)
        if rest and rng.random() < 0.5:
            text += " next to " + _join(rest)
        elif rest:
            text = _join(rest + [text])
        return _cap(text + (f" {place}." if rng.random() < 0.6 else ".")), frozenset(named)
    nps = [noun_phrase(c, counts[c], rng, definite_count=rng.random() < 0.7) for c in order]
    if template == 3:
        verb = "is" if counts[order[0]] == 1 else "are"
        text = f"There {verb} {_join(nps)} {place}."
    elif template == 4:
        text = f"{st.nouns[int(rng.integers(len(st.nouns)))]} with {_join(nps)}."
    elif template == 5:
        lead = ("A picture of", "A drawing of", "A cartoon of", "An illustration of")[int(rng.integers(4))]
        text = f"{lead} {_join(nps)}" + (f" {place}." if rng.random() < 0.5 else ".")
    elif template == 6 and order[0] in _ANIMATE and len(nps) <= 3:
        stance = _STANCE.get(order[0], ("standing",))
        text = f"{nps[0]} {stance[int(rng.integers(len(stance)))]}"
        if len(nps) > 1:
            text += " next to " + _join(nps[1:])
        text += f" {place}."
    else:
        text = f"{_join(nps)} {place}."
    return _cap(text), frozenset(named)


CAPTION_STYLES = (PARTIAL, EXHAUSTIVE)


def make_captions(scene: dict, rng: np.random.Generator, n: int = 5,
                  style: str = PARTIAL) -> list[tuple[str, frozenset[str]]]:
    """`n` distinct captions with the categories each names (empty scenes get scene-only text)."""
    if style not in CAPTION_STYLES:
        raise ValueError(f"caption style must be one of {list(CAPTION_STYLES)}, got {style!r}")
    if not scene["layers"]:
        st = SCENE_TYPES[scene["scene_type"]]
        return [(f"{st.nouns[i % len(st.nouns)]} with nothing in it." if i < 2 else f"An empty scene {st.places[i % len(st.places)]}.", frozenset())
                for i in range(n)]
    out: list[tuple[str, frozenset[str]]] = []
    seen: set[str] = set()
    for _ in range(20 * n):
        text, named = one_caption(scene, rng, exhaustive=style == EXHAUSTIVE)
        if text not in seen:
            seen.add(text)
            out.append((text, named))
        if len(out) == n:
            break
    while len(out) < n:  # tiny scenes can run out of distinct sentences
        out.append(out[len(out) % max(1, len(seen))])
    return out
