"""Correlated object pairs (SPEC section 2), computed from the TRAINING split only.

Counts are over images: an image counts once per category however many instances it has.
With N images, n(a) images containing a and n(a,b) images containing both:

    P(b|a) = n(a,b) / n(a)
    NPMI(a,b) = log(P(a,b) / (P(a) P(b))) / -log P(a,b)

NPMI is in [-1, 1]; when P(a,b) = 1 (both in every image) the ratio is 0/0 and we use the
limit value 1 (perfect co-occurrence).

Everything is vectorised over an image x category incidence matrix: one matrix product
gives every n(a,b), so a COCO-sized source (118k images, 80 categories) takes well under a
second.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from dataset_builders.source import Source

# COCO 2017 train has 118,287 images; `min_support=100` was chosen for that size.
COCO_TRAIN_IMAGES = 118_287

# Reason codes in `pair_stats.reason`; several are joined with "," when more than one fails.
REASON_SAME_SUPERCATEGORY = "same_supercategory"
REASON_LOW_SUPPORT = "low_support"
REASON_LOW_NPMI = "low_npmi"
REASON_LOW_CONDITIONAL = "low_conditional"


@dataclass(frozen=True)
class PairSelection:
    """Thresholds of the selection rule; recorded in the dataset manifest (`to_dict`)."""
    min_support: int = 100
    min_npmi: float = 0.15
    min_conditional: float = 0.2

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def scaled_to(self, n_images: int, *, reference_images: int = COCO_TRAIN_IMAGES,
                  floor: int = 5) -> PairSelection:
        """The same rule with `min_support` scaled to a source of `n_images` images."""
        return PairSelection(scaled_min_support(n_images, self.min_support,
                                                reference_images=reference_images, floor=floor),
                             self.min_npmi, self.min_conditional)


def scaled_min_support(n_images: int, base: int = 100, *, reference_images: int = COCO_TRAIN_IMAGES,
                       floor: int = 5) -> int:
    """Scale a support threshold chosen for `reference_images` images to `n_images` images.

    Keeps the same *share* of images (100 of 118k COCO images is ~0.085%), but never below
    `floor`: with a few hundred images a proportional threshold would be 0 and a pair seen in
    one image could be selected on noise. Never above `base` either.
    """
    if n_images < 0 or base < 1 or reference_images < 1:
        raise ValueError("n_images must be >= 0, base and reference_images >= 1")
    return int(min(base, max(floor, round(base * n_images / reference_images))))


@dataclass(frozen=True)
class PairStat:
    """Training statistics of one pair (a < b alphabetically): a row of `pair_stats`."""
    a: str
    b: str
    supercategory_a: str
    supercategory_b: str
    n_a: int
    n_b: int
    n_ab: int
    n_images: int
    p_b_given_a: float
    p_a_given_b: float
    npmi: float
    selected: bool
    reason: str          # "" when selected

    @property
    def pair(self) -> tuple[str, str]:
        return (self.a, self.b)

    def as_row(self, *, with_selection: bool = True) -> dict[str, Any]:
        """Row of the `pair_stats` config, or of `pairs` with `with_selection=False`."""
        row = asdict(self)
        if not with_selection:
            del row["selected"], row["reason"]
        return row


def incidence_matrix(source: Source) -> tuple[np.ndarray, list[str]]:
    """Boolean (images x categories) matrix: X[i, j] = category j is present in image i.

    Columns are the source's categories sorted by name, so pair (a, b) with column a < b is
    sorted alphabetically as the dataset format requires.
    """
    names = sorted(source.categories)
    index = {n: j for j, n in enumerate(names)}
    x = np.zeros((len(source.images), len(names)), dtype=bool)
    for i, img in enumerate(source.images):
        for cat in img.objects:
            if cat not in index:
                raise ValueError(f"image {img.id} has an instance of {cat!r}, "
                                 f"which is not a category of source {source.name!r}")
            x[i, index[cat]] = True
    return x, names


def compute_pair_stats(source: Source, selection: PairSelection = PairSelection()) -> list[PairStat]:
    """Statistics of every pair seen together in at least one training image, with the verdict.

    Rows are sorted by (a, b). Raises if `source` is a test split: pairs must never be
    chosen from the data they are evaluated on.
    """
    if source.split.lower() == "test":
        raise ValueError(f"pair statistics must come from the training split, got {source.name!r} "
                         f"(split {source.split!r})")
    x, names = incidence_matrix(source)
    n_images = x.shape[0]
    xi = x.astype(np.int64)
    n = xi.sum(axis=0)                      # n(a)
    co = xi.T @ xi                          # n(a, b); the diagonal is n(a)
    ia, ib = np.nonzero(np.triu(co, k=1))   # considered pairs: both present in >= 1 image
    n_ab, n_a, n_b = co[ia, ib], n[ia], n[ib]

    p_ab = n_ab / n_images
    p_a, p_b = n_a / n_images, n_b / n_images
    with np.errstate(divide="ignore", invalid="ignore"):
        npmi = np.log(p_ab / (p_a * p_b)) / -np.log(p_ab)
    npmi = np.where(p_ab >= 1.0, 1.0, npmi)  # limit at perfect co-occurrence (0/0 otherwise)
    p_b_given_a, p_a_given_b = n_ab / n_a, n_ab / n_b

    supers = np.array([source.supercategory(c) for c in names], dtype=object)
    same_super = supers[ia] == supers[ib]
    fails = {
        REASON_SAME_SUPERCATEGORY: same_super,
        REASON_LOW_SUPPORT: n_ab < selection.min_support,
        REASON_LOW_NPMI: npmi < selection.min_npmi,
        REASON_LOW_CONDITIONAL: np.maximum(p_b_given_a, p_a_given_b) < selection.min_conditional,
    }
    failed = np.stack(list(fails.values()), axis=1) if len(ia) else np.zeros((0, len(fails)), bool)
    codes = list(fails)

    return [
        PairStat(
            a=names[j], b=names[k], supercategory_a=supers[j], supercategory_b=supers[k],
            n_a=int(n_a[t]), n_b=int(n_b[t]), n_ab=int(n_ab[t]), n_images=int(n_images),
            p_b_given_a=float(p_b_given_a[t]), p_a_given_b=float(p_a_given_b[t]),
            npmi=float(npmi[t]), selected=not failed[t].any(),
            reason=",".join(c for c, f in zip(codes, failed[t], strict=True) if f),
        )
        for t, (j, k) in enumerate(zip(ia.tolist(), ib.tolist(), strict=True))
    ]


def selected_pairs(stats: list[PairStat]) -> list[PairStat]:
    """The selected pairs, in the order of `stats`: the rows of the `pairs` config."""
    return [s for s in stats if s.selected]


class NoPairSelected(ValueError):
    """No pair passes the selection rule; `suggestion` says which min_support would select some."""

    def __init__(self, source_name: str, selection: PairSelection, stats: list[PairStat]):
        self.selection, self.stats = selection, stats
        self.suggestion = suggest_min_support(stats)
        rule = ", ".join(f"{k}={v}" for k, v in selection.to_dict().items())
        message = f"no pair of {source_name} passes the selection rule ({rule})"
        if self.suggestion:
            only_support = [s for s in stats if s.reason == REASON_LOW_SUPPORT]
            message += (f": {len(only_support)} pair(s) fail only on support, seen together in at most "
                        f"{max(s.n_ab for s in only_support)} of {stats[0].n_images} training images")
        super().__init__(message)


def suggest_min_support(stats: list[PairStat]) -> tuple[int, int] | None:
    """(min_support, pairs it selects) for a source on which the support threshold alone selects
    nothing: the default scaled to the source's size (`scaled_min_support`) when that selects a
    pair, else the largest support seen. None when lowering the support alone would not help."""
    supports = sorted((s.n_ab for s in stats if s.reason == REASON_LOW_SUPPORT), reverse=True)
    if not supports:
        return None
    value = scaled_min_support(stats[0].n_images)
    if supports[0] < value:
        value = supports[0]
    return value, sum(1 for n in supports if n >= value)

