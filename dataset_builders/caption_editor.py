"""Caption editors: remove every mention of one category from a sentence (SPEC section 3).

An editor is anything with `name`, `version` and `edit(text, category, lexicon) -> str | None`.
Whatever editor is plugged in, `edit_caption` keeps an edit only when it passes the SPEC's
validation, M(edited) = M(original) minus {category}; otherwise no edited caption is made.

The default `RuleEditor` works on tokens with a few conservative rules:
  coordination   "a dog and a frisbee" -> "a dog"; "a man, a dog and a frisbee" -> "a man and a dog"
  prepositions   "a dog with a frisbee in the park" -> "a dog in the park"
  relations      "a man holding a surfboard on the beach" -> "a man on the beach"
  object drop    "a man riding a motorcycle down a road" -> "a man riding down a road"
  containers     "a table with plates and bowls of food on it" -> "a table with plates on it" (1.1.0)
and removes the whole noun phrase (determiner, count, adjectives, "a pair of" ...). Subjects,
predicates and anything it cannot place return None: a missing edit costs one query, a garbled
one would put a wrong sentence into the benchmark.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from odbench.lexicon import Lexicon

from .caption_rules import RuleEditor


@runtime_checkable
class CaptionEditor(Protocol):
    name: str
    version: str

    def edit(self, text: str, category: str, lexicon: Lexicon) -> str | None:
        """`text` without any mention of `category`, still fluent; None when it cannot."""


def is_valid_edit(original: str, edited: str | None, category: str, lexicon: Lexicon) -> bool:
    """SPEC section 3: the edit names exactly what the original named, minus `category`."""
    return bool(edited) and lexicon.mentions(edited) == lexicon.mentions(original) - {category}


def edit_caption(editor: CaptionEditor, text: str, category: str, lexicon: Lexicon) -> str | None:
    """Run any editor and keep its output only if it passes the SPEC's validation."""
    if category not in lexicon.mentions(text):
        return None
    edited = editor.edit(text, category, lexicon)
    return edited if is_valid_edit(text, edited, category, lexicon) else None


@dataclass
class EditReport:
    attempts: int = 0
    successes: int = 0
    edits: list[tuple[str, str, str | None]] = field(default_factory=list)  # (text, category, edit)

    @property
    def success_rate(self) -> float:
        return self.successes / self.attempts if self.attempts else 0.0


def edit_all(editor: CaptionEditor, captions: Iterable[str], lexicon: Lexicon) -> EditReport:
    """Try to remove every category each caption mentions; count how often the editor succeeds."""
    report = EditReport()
    for text in captions:
        for category in sorted(lexicon.mentions(text)):
            edited = edit_caption(editor, text, category, lexicon)
            report.attempts += 1
            report.successes += edited is not None
            report.edits.append((text, category, edited))
    return report


__all__ = ["CaptionEditor", "EditReport", "RuleEditor", "edit_all", "edit_caption", "is_valid_edit"]
