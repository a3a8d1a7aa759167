"""Image-caption pair sources for training, and mixing two of them by ratio.

A source holds N images, each with one or more captions. One training *sample* is (image i,
one caption of i); the caption is drawn again every epoch from a stream seeded by
(seed, epoch, i), so every caption is used and the choice is reproducible.

Images are decoded and passed through the model's preprocess. For small images (PictoWorld)
the preprocessed pixels are cached in memory as uint8 tensors before normalisation, so later
epochs cost no decoding. The cache is exact: open_clip's eval transform resizes a PIL image
(uint8 output), centre-crops, converts to float in [0, 1] and normalises; we keep the uint8
crop and do the last two steps per batch.
"""
from __future__ import annotations

import json
import math
import os
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from odbench.errors import ODBenchError


class TrainingDataError(ODBenchError):
    """A training data path or format a user got wrong."""


@dataclass
class PairSource:
    """N images with their captions; `load(i)` returns image i as PIL RGB."""
    name: str
    captions: list[list[str]]
    load: Callable[[int], Image.Image]
    ids: list[str] | None = None       # image ids ("i<coco id>" for COCO-format sources)
    src_ids: list[str] | None = None   # for derived rows (the synthetic set): the source image id

    def __len__(self) -> int:
        return len(self.captions)

    def caption(self, i: int, epoch: int, seed: int) -> str:
        caps = self.captions[i]
        if len(caps) == 1:
            return caps[0]
        rng = np.random.default_rng([seed, epoch, i, zlib.crc32(self.name.encode())])
        return caps[int(rng.integers(len(caps)))]


def coco_pairs(path: str | os.PathLike, split: str = "train", *, captions_json: str | None = None,
               images_dir: str | None = None, limit: int | None = None) -> PairSource:
    """Pairs of a COCO-format split: a PictoWorld folder (``annotations/captions_<split>.json``,
    ``images/<split>/``), or a COCO captions JSON file with ``images_dir``."""
    path = Path(path)
    if path.is_dir():
        captions_json = captions_json or str(path / "annotations" / f"captions_{split}.json")
        images_dir = images_dir or str(path / "images" / split)
    elif path.is_file():
        captions_json = str(path)
        if images_dir is None:
            raise TrainingDataError(f"{path} is a captions JSON file; also give the image folder")
    else:
        raise TrainingDataError(f"training data not found: {path}")
    if not Path(captions_json).is_file():
        raise TrainingDataError(f"no COCO captions file {captions_json} (expected a PictoWorld or "
                                f"COCO-format folder with annotations/captions_{split}.json)")
    try:
        data = json.loads(Path(captions_json).read_text(encoding="utf-8"))
        images = sorted(data["images"], key=lambda im: im["id"])
        by_image: dict[int, list[str]] = {}
        for ann in data["annotations"]:
            by_image.setdefault(ann["image_id"], []).append(ann["caption"].strip())
    except (ValueError, KeyError, TypeError) as exc:
        raise TrainingDataError(f"{captions_json} is not a COCO captions file ({exc})") from exc
    images = [im for im in images if by_image.get(im["id"])]
    if limit is not None:
        images = images[:limit]
    if not images:
        raise TrainingDataError(f"{captions_json}: no images with captions")
    root = Path(images_dir)
    files = [root / im["file_name"] for im in images]

    def load(i: int) -> Image.Image:
        with Image.open(files[i]) as im:
            return im.convert("RGB")

    return PairSource(name=f"coco:{captions_json}", captions=[by_image[im["id"]] for im in images], load=load,
                      ids=[f"i{im['id']}" for im in images])


def hf_pairs(folder: str | os.PathLike, split: str = "train", *, config: str = "train", image_column: str = "image",
             caption_column: str = "caption", kinds: Sequence[str] | None = None) -> PairSource:
    """Pairs of an HF dataset folder with an image and a caption column (the synthetic set);
    `kinds` keeps only rows of those synthesis kinds (`remove`, `paste`)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise TrainingDataError(f"synthetic training set not found: {folder}")
    import datasets

    from odbench.data import local_cache_dir

    cache = local_cache_dir(folder)   # `datasets` alone would key the cache by the folder's name
    try:  # ODBench folders declare a `train` config (plus `manifest`); plain folders have one default
        ds = datasets.load_dataset(str(folder), config, split=split, cache_dir=cache)
    except Exception:
        try:
            ds = datasets.load_dataset(str(folder), split=split, cache_dir=cache)
        except Exception as exc:  # datasets raises many types for a wrong folder
            raise TrainingDataError(f"cannot load {folder} with datasets.load_dataset "
                                    f"({type(exc).__name__}: {str(exc).splitlines()[0]})") from exc
    missing = {image_column, caption_column} - set(ds.column_names)
    if missing:
        raise TrainingDataError(f"{folder}: no column(s) {', '.join(sorted(missing))} "
                                f"(has {', '.join(ds.column_names)})")
    if kinds is not None:
        if "kind" not in ds.column_names:
            raise TrainingDataError(f"{folder}: no `kind` column to select rows of kinds {list(kinds)}")
        present = set(ds["kind"])
        unknown = set(kinds) - present
        if unknown:
            raise TrainingDataError(f"{folder} has no rows of kind {sorted(unknown)} (it has {sorted(present)})")
        ds = ds.filter(lambda kind: kind in set(kinds), input_columns="kind")
    texts = [[str(t)] for t in ds[caption_column]]
    src_ids = [str(v) for v in ds["src_id"]] if "src_id" in ds.column_names else None

    def load(i: int) -> Image.Image:
        return ds[int(i)][image_column].convert("RGB")

    return PairSource(name=f"hf:{folder}", captions=texts, load=load, src_ids=src_ids)


def partners(original: PairSource, synthetic: PairSource) -> np.ndarray:
    """For every synthetic row, the index of its source image in `original` (-1 if absent)."""
    if not original.ids or not synthetic.src_ids:
        raise TrainingDataError("--paired needs image ids in the original pairs (COCO format) and a "
                                "src_id column in the synthetic set")
    where = {image_id: i for i, image_id in enumerate(original.ids)}
    return np.asarray([where.get(s, -1) for s in synthetic.src_ids], dtype=np.int64)


def pair_with_sources(orig_idx: np.ndarray, syn_idx: np.ndarray, partner: np.ndarray) -> np.ndarray:
    """Put the source image of each synthetic row in the batch's original half (hard negatives:
    the image with the object next to the one without it). Slots are filled in order; a source
    already in the batch is not repeated (two positives for one caption would be false
    negatives), and unfilled slots keep their random original rows."""
    chosen: list[int] = []
    for j in syn_idx:
        src = int(partner[j])
        if len(chosen) == len(orig_idx):
            break
        if src >= 0 and src not in chosen:
            chosen.append(src)
    taken = set(chosen)
    rest = [int(i) for i in orig_idx if int(i) not in taken]
    return np.asarray((chosen + rest)[:len(orig_idx)], dtype=np.int64)


class ImageCache:
    """Preprocessed images of a source as uint8 [N, 3, H, W] (exact: see module docstring)."""

    def __init__(self, source: PairSource, preprocess: Callable, *, progress_desc: str = "images"):
        from torchvision import transforms

        from odbench.progress import progress

        self.mean, self.std, uint8_tf = _split_preprocess(preprocess)
        tensors = [torch.from_numpy(np.asarray(uint8_tf(source.load(i)), dtype=np.uint8).copy()).permute(2, 0, 1)
                   for i in progress(range(len(source)), desc=progress_desc, total=len(source), unit="img")]
        self.pixels = torch.stack(tensors)
        del transforms

    def batch(self, idx: Sequence[int]) -> torch.Tensor:
        x = self.pixels[torch.as_tensor(idx, dtype=torch.long)].float().div_(255)
        return (x - self.mean[:, None, None]) / self.std[:, None, None]


def _split_preprocess(preprocess) -> tuple[torch.Tensor, torch.Tensor, Callable]:
    """Split open_clip's eval Compose into (mean, std, the PIL->PIL part before ToTensor)."""
    from torchvision import transforms

    steps = list(getattr(preprocess, "transforms", []))
    kinds = [type(t).__name__ for t in steps]
    to_tensor = [i for i, k in enumerate(kinds) if k.endswith("ToTensor")]
    if not to_tensor or "Normalize" not in kinds or to_tensor[0] != len(kinds) - 2:
        raise TrainingDataError(f"unsupported preprocess (expected ..., ToTensor, Normalize): {kinds}")
    cut = to_tensor[0]
    norm = steps[kinds.index("Normalize")]
    pil_steps = [t for t in steps[:cut]]
    pil_tf = transforms.Compose(pil_steps + [lambda im: im.convert("RGB")])
    return torch.tensor(norm.mean, dtype=torch.float32), torch.tensor(norm.std, dtype=torch.float32), pil_tf


@dataclass(frozen=True)
class MixPlan:
    """Which rows of which source make up every batch: `per_batch[s]` rows of source s."""
    sizes: tuple[int, ...]
    per_batch: tuple[int, ...]
    steps_per_epoch: int


def plan_mix(sizes: Sequence[int], batch_size: int, mix: float, steps_per_epoch: int | None = None) -> MixPlan:
    """Source 0 = original pairs, source 1 (optional) = synthetic pairs, `mix` = synthetic share.

    Every batch has round(mix * batch_size) synthetic rows and the rest original rows, so the
    ratio holds in every batch, not just on average. An epoch is, by default, one pass over the
    synthetic rows when mix > 0 (the mitigation data is the point of finetuning), else one pass
    over the original rows; `steps_per_epoch` overrides it (e.g. to give an original-only
    control run exactly the steps of a mixed run).
    """
    if batch_size < 2:
        raise TrainingDataError("batch size must be at least 2 for a contrastive loss")
    if not 0.0 <= mix <= 1.0:
        raise TrainingDataError(f"--mix must be in [0, 1], got {mix}")
    if len(sizes) == 1 and mix > 0:
        raise TrainingDataError("--mix > 0 needs a synthetic training set")
    n_syn = round(mix * batch_size) if len(sizes) > 1 else 0
    per_batch = (batch_size - n_syn,) + ((n_syn,) if len(sizes) > 1 else ())
    for size, k in zip(sizes, per_batch, strict=True):
        if k and size == 0:
            raise TrainingDataError("a training source with rows to draw is empty")
    if steps_per_epoch is None:
        steps_per_epoch = (math.ceil(sizes[1] / n_syn) if n_syn else math.ceil(sizes[0] / per_batch[0]))
    if steps_per_epoch < 1:
        raise TrainingDataError("steps per epoch must be at least 1")
    return MixPlan(tuple(sizes), per_batch, steps_per_epoch)


def batch_indices(plan: MixPlan, seed: int, step: int) -> list[np.ndarray]:
    """Row indices of every source for global `step` (a pure function: resumable anywhere).

    Each source is consumed as a stream of random permutations (a fresh one per pass), so every
    row is used once per pass whatever the batch composition.
    """
    out = []
    for s, (size, k) in enumerate(zip(plan.sizes, plan.per_batch, strict=True)):
        if k == 0:
            out.append(np.zeros(0, dtype=np.int64))
            continue
        start = step * k
        rows = []
        while len(rows) < k:
            p, off = divmod(start + len(rows), size)
            perm = np.random.default_rng([seed, s, p]).permutation(size)
            rows.extend(perm[off:off + k - len(rows)].tolist())
        out.append(np.asarray(rows, dtype=np.int64))
    return out
