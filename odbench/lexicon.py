"""The benchmark's lexicon: which COCO categories a sentence names (M(c) in SPEC section 1).

A lexicon is a flat table of (phrase, category) rows. Matching is lower-case, on word
boundaries, left to right, longest phrase first: "hot dog" is a hot dog, not a dog, and
"teddy bear" is not a bear. A row whose category is None is a *blocker*: it consumes its words
without naming anything ("train station", "telephone pole", "bed of flowers"), which is how
ambiguous words are kept out in the contexts where they do not name the object.

Tokens are runs of letters and digits, so possessives and hyphens split words: "dog's" and
"dogs'" contain the word "dog(s)", and "hot-dog" matches "hot dog" (inside a multi-word phrase
only spaces and hyphens may separate the words).

Decisions on ambiguous words (the default `Lexicon.coco()`, version 1.0.0):
- "bat" and "bats" mean baseball bat (animal bats are rare in COCO captions).
- "glass" alone is not a wine glass; "wine glass" and "glass of wine" are. "glove" alone is not
  a baseball glove (skiers wear gloves); "mitt" and "baseball glove" are.
- "orange" alone is not an orange (it is usually a colour); "oranges", "tangerine" are.
- "baseball", "football", "tennis" alone name a sport, not a ball; "ball" and "... ball" do.
- "ski" alone is a modifier or a verb ("ski slope"); only "skis" names the skis.
- "computer" and "desk" name nothing (a computer is a laptop or a tv+keyboard, and COCO does
  not annotate desks as dining tables); "monitor" and "computer screen" are tv, as COCO
  annotates them; "table" is dining table; "plant" is potted plant.
- "pitcher" and "batter" are persons (baseball), except "pitcher of ..." and "cake batter".
- Nouns of the people in the scene ("man", "players", "surfer", "bride") are person; pronouns
  and "someone" are not, and verbs ("skiing", "brushing teeth") never name objects.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from odbench.categories import CATEGORY_NAMES

_WORD = re.compile(r"[a-z0-9]+")
_JOINER = re.compile(r"[\s\-]+")  # what may separate the words of one multi-word phrase

# Singular phrases per category; plurals are derived (see _plurals) and published explicitly.
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "person": (
        "person", "people", "man", "woman", "boy", "girl", "child", "kid", "baby", "toddler",
        "infant", "guy", "lady", "gentleman", "adult", "teenager", "teen", "youngster", "player",
        "surfer", "skier", "snowboarder", "skateboarder", "skater", "rider", "biker", "cyclist",
        "bicyclist", "motorcyclist", "pitcher", "batter", "catcher", "umpire", "tennis player",
        "ball player", "baseball player", "athlete", "bride", "groom", "married couple", "chef",
        "baker", "worker", "officer", "policeman", "policewoman", "police officer",
        "soldier", "tourist", "pedestrian", "passenger", "spectator", "crowd", "family",
        "student", "teacher", "vendor", "customer", "shopper", "waiter", "waitress", "doctor",
        "nurse", "farmer", "fisherman", "jockey", "cowboy", "equestrian", "swimmer",
        "kiteboarder", "windsurfer", "mother", "father", "mom", "dad", "son", "daughter",
        "brother", "sister", "friend", "grandmother", "grandfather", "husband", "wife",
        "businessman", "businesswoman", "human", "individual", "couple of people", "herder",
    ),
    "bicycle": ("bicycle", "bike", "ten speed", "mountain bike", "bmx bike", "tandem bicycle"),
    "car": ("car", "taxi", "cab", "taxi cab", "sedan", "suv", "automobile", "police car",
            "race car", "sports car", "station wagon", "hatchback", "convertible"),
    "motorcycle": ("motorcycle", "motorbike", "motor bike", "motor cycle", "dirt bike", "moped",
                   "scooter", "motor scooter"),
    "airplane": ("airplane", "plane", "aeroplane", "air plane", "jet", "jetliner", "airliner",
                 "aircraft", "seaplane", "biplane", "jumbo jet", "passenger jet", "fighter jet"),
    "bus": ("bus", "busses", "school bus", "double decker", "double decker bus", "trolley bus"),
    "train": ("train", "locomotive", "train engine", "train car", "subway train", "tram",
              "trolley", "streetcar", "street car", "cable car"),
    "truck": ("truck", "pickup", "pickup truck", "firetruck", "fire truck", "fire engine",
              "lorry", "semi truck", "tow truck", "dump truck", "truck bed"),
    "boat": ("boat", "ship", "canoe", "kayak", "sailboat", "yacht", "ferry", "raft", "rowboat",
             "row boat", "speedboat", "speed boat", "tugboat", "tug boat", "gondola", "barge",
             "catamaran", "dinghy", "fishing boat", "steamboat", "cruise ship"),
    "traffic light": ("traffic light", "stop light", "stoplight", "traffic signal",
                      "traffic lights"),
    "fire hydrant": ("fire hydrant", "hydrant", "fire plug", "fireplug"),
    "stop sign": ("stop sign",),
    "parking meter": ("parking meter",),
    "bench": ("bench", "park bench"),
    "bird": ("bird", "seagull", "gull", "pigeon", "duck", "duckling", "goose", "swan", "parrot",
             "owl", "eagle", "hawk", "sparrow", "finch", "vulture", "pelican", "heron",
             "flamingo", "penguin", "hen", "rooster", "ostrich", "peacock", "dove", "robin",
             "hummingbird", "woodpecker", "seabird", "songbird", "crow", "raven", "parakeet"),
    "cat": ("cat", "kitten", "kitty", "housecat"),
    "dog": ("dog", "puppy", "pup", "doggy", "doggie", "poodle", "pit bull", "pitbull",
            "labrador", "retriever", "terrier", "beagle", "bulldog", "bull dog", "chihuahua",
            "dachshund", "german shepherd", "husky", "collie", "corgi", "pug", "spaniel",
            "greyhound", "dalmatian", "sheepdog", "sheep dog", "schnauzer", "rottweiler"),
    "horse": ("horse", "pony", "foal", "stallion", "mare", "colt"),
    "sheep": ("sheep", "lamb", "ewe"),
    "cow": ("cow", "cattle", "bull", "calf", "ox", "heifer"),
    "elephant": ("elephant",),
    "bear": ("bear", "polar bear", "grizzly", "grizzly bear", "brown bear", "black bear"),
    "zebra": ("zebra",),
    "giraffe": ("giraffe",),
    "backpack": ("backpack", "back pack", "rucksack", "knapsack", "book bag", "bookbag"),
    "umbrella": ("umbrella", "parasol"),
    "handbag": ("handbag", "hand bag", "purse", "shoulder bag"),
    "tie": ("tie", "necktie", "bow tie", "bowtie"),
    "suitcase": ("suitcase", "suit case", "luggage", "baggage"),
    "frisbee": ("frisbee", "frisbie", "flying disc", "disc"),
    "skis": ("skis", "pair of skis"),
    "snowboard": ("snowboard", "snow board"),
    "sports ball": ("sports ball", "ball", "soccer ball", "tennis ball", "beach ball",
                    "golf ball", "volley ball", "basket ball", "rugby ball"),
    "kite": ("kite",),
    "baseball bat": ("baseball bat", "bat", "softball bat", "cricket bat"),
    "baseball glove": ("baseball glove", "baseball mitt", "mitt", "catcher's mitt",
                       "catchers mitt", "softball glove"),
    "skateboard": ("skateboard", "skate board", "longboard"),
    "surfboard": ("surfboard", "surf board", "boogie board", "body board", "bodyboard",
                  "paddle board", "paddleboard"),
    "tennis racket": ("tennis racket", "racket", "racquet", "tennis racquet"),
    "bottle": ("bottle", "water bottle", "beer bottle", "wine bottle"),
    "wine glass": ("wine glass", "wineglass", "glass of wine", "champagne glass",
                   "glass of champagne"),
    "cup": ("cup", "mug", "teacup", "tea cup", "coffee cup", "coffee mug", "cup of coffee"),
    "fork": ("fork",),
    "knife": ("knife", "butter knife", "steak knife", "pocket knife"),
    "spoon": ("spoon", "teaspoon", "tablespoon"),
    "bowl": ("bowl",),
    "banana": ("banana",),
    "apple": ("apple",),
    "sandwich": ("sandwich", "burger", "hamburger", "cheeseburger", "sub sandwich", "panini",
                 "hoagie", "wrap sandwich"),
    "orange": ("oranges", "tangerine", "clementine", "mandarin orange", "orange slice",
               "slice of orange", "navel orange"),
    "broccoli": ("broccoli", "brocolli", "brocoli", "broccoli floret"),
    "carrot": ("carrot",),
    "hot dog": ("hot dog", "hotdog", "frankfurter", "chili dog", "corn dog"),
    "pizza": ("pizza", "pizza pie", "pizza slice", "slice of pizza"),
    "donut": ("donut", "doughnut"),
    "cake": ("cake", "cupcake", "cheesecake", "birthday cake", "wedding cake"),
    "chair": ("chair", "stool", "armchair", "high chair", "highchair", "office chair",
              "lawn chair", "folding chair", "recliner"),
    "couch": ("couch", "sofa", "loveseat", "love seat", "futon", "settee"),
    "potted plant": ("potted plant", "plant", "house plant", "houseplant", "flower pot",
                     "flowerpot", "pot plant"),
    "bed": ("bed", "bunk bed", "twin bed", "double bed"),
    "dining table": ("dining table", "table", "kitchen table", "dinner table", "coffee table",
                     "picnic table", "end table", "side table", "table top", "tabletop"),
    "toilet": ("toilet", "toilette", "toilet bowl", "toilet seat", "commode", "urinal"),
    "tv": ("tv", "television", "tv set", "television set", "flat screen", "flatscreen",
           "monitor", "computer monitor", "computer screen", "tv screen", "television screen"),
    "laptop": ("laptop", "lap top", "laptop computer", "notebook computer", "macbook", "netbook"),
    "mouse": ("mouse", "computer mouse"),
    "remote": ("remote", "remote control", "controller", "game controller", "wii remote",
               "wii controller", "wiimote", "tv remote", "television remote",
               "video game controller"),
    "keyboard": ("keyboard", "key board", "computer keyboard"),
    "cell phone": ("cell phone", "cellphone", "cell", "phone", "mobile phone", "smartphone",
                   "smart phone", "iphone", "telephone", "flip phone"),
    "microwave": ("microwave", "microwave oven"),
    "oven": ("oven", "stove", "stovetop", "stove top"),
    "toaster": ("toaster", "toaster oven"),
    "sink": ("sink", "kitchen sink", "bathroom sink", "washbasin"),
    "refrigerator": ("refrigerator", "fridge", "refridgerator", "freezer", "icebox"),
    "book": ("book", "textbook", "paperback", "hardcover"),
    "clock": ("clock", "clock tower", "clocktower", "alarm clock", "wall clock"),
    "vase": ("vase", "flower vase"),
    "scissors": ("scissors", "pair of scissors", "scissor", "shears"),
    "teddy bear": ("teddy bear", "teddy", "stuffed bear", "toy bear", "stuffed animal",
                   "stuffed toy", "plush toy"),
    "hair drier": ("hair drier", "hair dryer", "hairdryer", "blow dryer", "blowdryer",
                   "blow drier"),
    "toothbrush": ("toothbrush", "tooth brush"),
}

# Phrases that contain a category word but do not name the object.
_BLOCKED: tuple[str, ...] = (
    "train station", "train track", "train tracks", "train platform", "train yard",
    "train crossing", "railroad crossing", "bus stop", "bus station", "bus shelter",
    "car park", "car wash", "car seat", "ski slope", "ski lift", "bike lane", "bike path",
    "bike rack", "zebra crossing", "hot tub", "telephone pole", "telephone line",
    "telephone wire", "phone line", "phone booth", "power plant", "flower bed", "river bed",
    "riverbed", "bed of", "pitcher of", "cake batter", "pancake batter", "toilet paper",
    "toilet brush", "mouse pad", "mousepad", "fork lift", "book shelf", "book case",
    "tie dye", "cell tower", "jet ski", "jet stream", "pizza box", "pizza cutter",
    "ball cap", "ball park", "ball game", "ball field", "table cloth", "table tennis",
    "bowl cut", "super bowl", "apple logo", "dog house", "plant stand", "cup holder",
    "cupholder", "couple of", "cat walk", "bear claw", "mp3 player", "cd player",
    "dvd player", "record player", "music player", "media player", "video player",
)

_NO_PLURAL = {"people", "sheep", "cattle", "luggage", "baggage", "broccoli", "brocolli",
              "brocoli", "skis", "scissors", "shears", "oranges", "busses", "crowd", "family",
              "ten speed", "flat screen", "double decker", "married couple", "couple of people",
              "cell", "tie dye", "train tracks", "traffic lights"}
# Category names that are not used as words on their own ("orange" is mostly a colour).
_NOT_A_WORD = {"orange"}
_IRREGULAR = {"person": ("people", "persons"), "child": ("children",), "mouse": ("mice",),
              "goose": ("geese",), "ox": ("oxen",), "knife": ("knives",), "calf": ("calves",),
              "human": ("humans",), "wife": ("wives",), "shelf": ("shelves",),
              "bus": ("buses",), "pitbull": ("pitbulls",), "tooth brush": ("tooth brushes",)}


def _plural_word(word: str) -> tuple[str, ...]:
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word.endswith("man"):  # man -> men, policeman -> policemen
        return (word[:-3] + "men",)
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return (word + "es",)
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return (word[:-1] + "ies",)
    return (word + "s",)


def _plurals(phrase: str) -> tuple[str, ...]:
    """Plural forms of a singular phrase: its head noun is pluralised."""
    if phrase in _NO_PLURAL:
        return ()
    if phrase in _IRREGULAR:
        return _IRREGULAR[phrase]
    words = phrase.split(" ")
    head = words.index("of") - 1 if "of" in words else len(words) - 1  # "glass of wine"
    return tuple(" ".join(words[:head] + [p] + words[head + 1:]) for p in _plural_word(words[head]))


@dataclass(frozen=True)
class Match:
    start: int            # char offset in the text (inclusive)
    end: int              # char offset in the text (exclusive)
    text: str             # the words as written in the text, e.g. "Hot-dogs"
    phrase: str           # the lexicon phrase matched, e.g. "hot dogs"
    category: str         # COCO category name


def _tokens(phrase: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(phrase.lower()))


class Lexicon:
    """Phrase -> category table with longest-match lookup. Build with `coco()` or `from_rows`."""

    def __init__(self, table: Mapping[str, str | None], version: str) -> None:
        self.version = version
        self._table = dict(table)
        self._index: dict[tuple[str, ...], tuple[str, str | None]] = {}
        for phrase, category in self._table.items():
            key = _tokens(phrase)
            if not key:
                raise ValueError(f"lexicon phrase without words: {phrase!r}")
            self._index[key] = (phrase, category)
        self._max_len = max((len(k) for k in self._index), default=1)

    @classmethod
    def coco(cls) -> Lexicon:
        """The default lexicon for the 80 COCO categories."""
        return _coco_lexicon()

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, str | None]], version: str) -> Lexicon:
        """Rebuild a lexicon from its published `lexicon` config (rows of phrase, category)."""
        table: dict[str, str | None] = {}
        for row in rows:
            phrase = str(row["phrase"]).lower()
            if phrase in table and table[phrase] != row["category"]:
                raise ValueError(f"lexicon phrase {phrase!r} has two categories")
            table[phrase] = row["category"] or None
        return cls(table, version)

    def rows(self) -> list[dict[str, str | None]]:
        """The table as rows, sorted by phrase; category None marks a blocking phrase."""
        return [{"phrase": p, "category": self._table[p]} for p in sorted(self._table)]

    @property
    def categories(self) -> frozenset[str]:
        return frozenset(c for c in self._table.values() if c)

    def find(self, text: str) -> list[Match]:
        """Category mentions in `text`, left to right, longest phrase first, without overlaps."""
        lower = text.lower()
        words = list(_WORD.finditer(lower))
        out: list[Match] = []
        i = 0
        while i < len(words):
            for n in range(min(self._max_len, len(words) - i), 0, -1):
                span = words[i:i + n]
                # the table first: the joiner check below is the costly part, and most spans miss
                hit = self._index.get(tuple(w.group() for w in span))
                if hit is None:
                    continue
                # only spaces and hyphens may join the words of one phrase ("hot-dog", not "hot, dog")
                if any(not _JOINER.fullmatch(lower[a.end():b.start()]) for a, b in pairwise(span)):
                    continue
                phrase, category = hit
                if category is not None:
                    start, end = span[0].start(), span[-1].end()
                    out.append(Match(start, end, text[start:end], phrase, category))
                i += n
                break
            else:
                i += 1
        return out

    def mentions(self, text: str) -> set[str]:
        """M(c): the set of category names that `text` mentions."""
        return {m.category for m in self.find(text)}

    def __repr__(self) -> str:
        return f"Lexicon(version={self.version!r}, phrases={len(self._table)})"


@lru_cache(maxsize=1)
def _coco_lexicon() -> Lexicon:
    table: dict[str, str | None] = {}
    unknown = set(_SYNONYMS) - set(CATEGORY_NAMES)
    if unknown or len(_SYNONYMS) != len(CATEGORY_NAMES):
        raise AssertionError(f"lexicon table out of sync with COCO categories: {unknown}")
    for category, phrases in _SYNONYMS.items():
        names = () if category in _NOT_A_WORD else (category,)
        for phrase in (*names, *phrases):
            for form in (phrase, *_plurals(phrase)):
                if table.get(form, category) != category:
                    raise AssertionError(f"{form!r} maps to {table[form]} and {category}")
                table[form] = category
    for phrase in _BLOCKED:
        for form in (phrase, *_plurals(phrase)):
            table.setdefault(form, None)
    return Lexicon(table, version="1.0.0")
