"""The in-memory form of a COCO-format source, shared by every builder.

`coco_format.read_coco(...)` fills it from COCO files on disk (real COCO or PictoWorld output);
the pair statistics, image editor, caption editor and split builders read it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Category:
    id: int            # COCO category id
    name: str          # COCO name, e.g. "sports ball"
    supercategory: str


@dataclass(frozen=True)
class Instance:
    category: str              # category name
    iscrowd: bool
    area: float                # COCO 'area' (pixels)
    bbox: tuple[float, float, float, float]
    segmentation: object       # COCO polygon list or RLE dict, decoded by `mask()`
    decode: Callable[[Instance, int, int], np.ndarray] = field(repr=False, compare=False, default=None)  # type: ignore[assignment]

    def mask(self, height: int, width: int) -> np.ndarray:
        """Boolean (height, width) mask of this instance."""
        return self.decode(self, height, width)


@dataclass(frozen=True)
class Caption:
    id: str      # "c<coco caption id>"
    text: str


@dataclass(frozen=True)
class SourceImage:
    id: str                    # "i<coco image id>"
    coco_id: int
    path: Path
    width: int
    height: int
    instances: tuple[Instance, ...]
    captions: tuple[Caption, ...]

    @property
    def objects(self) -> frozenset[str]:
        """O(x): categories with at least one instance (crowd regions count as present)."""
        return frozenset(inst.category for inst in self.instances)

    def load(self) -> Image.Image:
        with Image.open(self.path) as im:
            return im.convert("RGB")

    def category_mask(self, category: str) -> np.ndarray:
        """Union of the masks of every instance of `category`."""
        out = np.zeros((self.height, self.width), dtype=bool)
        for inst in self.instances:
            if inst.category == category:
                out |= inst.mask(self.height, self.width)
        return out


@dataclass
class Source:
    """One split of a COCO-format source."""
    name: str                          # e.g. "coco-2017/val" or "pictoworld/test"
    split: str
    categories: dict[str, Category]    # by name
    images: list[SourceImage]
    root: Path | None = None
    info: dict = field(default_factory=dict)   # free-form provenance recorded in manifests

    def supercategory(self, name: str) -> str:
        return self.categories[name].supercategory
