"""The synthetic training set (SPEC section 6): image-caption pairs that break correlated pairs.

- `remove` rows: a training image with both objects of a selected pair, one of them removed as
  in the test split (same image editor and caption editor), with a caption that is true of it.
- `paste` rows: an object of a selected pair, cut out with its mask from another training image,
  pasted into an image that has neither object of the pair, with a caption naming it.
"""
from __future__ import annotations

import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
from PIL import Image

from odbench.dataset_format import DECORRELATE, TRAIN, features
from odbench.lexicon import Lexicon
from odbench.progress import progress

from .caption_editor import CaptionEditor, RuleEditor, edit_caption
from .hf_folder import DatasetCard, FolderInfo, write_dataset_folder
from .image_editor import EditCandidate, Eligibility, apply_candidate, check_candidate, edit_candidates
from .inpainters import Inpainter, editor_string, get_inpainter
from .pair_stats import PairStat
from .provenance import side_provenance
from .source import Source, SourceImage

BUILDER_VERSION = "1.0.0"
PASTE_EDITOR = "paste/1"


@dataclass
class TrainSetConfig:
    name: str
    version: str
    seed: int = 0
    inpainter: str | Inpainter = "telea"
    eligibility: Eligibility = field(default_factory=Eligibility)
    caption_editor: CaptionEditor = field(default_factory=RuleEditor)
    paste_per_pair: int = 200       # paste rows per object of each selected pair
    max_remove: int | None = None   # cap on remove rows (None: every eligible edit)
    num_workers: int = 2


def _article(noun: str) -> str:
    return "an" if noun[0] in "aeiou" else "a"


def naming_caption(text: str, category: str) -> str:
    """Add a mention of `category` to a caption: "A cat on a couch with a frisbee nearby."."""
    body = text.strip().rstrip(".!").rstrip()
    return f"{body} with {_article(category)} {category} nearby."


def remove_plans(image: SourceImage, selected: list[PairStat], config: TrainSetConfig,
                 lexicon: Lexicon, editor: str) -> list[tuple[EditCandidate, dict[str, Any]]]:
    """The eligible decorrelating removals of `image` with their rows, before any pixel is
    touched (the row's `image` is left None): eligibility needs masks only."""
    rng = random.Random(f"{config.seed}:{image.id}")
    out = []
    for cand in edit_candidates(image, selected):
        if cand.kind != DECORRELATE:
            continue
        edit = check_candidate(image, cand, eligibility=config.eligibility, editor=editor)
        if not edit.eligible:
            continue
        objects = set(edit.objects)
        captions = []
        for c in image.captions:
            mentions = lexicon.mentions(c.text)
            if cand.removed in mentions:
                text = edit_caption(config.caption_editor, c.text, cand.removed, lexicon)
                if text is not None:
                    captions.append(text)
            elif mentions <= objects:
                captions.append(c.text)
        if not captions:
            continue
        text = rng.choice(captions)
        out.append((cand, {"id": edit.image_id, "image": None, "caption": text, "src_id": image.id,
                           "kind": "remove", "category": cand.removed, "pair": list(cand.pair),
                           "mentions": sorted(lexicon.mentions(text)), "editor": edit.editor}))
    return out


def render_removals(image: SourceImage, candidates: list[EditCandidate], config: TrainSetConfig,
                    inpainter: Inpainter) -> list[Image.Image]:
    """The pixels of `remove_plans`' edits of one image."""
    pixels = image.load() if candidates else None
    return [apply_candidate(image, cand, inpainter=inpainter, eligibility=config.eligibility, pixels=pixels).image
            for cand in candidates]


def _remove_rows(image: SourceImage, selected: list[PairStat], config: TrainSetConfig,
                 lexicon: Lexicon) -> list[dict[str, Any]]:
    """One row per eligible decorrelating removal of `image` (runs in a worker)."""
    inpainter = get_inpainter(config.inpainter)
    plans = remove_plans(image, selected, config, lexicon, editor_string(inpainter))
    pixels = render_removals(image, [cand for cand, _ in plans], config, inpainter)
    return [{**row, "image": im} for (_, row), im in zip(plans, pixels, strict=True)]


def _cut_mask(donor: SourceImage, category: str) -> tuple[np.ndarray, tuple[int, int, int, int]] | None:
    """The mask and box of the largest non-crowd instance of `category`, or None."""
    instances = [i for i in donor.instances if i.category == category and not i.iscrowd]
    if not instances:
        return None
    inst = max(instances, key=lambda i: i.area)
    mask = inst.mask(donor.height, donor.width)
    if mask.sum() < 16:
        return None
    ys, xs = np.nonzero(mask)
    return mask, (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)


def _cutout(donor: SourceImage, category: str, pixels: bool = True) -> Image.Image | None:
    """The largest non-crowd instance of `category` as an RGBA cut-out, or None. Without
    `pixels` the colour is black: the alpha, all that placing needs, is the same (resizing
    treats alpha as its own channel), and the donor's file is not read."""
    cut = _cut_mask(donor, category)
    if cut is None:
        return None
    mask, box = cut
    alpha = Image.fromarray((mask * 255).astype(np.uint8))
    rgba = donor.load().convert("RGBA") if pixels else Image.new("RGBA", alpha.size)
    rgba.putalpha(alpha)
    return rgba.crop(box)


def _free_spot(target: SourceImage, cut: Image.Image, rng: random.Random,
               max_hidden: float = 0.2, tries: int = 10) -> tuple[int, int] | None:
    """A position where the cut-out hides at most `max_hidden` of every object already there,
    so that the target's captions stay true of the pasted image."""
    alpha = np.asarray(cut.getchannel("A")) > 0
    masks = [target.category_mask(c) for c in sorted(target.objects)]
    for _ in range(tries):
        x = rng.randrange(0, target.width - cut.width + 1)
        y = rng.randrange(0, target.height - cut.height + 1)
        covered = np.zeros((target.height, target.width), dtype=bool)
        covered[y:y + cut.height, x:x + cut.width] = alpha
        if all((m & covered).sum() <= max_hidden * m.sum() for m in masks):
            return x, y
    return None


@dataclass(frozen=True)
class PastePlan:
    """Where one paste row's cut-out comes from and where it goes."""
    target: SourceImage
    donor: SourceImage
    category: str
    size: tuple[int, int] | None     # the cut-out's size after scaling; None: as cut
    spot: tuple[int, int]


def paste_plans(train: Source, selected: list[PairStat], config: TrainSetConfig,
                lexicon: Lexicon) -> Iterator[tuple[PastePlan, dict[str, Any]]]:
    """The paste rows (the row's `image` left None), drawn without reading any pixel."""
    rng = random.Random(config.seed)
    for stat in selected:
        for obj, partner in ((stat.a, stat.b), (stat.b, stat.a)):
            donors = [im for im in train.images if obj in im.objects]
            targets = [im for im in train.images if obj not in im.objects and partner not in im.objects
                       and any(lexicon.mentions(c.text) <= im.objects for c in im.captions)]
            if not donors or not targets:
                continue
            for n in range(config.paste_per_pair):
                target, donor = rng.choice(targets), rng.choice(donors)
                cut = _cutout(donor, obj, pixels=False)
                if cut is None:
                    continue
                scale = min(1.0, 0.6 * min(target.width / cut.width, target.height / cut.height))
                size = None
                if scale < 1.0:
                    size = (max(1, int(cut.width * scale)), max(1, int(cut.height * scale)))
                    cut = cut.resize(size)
                spot = _free_spot(target, cut, rng)
                if spot is None:
                    continue
                caption = rng.choice([c for c in target.captions if lexicon.mentions(c.text) <= target.objects])
                text = naming_caption(caption.text, obj)
                if lexicon.mentions(text) != lexicon.mentions(caption.text) | {obj}:
                    continue
                yield PastePlan(target, donor, obj, size, spot), {
                    "id": f"{target.id}-paste-{obj.replace(' ', '_')}-{n}", "image": None, "caption": text,
                    "src_id": target.id, "kind": "paste", "category": obj, "pair": [stat.a, stat.b],
                    "mentions": sorted(lexicon.mentions(text)), "editor": PASTE_EDITOR}


def render_paste(plan: PastePlan) -> Image.Image:
    cut = _cutout(plan.donor, plan.category)
    if plan.size is not None:
        cut = cut.resize(plan.size)
    base = plan.target.load()
    base.paste(cut, plan.spot, cut)
    return base


def _paste_rows(train: Source, selected: list[PairStat], config: TrainSetConfig,
                lexicon: Lexicon) -> Iterator[dict[str, Any]]:
    for plan, row in paste_plans(train, selected, config, lexicon):
        yield {**row, "image": render_paste(plan)}


def remove_candidates(train: Source, selected: list[PairStat]) -> list[SourceImage]:
    """The images with a decorrelating removal to try."""
    return [im for im in train.images if any(c.kind == DECORRELATE for c in edit_candidates(im, selected))]


def sample_removals(remove: list[dict[str, Any]], config: TrainSetConfig) -> list[dict[str, Any]]:
    """`max_remove` rows drawn with the build seed, in id order (all of them without a cap)."""
    if config.max_remove is None:
        return remove
    remove = random.Random(config.seed).sample(remove, min(config.max_remove, len(remove)))
    remove.sort(key=lambda r: r["id"])
    return remove


def manifest_and_report(train: Source, selected: list[PairStat], rows: list[dict[str, Any]],
                        config: TrainSetConfig, editor: str) -> tuple[dict[str, Any], dict[str, Any]]:
    report = {"rows": len(rows), "kinds": dict(Counter(r["kind"] for r in rows)),
              "per_pair": dict(sorted(Counter("+".join(r["pair"]) for r in rows).items())),
              "source_images": len(train.images)}
    manifest = {"builder_version": BUILDER_VERSION, "seed": str(config.seed),
                "source": {"name": train.name, "split": train.split, "provenance": side_provenance(train)},
                "inpainter": editor, "caption_editor":
                f"{config.caption_editor.name}/{config.caption_editor.version}",
                "pairs": [[s.a, s.b] for s in selected],
                "parameters": {"paste_per_pair": config.paste_per_pair, "max_remove": config.max_remove,
                               "eligibility": config.eligibility.to_dict()},
                "counts": report}
    return manifest, report


def build_train_set(train: Source, selected: list[PairStat], out_dir: str | os.PathLike,
                    config: TrainSetConfig, card: DatasetCard, *, lexicon: Lexicon | None = None,
                    overwrite: bool = False) -> tuple[FolderInfo, dict[str, Any]]:
    """Build and write the synthetic training set; returns the folder info and a report."""
    started = time.perf_counter()
    lexicon = lexicon or Lexicon.coco()
    candidates = remove_candidates(train, selected)
    work = partial(_remove_rows, selected=selected, config=config, lexicon=lexicon)
    if config.num_workers > 1:
        with ProcessPoolExecutor(config.num_workers) as pool:
            remove = [r for rows in progress(pool.map(work, candidates, chunksize=8), desc="remove rows",
                                             total=len(candidates), unit="img") for r in rows]
    else:
        remove = [r for im in progress(candidates, desc="remove rows", total=len(candidates), unit="img")
                  for r in work(im)]
    remove = sample_removals(remove, config)
    paste = list(progress(_paste_rows(train, selected, config, lexicon), desc="paste rows", unit="row"))
    rows = remove + paste
    manifest, report = manifest_and_report(train, selected, rows, config, editor_string(get_inpainter(config.inpainter)))
    info = write_dataset_folder(out_dir, {TRAIN: (rows, features(TRAIN))}, card, manifest,
                                split="train", overwrite=overwrite)
    report["build_seconds"] = round(time.perf_counter() - started, 1)
    return info, report
