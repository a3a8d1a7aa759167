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
from .image_editor import Eligibility, apply_candidate, edit_candidates
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


def _remove_rows(image: SourceImage, selected: list[PairStat], config: TrainSetConfig,
                 lexicon: Lexicon) -> list[dict[str, Any]]:
    """One row per eligible decorrelating removal of `image` (runs in a worker)."""
    rng = random.Random(f"{config.seed}:{image.id}")
    inpainter = get_inpainter(config.inpainter)
    rows, pixels = [], None
    for cand in edit_candidates(image, selected):
        if cand.kind != DECORRELATE:
            continue
        pixels = pixels or image.load()
        edit = apply_candidate(image, cand, inpainter=inpainter, eligibility=config.eligibility, pixels=pixels)
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
        rows.append({"id": edit.image_id, "image": edit.image, "caption": text, "src_id": image.id,
                     "kind": "remove", "category": cand.removed, "pair": list(cand.pair),
                     "mentions": sorted(lexicon.mentions(text)), "editor": edit.editor})
    return rows


def _cutout(donor: SourceImage, category: str) -> Image.Image | None:
    """The largest non-crowd instance of `category` as an RGBA cut-out, or None."""
    instances = [i for i in donor.instances if i.category == category and not i.iscrowd]
    if not instances:
        return None
    inst = max(instances, key=lambda i: i.area)
    mask = inst.mask(donor.height, donor.width)
    if mask.sum() < 16:
        return None
    ys, xs = np.nonzero(mask)
    box = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    rgba = donor.load().convert("RGBA")
    rgba.putalpha(Image.fromarray((mask * 255).astype(np.uint8)))
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


def _paste_rows(train: Source, selected: list[PairStat], config: TrainSetConfig,
                lexicon: Lexicon) -> Iterator[dict[str, Any]]:
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
                cut = _cutout(donor, obj)
                if cut is None:
                    continue
                base = target.load()
                scale = min(1.0, 0.6 * min(base.width / cut.width, base.height / cut.height))
                if scale < 1.0:
                    cut = cut.resize((max(1, int(cut.width * scale)), max(1, int(cut.height * scale))))
                spot = _free_spot(target, cut, rng)
                if spot is None:
                    continue
                base.paste(cut, spot, cut)
                caption = rng.choice([c for c in target.captions if lexicon.mentions(c.text) <= target.objects])
                text = naming_caption(caption.text, obj)
                if lexicon.mentions(text) != lexicon.mentions(caption.text) | {obj}:
                    continue
                yield {"id": f"{target.id}-paste-{obj.replace(' ', '_')}-{n}", "image": base, "caption": text,
                       "src_id": target.id, "kind": "paste", "category": obj,
                       "pair": [stat.a, stat.b], "mentions": sorted(lexicon.mentions(text)),
                       "editor": PASTE_EDITOR}


def build_train_set(train: Source, selected: list[PairStat], out_dir: str | os.PathLike,
                    config: TrainSetConfig, card: DatasetCard, *, lexicon: Lexicon | None = None,
                    overwrite: bool = False) -> tuple[FolderInfo, dict[str, Any]]:
    """Build and write the synthetic training set; returns the folder info and a report."""
    started = time.perf_counter()
    lexicon = lexicon or Lexicon.coco()
    candidates = [im for im in train.images
                  if any(c.kind == DECORRELATE for c in edit_candidates(im, selected))]
    work = partial(_remove_rows, selected=selected, config=config, lexicon=lexicon)
    if config.num_workers > 1:
        with ProcessPoolExecutor(config.num_workers) as pool:
            remove = [r for rows in progress(pool.map(work, candidates, chunksize=8), desc="remove rows",
                                             total=len(candidates), unit="img") for r in rows]
    else:
        remove = [r for im in progress(candidates, desc="remove rows", total=len(candidates), unit="img")
                  for r in work(im)]
    if config.max_remove is not None:
        remove = random.Random(config.seed).sample(remove, min(config.max_remove, len(remove)))
        remove.sort(key=lambda r: r["id"])
    paste = list(progress(_paste_rows(train, selected, config, lexicon), desc="paste rows", unit="row"))
    rows = remove + paste
    report = {"rows": len(rows), "kinds": dict(Counter(r["kind"] for r in rows)),
              "per_pair": dict(sorted(Counter("+".join(r["pair"]) for r in rows).items())),
              "source_images": len(train.images)}
    manifest = {"builder_version": BUILDER_VERSION, "seed": str(config.seed),
                "source": {"name": train.name, "split": train.split, "provenance": side_provenance(train)},
                "inpainter": editor_string(get_inpainter(config.inpainter)), "caption_editor":
                f"{config.caption_editor.name}/{config.caption_editor.version}",
                "pairs": [[s.a, s.b] for s in selected],
                "parameters": {"paste_per_pair": config.paste_per_pair, "max_remove": config.max_remove,
                               "eligibility": config.eligibility.to_dict()},
                "counts": report}
    info = write_dataset_folder(out_dir, {TRAIN: (rows, features(TRAIN))}, card, manifest,
                                split="train", overwrite=overwrite)
    report["build_seconds"] = round(time.perf_counter() - started, 1)
    return info, report
