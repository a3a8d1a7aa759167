"""Rankings that are mostly another result's: a copy with a few ranks swapped (and its metrics
and hash recomputed with odbench's own functions) has a new rankings hash but not new rankings.

Measure: the share of queries, over the four directions, whose top-10 lists are the same: they
hold the same gallery items (as sets: reordering within a list changes nothing), or, in a
direction whose gallery has at most 10 items (every list then holds all of them), the same
items in the same order. Honest models are far apart on it: see NEAR_DUPLICATE_SHARE.
"""
from __future__ import annotations

from collections.abc import Mapping

from ..escaping import one_line
from ..rankings import Rankings
from .rejection import Rejection

LIST_LENGTH = 10

# Measured (issue #20, scripts/near_duplicate_figures.py) on odbench-picto 2.0.0:
# odbench:baseline and odbench:mitigated (the same network finetuned 138 steps) share 3.3 % of
# their top-10 sets; three brief finetunes of the baseline (30 steps, seeds 1-3) share 11-18 %
# with it and 7-11 % with each other; small models trained from scratch and the untrained
# ViT-B-32 share under 0.1 % with anything. "Mostly the same" (half) is far above all of them.
NEAR_DUPLICATE_SHARE = 0.5
HONEST_MAX_SHARE = 0.1771      # baseline against its 30-step finetune, seed 1: the most alike pair


def same_list_share(a: Rankings, b: Rankings, k: int = LIST_LENGTH) -> float:
    """Share of the queries of `a` whose top-`k` list is the same in `b` (see the module's
    docstring; 0 when `a` has no query)."""
    same = total = 0
    for direction, lists in a.items():
        other: Mapping[str, list[str]] = b.get(direction, {})
        seen = {g for ranked in (*lists.values(), *other.values()) for g in ranked[:k]}
        as_sets = len(seen) > k      # else every list holds the whole gallery: compare orders
        for query, ranked in lists.items():
            total += 1
            theirs = other.get(query)
            if theirs is not None:
                same += set(ranked[:k]) == set(theirs[:k]) if as_sets else ranked[:k] == theirs[:k]
    return same / total if total else 0.0


def identical_list_share(a: Rankings, b: Rankings, k: int = LIST_LENGTH) -> float:
    """Share of the queries of `a` whose top-`k` list is the same in `b`, order included."""
    same = total = 0
    for direction, lists in a.items():
        other = b.get(direction, {})
        for query, ranked in lists.items():
            total += 1
            same += other.get(query, [])[:k] == ranked[:k]
    return same / total if total else 0.0


def check_not_near_duplicate(rankings: Rankings, dataset: str, earlier: list[tuple[str, Rankings]]) -> None:
    """Raise Rejection `near-duplicate` when `rankings` are mostly those of an earlier accepted
    result on the same dataset (`earlier`: its shown name and rankings, in precedence order)."""
    for name, theirs in earlier:
        share = same_list_share(rankings, theirs)
        if share >= NEAR_DUPLICATE_SHARE:
            raise Rejection("near-duplicate", f"{share:.1%} of its top-{LIST_LENGTH} lists hold the same items as "
                            f"those of the earlier {one_line(name)} on {dataset} (honest models share at most "
                            f"{HONEST_MAX_SHARE:.1%}; the limit is {NEAR_DUPLICATE_SHARE:.0%}): one result is listed "
                            f"once, under the model that produced it")
