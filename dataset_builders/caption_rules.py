"""The rule-based caption editor: token rules that cut one object's mention out of a sentence.

See `caption_editor` for the interface and the validation every editor's output goes through.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from odbench.lexicon import Lexicon

from .caption_words import (
    _ADJ,
    _AMBIGUOUS_NUMBER,
    _AUX,
    _BASE_VERBS,
    _CONJ,
    _CONTAINERS,
    _DET,
    _DROP_OBJECT,
    _DYNAMIC,
    _FUNCTION,
    _INTENSIFIER,
    _IRREGULAR_PLURAL,
    _MULTI_PREP,
    _NOT_PARTICIPLE,
    _PLURAL_VERB,
    _POSSESSIVE,
    _PREDET,
    _PREP,
    _PRON,
    _QUANT,
    _SINGULAR_DET,
    _VERB_AT,
)

_TOKEN = re.compile(r"(\s*)([A-Za-z0-9]+(?:['’\-][A-Za-z0-9]+)*|\S)")


@dataclass
class _Tok:
    ws: str      # whitespace before the token, kept so untouched text keeps its spacing
    text: str
    start: int = -1
    cat: str | None = None   # category of the lexicon match covering this token, if any

    @property
    def low(self) -> str:
        return self.text.lower()

    @property
    def is_word(self) -> bool:
        return self.text[0].isalnum()


def _tokenize(text: str, lexicon: Lexicon) -> list[_Tok] | None:
    toks = [_Tok(m.group(1), m.group(2), m.start(2)) for m in _TOKEN.finditer(text)]
    starts = {t.start: i for i, t in enumerate(toks)}
    ends = {t.start + len(t.text): i for i, t in enumerate(toks)}
    for m in lexicon.find(text):
        if m.start not in starts or m.end not in ends:
            return None   # the mention is part of a word ("dog's", "dog-friendly"): not editable
        for i in range(starts[m.start], ends[m.end] + 1):
            toks[i].cat = m.category
    return toks


def _render(toks: list[_Tok]) -> str:
    return "".join(t.ws + t.text for t in toks).strip()


# Each version's rules stay selectable, so that a dataset built with an older version (the
# shipped odbench-picto: 1.0.0) rebuilds to the same captions and the same editor string.
#   1.0.0  the rules of the module docstring
#   1.1.0  a container's of-phrase goes with it: "two bowls of salad", "plates of food"
RULE_VERSIONS = ("1.0.0", "1.1.0")


class RuleEditor:
    """Rule-based caption editor for English captions (see the module docstring)."""

    name = "rule-based"

    def __init__(self, version: str = RULE_VERSIONS[-1]):
        if version not in RULE_VERSIONS:
            raise ValueError(f"unknown rule-based editor version {version!r}; use one of {RULE_VERSIONS}")
        self.version = version
        self._container_of = RULE_VERSIONS.index(version) >= RULE_VERSIONS.index("1.1.0")

    def __repr__(self) -> str:
        return f"RuleEditor(version={self.version!r})"

    def edit(self, text: str, category: str, lexicon: Lexicon) -> str | None:
        original = lexicon.mentions(text)
        if category not in original:
            return None
        current = text
        for _ in range(6):  # one mention per round; a caption rarely names an object 3 times
            toks = _tokenize(current, lexicon)
            if toks is None:
                return None
            heads = [i for i, t in enumerate(toks) if t.cat == category]
            if not heads:
                break
            hs = heads[0]
            he = hs
            while he + 1 < len(toks) and toks[he + 1].cat == category:
                he += 1  # a multi-token match ("fire hydrant")
            end = _of_phrase_end(toks, he + 1) if self._container_of else he + 1
            out = _remove(toks, hs, end)
            if out is None:
                return None
            current = _render(out)
        else:
            return None
        edited = _tidy(current, text)
        if _violations(edited) > _violations(text) or len(edited.split()) < 2:
            return None
        # The SPEC's validation, also applied by caption_editor.edit_caption to any editor.
        return edited if lexicon.mentions(edited) == original - {category} else None


def _low(toks: list[_Tok], i: int) -> str:
    return toks[i].low if 0 <= i < len(toks) else ""


def _soft(tok: _Tok) -> bool:
    """A content word that can sit inside a noun phrase (adjective, noun, participle)."""
    return tok.is_word and tok.low not in _FUNCTION


def _np_start(toks: list[_Tok], hs: int) -> int:
    """First token of the noun phrase headed at `hs`: determiner, count, adjectives, 'a pair of'."""
    i = hs
    while i > 0:
        w, t = toks[i - 1].low, toks[i - 1]
        if w == "of" and _low(toks, i - 2) in _QUANT:
            i -= 2
        elif w in _DET or w.isdigit():
            i -= 1
            if _low(toks, i - 1) in _PREDET:
                i -= 1
            if _low(toks, i - 1) == "of" and _low(toks, i - 2) in _QUANT:
                continue  # "a couple of the dogs"
            return i
        elif w in _CONJ and i < hs and _low(toks, i) in _ADJ and _low(toks, i - 2) in _ADJ:
            i -= 1    # "a yellow and green hydrant": coordinated adjectives, not two objects
        elif _soft(t) and t.cat is None:
            if w.endswith("ing") and _low(toks, i - 2) not in _DET:
                break  # "holding cooked broccoli": the participle is a verb, not an adjective
            i -= 1
        elif w == "," and _low(toks, i - 2) in _ADJ:
            i -= 1    # "a big, white seagull"
        else:
            break
    if i == 0 or not toks[i - 1].is_word or toks[i - 1].low in _FUNCTION:
        return i
    # a bare noun phrase after a noun or verb ("stove witha fork", "cutting gold scissors"):
    # keep only the adjectives we are sure of
    j = hs
    while j > i and (toks[j - 1].low in _ADJ or toks[j - 1].low.endswith("ed")):
        j -= 1
    return j


def _of_phrase_end(toks: list[_Tok], r: int) -> int:
    """End of "bowls of salad" when the mention ending at `r` is a container with an of-phrase
    that names no object: what the container holds goes with it. Otherwise `r` itself."""
    if _low(toks, r - 1) not in _CONTAINERS or _low(toks, r) != "of":
        return r
    j = r + 1
    while j < len(toks) and toks[j].cat is None and toks[j].is_word and (
            toks[j].low in _DET or toks[j].low.isdigit() or (
                _soft(toks[j]) and toks[j].low not in _BASE_VERBS
                and not toks[j].low.endswith(("ing", "ed")))):
        j += 1
    if j == r + 1 or (j < len(toks) and toks[j].cat is not None):
        return r     # "a bowl of broccoli": the of-phrase names an object, which must stay
    if _low(toks, j) in _CONJ or _low(toks, j) == ",":
        return r     # "a bowl of noodles, meat and broccoli": the contents may be a list
    return j


def _right_context(toks: list[_Tok], r: int) -> str:
    """What follows the noun phrase: 'end', 'ok', 'rel', 'participle', 'verb' or 'bad'."""
    if r >= len(toks):
        return "end"
    t = toks[r]
    w = t.low
    if not t.is_word:
        return "end" if w in ".!?" else "ok"
    if w in {"that", "which", "who", "whose"}:
        return "rel"
    if w in _DET or w == "of":
        return "bad"  # "a refrigerator a microwave", "bowls of salad": the phrase goes on
    if w in _AUX or w in _BASE_VERBS:
        return "verb"
    if w in _FUNCTION:
        return "ok"
    if t.cat is None and (w.endswith("ing") or (w.endswith("ed") and w not in _NOT_PARTICIPLE)):
        return "participle"
    return "bad"  # another noun: the mention was a modifier ("dog bed") or a verb follows


def _prep_start(toks: list[_Tok], l: int) -> int | None:
    """Start of the preposition that ends right before token `l`, if there is one."""
    for words in sorted(_MULTI_PREP, key=len, reverse=True):
        n = len(words)
        if l - n >= 0 and tuple(t.low for t in toks[l - n:l]) == words:
            return l - n
    return l - 1 if l > 0 and toks[l - 1].low in _PREP else None


def _remove(toks: list[_Tok], hs: int, r: int) -> list[_Tok] | None:
    """Tokens without the noun phrase headed at [hs, r), or None when no rule applies safely."""
    l = _np_start(toks, hs)
    right = _right_context(toks, r)
    if right == "bad":
        return None
    prev, nxt = _low(toks, l - 1), _low(toks, r)
    if prev in _CONJ or nxt in _CONJ or prev == "," or nxt == ",":
        done = _coordination(toks, l, r, right)
        if done is not False:
            return done
    if right in ("rel", "participle"):
        return None  # the mention carries a clause that would re-attach to another noun
    p = _prep_start(toks, l)
    if p is not None:
        return _drop_prepositional(toks, p, l, r)
    if l == 0 and right == "ok":
        return _promote_object(toks, r)
    if l == 0 or right == "verb":
        return None  # a subject: "a frisbee lies next to a dog"
    if prev in _DROP_OBJECT and _prep_start(toks, r + 1) is not None and _low(toks, r) in _PREP:
        return toks[:l] + toks[r:]        # "riding a motorcycle down a road" -> "riding down a road"
    if prev.endswith("ing") and prev not in _FUNCTION and l >= 2:
        before = toks[l - 2]
        if before.low in _AUX or not (_soft(before) or before.cat) or nxt in _DYNAMIC | {"while"} \
                or (before.cat is None and before.low.endswith(("ed", "ing", "ly"))):
            return None                    # "is holding a kite", "carrying a board into the sea"
        return toks[:l - 1] + toks[r:]     # "a man holding a surfboard on the beach"
    return None


_PROMOTE_PREP = [tuple(p.split()) for p in (
    "next to", "in front of", "on top of", "close to", "with", "on", "in", "at", "near", "by",
    "beside", "behind", "under", "underneath", "beneath", "atop", "inside", "alongside", "among")]


def _promote_object(toks: list[_Tok], r: int) -> list[_Tok] | None:
    """A verbless caption 'A man on a surfboard in the water' minus the man: 'A surfboard in the
    water'. Only when the object is itself a benchmark object and no verb could lose its subject."""
    q = next((r + len(w) for w in _PROMOTE_PREP if tuple(t.low for t in toks[r:r + len(w)]) == w), None)
    if q is None or q >= len(toks) or toks[q].low in _POSSESSIVE:
        return None
    end = _item_end(toks, q)
    if not any(t.cat for t in toks[q:end]):
        return None              # "a man in a green shirt" must not become "a green shirt"
    for t in toks[q:]:
        w = t.low
        if t.cat is None and t.is_word and (w in _AUX or w in _BASE_VERBS or w in _PRON - {"there"}
                                            or w.endswith(("ing", "ed"))):
            return None
    out = toks[q:]
    out[0].ws = ""
    return out


def _drop_prepositional(toks: list[_Tok], p: int, l: int, r: int) -> list[_Tok] | None:
    if p > 0 and toks[p - 1].low in _INTENSIFIER:
        p -= 1                             # "standing very close to an elephant"
    if p == 0:
        return None                        # a sentence-initial phrase ("On the table ...")
    before, prep = toks[p - 1], toks[l - 1].low
    if before.low in _AUX or before.low in _PREP:
        return None                        # "is on a bed", "out on a boat" would lose the predicate
    if before.cat is None and before.low.endswith("ed") and before.low not in _NOT_PARTICIPLE:
        # "a pizza covered with broccoli sitting ..." -> "a pizza sitting ...": the participle goes
        # too when it modifies a noun; "is tied to a hydrant" has no such reading
        head = toks[p - 2] if p >= 2 else None
        if head is None or not (head.cat or (_soft(head) and not head.low.endswith(("ed", "ing", "ly")))):
            return None
        if _low(toks, r) in _DYNAMIC:
            return None
        return toks[:p - 1] + toks[r:]
    if (p == l - 1 and prep in {"onto", "for", "to"} and before.low.endswith("ing")) or \
            (prep == "at" and before.low in _VERB_AT):
        return None                        # "holding onto a kite", "looking at a light"
    if prep == "of" and p == l - 1 and before.low not in _CONTAINERS:
        return None                        # "a picture of a pizza": of-phrases only after containers
    end = r
    if prep == "with" and _low(toks, r) in _PREP:
        # "with a frisbee in his hand", "with a book on it": that phrase belongs to the object
        if _low(toks, r + 1) in _POSSESSIVE:
            end = r + 3
        elif _low(toks, r + 1) in {"it", "them"}:
            end = r + 2
        elif [t.low for t in toks[r:r + 4]] in (["on", "top", "of", "it"], ["on", "top", "of", "them"]):
            end = r + 4
    return toks[:p] + toks[end:]


def _item_end(toks: list[_Tok], i: int) -> int:
    """End (exclusive) of the list item that starts at `i`."""
    while i < len(toks) and (toks[i].cat or (toks[i].is_word and (
            toks[i].low in _DET or (_soft(toks[i]) and toks[i].low not in _BASE_VERBS
                                    and not toks[i].low.endswith("ing"))))):
        i += 1
    return i


def _item_start(toks: list[_Tok], i: int) -> int:
    """Start of the list item that ends (exclusive) at `i`."""
    while i > 0 and (toks[i - 1].cat or (toks[i - 1].is_word and (
            toks[i - 1].low in _DET or toks[i - 1].low == "of" or _soft(toks[i - 1])))):
        i -= 1
    return i


def _transfer_det(removed: _Tok, out: list[_Tok], start: int) -> list[_Tok] | None:
    """'a refrigerator, toaster and sink' minus the refrigerator: the shared 'a' moves on."""
    first = out[start]
    if first.low in _DET or first.low.isdigit() or first.cat is None and not _soft(first):
        return out
    if removed.low not in _DET:
        return out                 # nothing was shared: "large birds and fallen trees"
    if removed.low not in {"a", "an", "the"}:
        return None
    end = _item_end(out, start)
    head = out[end - 1].low if end > start else ""
    if removed.low != "the" and (head.endswith("s") or head in _IRREGULAR_PLURAL):
        return None
    det = _Tok(first.ws, removed.text)
    first.ws = " "
    return out[:start] + [det] + out[start:]


def _drop_oxford_comma(out: list[_Tok], comma: int) -> list[_Tok]:
    """'X, and Y' with only two items left loses its serial comma."""
    if _low(out, comma) == "," and _low(out, comma + 1) in _CONJ:
        s = _item_start(out, comma)
        if _low(out, s - 1) != ",":
            return out[:comma] + out[comma + 1:]
    return out


def _coordination(toks: list[_Tok], l: int, r: int, right: str) -> list[_Tok] | None | bool:
    """Remove a list item; False when the mention is not in a list after all."""
    prev, nxt = _low(toks, l - 1), _low(toks, r)
    np_follows = r + 1 < len(toks) and toks[r + 1].is_word and not toks[r + 1].low.endswith("ing") \
        and toks[r + 1].low not in (_PREP | _AUX | _PRON | _CONJ)
    first_ok = prev not in _CONJ | {","} and not (l > 0 and toks[l - 1].cat)
    if nxt in _CONJ and first_ok and np_follows:                        # first of two or more
        start = l - 1 if prev in _PREDET else l
        out = toks[:start] + toks[r + 1:]
        out[start].ws = toks[start].ws
        out = _transfer_det(toks[l], out, start)
        if out is None:
            return None
        end = _item_end(out, start)
        if _low(out, end) in _CONJ or _low(out, end) == ",":
            return out                                                  # still a list
        if _low(out, start - 1) in {"between", "among", "amongst"}:
            return None
        return _agree(out, start, end)
    if nxt == "," and first_ok and np_follows:                          # first of three or more
        end = _item_end(toks, r + 1)
        while _low(toks, end) == "," and _low(toks, end + 1) not in _CONJ and end + 1 < len(toks) \
                and _item_end(toks, end + 1) > end + 1:
            end = _item_end(toks, end + 1)                              # "a sink, tub, shower head and"
        if _low(toks, end) in _CONJ or (_low(toks, end) == "," and _low(toks, end + 1) in _CONJ):
            out = toks[:l] + toks[r + 1:]
            out[l].ws = toks[l].ws
            out = _transfer_det(toks[l], out, l)
            if out is None:
                return None
            return _drop_oxford_comma(out, _item_end(out, l))
        return None
    if prev in _CONJ:                                                   # last item
        if right in ("rel", "participle"):
            return None          # "a monitor and a person holding a laptop": the clause would move
        d0 = l - 1
        oxford = _low(toks, d0 - 1) == ","
        if oxford:
            d0 -= 1
        if d0 == 0 or not (toks[d0 - 1].cat or _soft(toks[d0 - 1])):
            return None
        out = toks[:d0] + toks[r:]
        s = _item_start(out, d0)
        if _low(out, s - 1) == ",":
            s2 = _item_start(out, s - 1)
            intro = s2 == 1 and out[0].low in _PREP     # "In the kitchen, a dog and a cat"
            if s2 < s - 1 and not intro:
                # still two or more items: the last comma becomes the conjunction
                conj = _Tok(" ", toks[l - 1].text)
                serial = oxford and _low(out, s2 - 1) == ","
                return out[:s - 1] + ([out[s - 1]] if serial else []) + [conj] + out[s:]
        if _low(out, s - 1) in {"between", "among", "amongst"}:
            return None
        return _agree(out, s, d0)
    if prev == ",":
        if nxt == ",":                                                  # middle item
            return _drop_oxford_comma(toks[:l] + toks[r + 1:], l - 1)
        if nxt in _CONJ or right in ("end", "ok"):                      # ", X and Y" / ", X."
            return toks[:l - 1] + toks[r:]
        return None
    return False


def _is_singular(words: list[str]) -> bool | None:
    if not words:
        return None
    if words[0] in _SINGULAR_DET:
        return True
    if words[0] in _DET or words[0].isdigit():
        return False
    head = words[-1]
    if head in _AMBIGUOUS_NUMBER:
        return None
    if head in _IRREGULAR_PLURAL or (head.endswith("s") and not head.endswith("ss")):
        return False
    return True


def _third_person(verb: str) -> str:
    if verb == "go":
        return "goes"
    if verb.endswith(("s", "x", "ch", "sh")):
        return verb + "es"
    if verb.endswith("y") and verb[-2] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def _agree(toks: list[_Tok], s: int, e: int) -> list[_Tok] | None:
    """After a list shrank to the item [s, e): make a following or 'there are' verb agree."""
    targets = [e] + ([s - 1] if _low(toks, s - 2) == "there" else [])
    for i in targets:
        w = _low(toks, i)
        if w not in _PLURAL_VERB and w not in _BASE_VERBS:
            continue
        singular = _is_singular([t.low for t in toks[s:e]])
        if singular is None:
            return None
        if singular:
            new = _PLURAL_VERB.get(w) or _third_person(w)
            if toks[i].text.isupper():
                new = new.upper()
            toks[i] = _Tok(toks[i].ws, new, toks[i].start, toks[i].cat)
    return toks


# ------------------------------------------------------------------------------ clean-up
def _tidy(text: str, original: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([,.!?;:])", r"\1", text)
    text = re.sub(r",(\s*,)+", ",", text)
    text = re.sub(r",\s*([.!?])", r"\1", text)
    text = re.sub(r"^[\s,;:]+", "", text)
    text = re.sub(r"[,;:]\s*$", "", text)
    text = _fix_articles(text)
    first = next((c for c in original if c.isalpha()), "")
    if first.isupper() and text[:1].islower():
        text = text[0].upper() + text[1:]
    return text


def _fix_articles(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        article, space, word = m.group(1), m.group(2), m.group(3)
        lw = word.lower()
        vowel = lw[0] in "aeiou" and not lw.startswith(("one", "uni", "use", "usu", "eu", "ur"))
        vowel = vowel or lw.startswith(("hour", "honest", "heir"))
        want = "an" if vowel else "a"
        if article.lower() == want:
            return m.group(0)
        if article.isupper() and (len(article) > 1 or word.isupper()):
            want = want.upper()
        elif article[0].isupper():
            want = want.capitalize()
        return want + space + word
    return re.sub(r"\b([Aa]n?|AN?)(\s+)(?!(?:an?|the)\b)([A-Za-z]+)", repl, text, flags=0)


_DANGLING = sorted(_PREP | _DET | _CONJ | _PREDET | _INTENSIFIER | {"is", "are", "was", "were"})
_BAD_PAIRS = re.compile(
    r"\b(" + "|".join(_DANGLING) + r")\s*([,.!?;:]|$)|"                  # dangling function word
    r"\b(and|or)\s+(and|or|with|of)\b|"
    r"\b(a|an|the)\s+(a|an|the|and|or|with|of|is|are|in|on)\b|"
    r"^\s*(and|or|with)\b", re.IGNORECASE)


def _violations(text: str) -> int:
    """How many signs of a broken sentence `text` shows (compared with the original's count)."""
    return len(_BAD_PAIRS.findall(text))

