"""Closed-class English words the rule-based caption editor reasons with."""

_NUMBERS = {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
            "eleven", "twelve", "twenty", "dozen", "dozens"}
_DET = {"a", "an", "the", "this", "that", "these", "those", "some", "any", "each", "every",
        "another", "his", "her", "their", "its", "my", "our", "your", "several", "many", "few",
        "multiple", "numerous", "various", "both", "no", "other", "more", "lots", "plenty"} | _NUMBERS
_PREDET = {"all", "both", "half", "either", "neither"}
_QUANT = {"pair", "pairs", "bunch", "bunches", "couple", "group", "groups", "herd", "herds",
          "flock", "flocks", "pile", "piles", "stack", "stacks", "lot", "lots", "row", "rows",
          "set", "sets", "number", "variety", "piece", "pieces", "slice", "slices", "line",
          "lines", "pack", "collection", "assortment", "handful", "bundle", "kind", "kinds",
          "type", "types", "team", "fleet", "litter", "family", "plenty", "box", "boxes"}
_CONTAINERS = {"plate", "plates", "bowl", "bowls", "tray", "trays", "basket", "baskets", "pan",
               "pans", "bag", "bags", "cup", "cups", "jar", "jars", "glass", "glasses", "dish",
               "dishes", "platter", "platters", "door", "doors", "bottle", "bottles", "pot", "pots"}
_PREP = {"with", "on", "in", "at", "near", "by", "beside", "besides", "behind", "under",
         "underneath", "beneath", "above", "over", "below", "between", "among", "inside",
         "around", "against", "along", "across", "through", "into", "onto", "toward", "towards",
         "past", "from", "for", "of", "to", "without", "atop", "alongside", "off", "down", "up",
         "upon", "within", "beyond", "outside", "like", "during", "via", "amongst", "after",
         "before", "until", "since", "about"}
_MULTI_PREP = [tuple(p.split()) for p in (
    "next to", "close to", "in front of", "on front of", "on top of", "in between", "inside of",
    "outside of", "out of", "along with", "together with", "as well as", "on the side of",
    "in the middle of", "on the end of", "at the end of", "away from", "near to", "right next to",
    "up against", "in back of", "on the edge of", "at the edge of", "surrounded by",
)]
_DYNAMIC = {"into", "onto", "through", "down", "up", "across", "along", "toward", "towards",
            "past", "over", "off", "out", "from", "to", "around"}
_CONJ = {"and", "or", "&"}
_AUX = {"is", "are", "was", "were", "be", "been", "being", "am", "has", "have", "had", "'s",
        "can", "will", "could", "would", "does", "do", "did"}
_PRON = {"it", "they", "he", "she", "him", "them", "himself", "herself", "itself", "themselves",
         "something", "someone", "somebody", "there", "here", "who", "which", "whose", "that",
         "where", "while", "when", "as", "we", "you", "i", "me", "us", "what", "if", "than", "so",
         "because", "but", "not", "then"}
_ADVERB = {"outside", "inside", "together", "nearby", "here", "there", "around", "away",
           "alone", "too", "also", "again", "behind", "below", "above", "today", "outdoors",
           "indoors", "now", "close", "closely", "overhead", "upstairs", "ahead"}
_FUNCTION = _PREP | _CONJ | _AUX | _PRON | _DET | _PREDET | _ADVERB
# Adjectives that may be coordinated or comma-separated before a noun ("a big, white dog").
_ADJ = {"big", "small", "large", "little", "tiny", "huge", "giant", "white", "black", "brown",
        "red", "blue", "green", "yellow", "grey", "gray", "orange", "pink", "purple", "silver",
        "gold", "golden", "tan", "beige", "maroon", "old", "young", "new", "fluffy", "furry",
        "cute", "long", "tall", "short", "dark", "light", "bright", "colorful", "fat", "wooden",
        "metal", "plastic", "beautiful", "pretty", "shiny", "empty", "clean", "dirty", "modern",
        "striped", "spotted", "wet", "dry", "hot", "cold", "fresh", "adult", "baby"}
_INTENSIFIER = {"very", "right", "just", "directly", "really", "so", "quite"}
_VERB_AT = {"looking", "staring", "pointing", "glancing", "aiming", "gazing", "smiling",
            "waving", "barking", "looks", "stares", "points"}
_PLURAL_VERB = {"are": "is", "were": "was", "have": "has"}
_BASE_VERBS = {"sit", "stand", "lie", "lay", "look", "wait", "play", "eat", "walk", "ride", "rest",
               "graze", "hang", "watch", "pose", "share", "stare", "fly", "run", "sleep", "swim",
               "drink", "cross", "travel", "go", "move", "wander", "gather", "appear", "seem",
               "face", "line", "perch", "roam", "huddle", "pass", "drive", "park", "float", "hold",
               "cover", "fill", "stay", "hide", "lean", "relax", "cuddle", "make", "take"}
_DROP_OBJECT = {"ride", "rides", "riding", "rode", "drive", "drives", "driving", "drove",
                "eat", "eats", "eating", "ate", "steer", "steers", "steering"}
_POSSESSIVE = {"his", "her", "their", "its", "my", "your", "our"}
_NOT_PARTICIPLE = {"bed", "red", "shed", "sled", "speed", "seed", "bread"}
_SINGULAR_DET = {"a", "an", "one", "this", "that", "each", "every", "another"}
_IRREGULAR_PLURAL = {"people", "men", "women", "children", "cattle", "mice", "geese", "oxen",
                     "police", "feet", "teeth", "knives"}
_AMBIGUOUS_NUMBER = {"sheep", "fish", "deer", "series", "species", "aircraft"}
