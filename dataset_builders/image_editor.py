"""Edited images x⁻ʳ: remove every instance of one category (SPEC section 3).

Two steps, both pure functions of a `SourceImage`:

- `edit_candidates(image, selected)` lists what to remove: `decorrelate` candidates (r is in a
  selected pair whose partner is also in the image) and `control` candidates (objects in no
  selected pair with any other object of the image).
- `check_edit(image, removed, kept)` builds the dilated mask and applies the eligibility
  rules, without pixels; `edit_image(...)` does the same and, only when eligible, inpaints
  (inpainting is the expensive part).

The remaining rule, "x⁻ʳ has at least one relevant caption", needs the captions and lexicon
and is checked by the split builder.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from typing import Any, Protocol

import numpy as np
from PIL import Image

from dataset_builders.inpainters import Inpainter, editor_string, get_inpainter
from dataset_builders.source import SourceImage
from odbench.dataset_format import CONTROL, DECORRELATE

# Reason codes of ineligible edits; several are joined with ",".
REASON_CROWD = "crowd"
REASON_EMPTY_MASK = "empty_mask"
REASON_MASK_TOO_LARGE = "mask_too_large"
REASON_HIDES_KEPT = "hides_kept"     # hides too much of the kept partner
REASON_HIDES_OTHER = "hides_other"   # hides too much of a third object (SPEC v2)


@dataclass(frozen=True)
class Eligibility:
    """Eligibility rules of an edit; recorded in the dataset manifest (`to_dict`)."""
    max_mask_fraction: float = 0.30   # dilated mask / image area
    # |dilated mask ∩ o's mask| / |o's mask| for EVERY other present object o, not only the
    # kept partner: an edit that erases a third object would leave a wrong O(x⁻ʳ).
    max_other_hidden: float = 0.20
    allow_crowd: bool = False         # SPEC: r must have no crowd annotation

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def slug(category: str) -> str:
    """Category name as used in ids: `hot dog` -> `hot_dog`."""
    return category.replace(" ", "_")


def edited_image_id(src_id: str, removed: str) -> str:
    return f"{src_id}-no-{slug(removed)}"


def default_dilation(height: int, width: int) -> int:
    """Dilation radius in pixels: ~1% of the longer side, at least 3 (covers soft edges)."""
    return max(3, round(0.01 * max(height, width)))


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Dilate a bool mask with a disc of `radius` pixels."""
    if radius <= 0 or not mask.any():
        return mask.copy()
    import cv2
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)


class _PairLike(Protocol):
    a: str
    b: str
    npmi: float


@dataclass(frozen=True)
class EditCandidate:
    src_id: str
    removed: str
    kind: str                          # "decorrelate" or "control"
    kept: tuple[str, ...]              # (partner,) for decorrelate, () for control
    pair: tuple[str, str] | None       # sorted selected pair for decorrelate

    @property
    def image_id(self) -> str:
        return edited_image_id(self.src_id, self.removed)


def edit_candidates(image: SourceImage, selected: Iterable[_PairLike]) -> list[EditCandidate]:
    """Candidate edits of `image`: decorrelate ones first, then controls, each by category.

    At most one edit per removed category. When r pairs with several present partners, the
    pair with the highest training NPMI wins (ties: alphabetically first partner), as in
    docs/dataset-format.md.
    """
    present = image.objects
    partners: dict[str, list[tuple[float, str]]] = {}
    for p in selected:
        if p.a in present and p.b in present and p.a != p.b:
            partners.setdefault(p.a, []).append((p.npmi, p.b))
            partners.setdefault(p.b, []).append((p.npmi, p.a))
    out = []
    for r in sorted(partners):
        _, k = min(partners[r], key=lambda t: (-t[0], t[1]))
        out.append(EditCandidate(image.id, r, DECORRELATE, (k,), tuple(sorted((r, k)))))
    for u in sorted(present - partners.keys()):
        out.append(EditCandidate(image.id, u, CONTROL, (), None))
    return out


@dataclass(frozen=True)
class ImageEdit:
    """One edit, eligible or not. `image` is None when ineligible (it was never inpainted)."""
    src_id: str
    removed: str
    kind: str
    kept: tuple[str, ...]
    pair: tuple[str, str] | None
    objects: tuple[str, ...]           # O(x⁻ʳ), sorted
    mask_area: float                   # dilated mask / image area
    kept_hidden: float | None          # share of the kept object's area under the mask
    other_hidden: float                # largest share of any other present object under the mask
    dilation_px: int
    editor: str                        # "name/version" of the inpainter
    reason: str                        # "" when eligible, else reason codes joined by ","
    image: Image.Image | None = None

    @property
    def eligible(self) -> bool:
        return not self.reason

    @property
    def image_id(self) -> str:
        return edited_image_id(self.src_id, self.removed)


def removal_mask(image: SourceImage, removed: str, dilation: int | None = None) -> tuple[np.ndarray, int]:
    """Union of `removed`'s instance masks dilated by `dilation` px (default: scaled to size)."""
    radius = default_dilation(image.height, image.width) if dilation is None else int(dilation)
    return dilate(image.category_mask(removed), radius), radius


def _hidden(image: SourceImage, mask: np.ndarray, category: str) -> float:
    """Share of `category`'s visible area under `mask`; an invisible object counts as fully
    hidden (the edit could not show it)."""
    other = image.category_mask(category)
    return float((mask & other).sum() / other.sum()) if other.any() else 1.0


def _plan(image: SourceImage, removed: str, kept: str | None, *, eligibility: Eligibility,
          dilation: int | None, kind: str | None, pair: tuple[str, str] | None,
          editor: str) -> tuple[ImageEdit, np.ndarray]:
    if removed not in image.objects:
        raise ValueError(f"{removed!r} is not present in image {image.id}")
    if kept is not None and (kept not in image.objects or kept == removed):
        raise ValueError(f"kept object {kept!r} must be another object of image {image.id}")
    kind = kind or (DECORRELATE if kept else CONTROL)
    if kind == DECORRELATE and pair is None:
        pair = tuple(sorted((removed, kept)))  # type: ignore[assignment]

    mask, radius = removal_mask(image, removed, dilation)
    mask_area = float(mask.mean()) if mask.size else 0.0
    reasons = []
    if not eligibility.allow_crowd and any(i.iscrowd for i in image.instances if i.category == removed):
        reasons.append(REASON_CROWD)
    if not mask.any():
        reasons.append(REASON_EMPTY_MASK)
    if mask_area > eligibility.max_mask_fraction:
        reasons.append(REASON_MASK_TOO_LARGE)
    hidden = {c: _hidden(image, mask, c) for c in sorted(image.objects - {removed})}
    kept_hidden = hidden.get(kept) if kept is not None else None
    if kept_hidden is not None and kept_hidden > eligibility.max_other_hidden:
        reasons.append(REASON_HIDES_KEPT)
    if any(h > eligibility.max_other_hidden for c, h in hidden.items() if c != kept):
        reasons.append(REASON_HIDES_OTHER)
    edit = ImageEdit(
        src_id=image.id, removed=removed, kind=kind, kept=(kept,) if kept else (), pair=pair,
        objects=tuple(sorted(image.objects - {removed})), mask_area=mask_area,
        kept_hidden=kept_hidden, other_hidden=max(hidden.values(), default=0.0), dilation_px=radius,
        editor=editor, reason=",".join(reasons))
    return edit, mask


def check_edit(image: SourceImage, removed: str, kept: str | None = None, *,
               eligibility: Eligibility = Eligibility(), dilation: int | None = None,
               kind: str | None = None, pair: tuple[str, str] | None = None,
               editor: str = "") -> ImageEdit:
    """The edit's mask statistics and eligibility, without touching pixels (`image` is None)."""
    return _plan(image, removed, kept, eligibility=eligibility, dilation=dilation, kind=kind,
                 pair=pair, editor=editor)[0]


def edit_image(image: SourceImage, removed: str, kept: str | None = None, *,
               inpainter: str | Inpainter = "telea", eligibility: Eligibility = Eligibility(),
               dilation: int | None = None, kind: str | None = None,
               pair: tuple[str, str] | None = None, pixels: Image.Image | None = None) -> ImageEdit:
    """Remove every instance of `removed` from `image`, keeping `kept` (the partner) if given.

    `kind` defaults to decorrelate when `kept` is given, else control; `pair` to the sorted
    (removed, kept). `pixels` avoids reloading the file when several edits share one image.
    """
    inp = get_inpainter(inpainter)
    edit, mask = _plan(image, removed, kept, eligibility=eligibility, dilation=dilation, kind=kind,
                       pair=pair, editor=editor_string(inp))
    if not edit.eligible:
        return edit
    base = (pixels if pixels is not None else image.load()).convert("RGB")
    if base.size != (image.width, image.height):
        raise ValueError(f"pixels of {image.id} are {base.size}, annotations say "
                         f"{(image.width, image.height)}")
    return replace(edit, image=inp.inpaint(base, mask, source_image=image, removed=removed))


def apply_candidate(image: SourceImage, candidate: EditCandidate, **kwargs: Any) -> ImageEdit:
    """`edit_image` for a candidate from `edit_candidates` (kwargs as for `edit_image`)."""
    kept = candidate.kept[0] if candidate.kept else None
    return edit_image(image, candidate.removed, kept, kind=candidate.kind, pair=candidate.pair,
                      **kwargs)


def check_candidate(image: SourceImage, candidate: EditCandidate, **kwargs: Any) -> ImageEdit:
    """`check_edit` for a candidate from `edit_candidates` (kwargs as for `check_edit`)."""
    kept = candidate.kept[0] if candidate.kept else None
    return check_edit(image, candidate.removed, kept, kind=candidate.kind, pair=candidate.pair,
                      **kwargs)
