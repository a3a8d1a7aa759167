"""Build the test dataset (SPEC section 3) from a training and a test `Source`.

pairs (training split only) -> image edits (decorrelate, control) -> caption edits ->
relevance check -> shuffled galleries -> dataset folder (parquet + card + manifest).
"""
from __future__ import annotations

import dataclasses
import os
import random
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from PIL import Image

from odbench.lexicon import Lexicon
from odbench.progress import progress

from .caption_editor import CaptionEditor, RuleEditor, edit_caption
from .hf_folder import DatasetCard, FolderInfo, write_dataset_folder
from .image_editor import Eligibility, ImageEdit, apply_candidate, edit_candidates
from .inpainters import Inpainter, editor_string, get_inpainter
from .pair_stats import (NoPairSelected, PairSelection, PairStat, compute_pair_stats, pair_features,
                         pair_stats_features, selected_pairs)
from .provenance import check_disjoint, split_provenance
from .source import Source, SourceImage
from .features import caption_features, image_features, lexicon_features

BUILDER_VERSION = "1.0.0"
REASON_NO_RELEVANT_CAPTION = "no_relevant_caption"


@dataclass
class TestSplitConfig:
    __test__ = False  # a builder setting, not a pytest class
    name: str
    version: str
    seed: int = 0
    selection: PairSelection = field(default_factory=PairSelection)
    eligibility: Eligibility = field(default_factory=Eligibility)
    inpainter: str | Inpainter = "telea"
    dilation: int | None = None
    caption_editor: CaptionEditor = field(default_factory=RuleEditor)
    num_workers: int = 2


@dataclass
class SourceEdits:
    """What one source image contributes: its original rows and its accepted edits."""
    image: SourceImage
    original_file: str                 # RGB pixels of the source image on disk
    edits: list[tuple[ImageEdit, str]] # each edit with the PNG file of its pixels
    edited_captions: list[dict[str, Any]]
    rejected: Counter


def _edit_source(image: SourceImage, selected: list[PairStat], config: TestSplitConfig,
                 lexicon: Lexicon, scratch: Path) -> SourceEdits:
    """All eligible edits of one source image, with their edited captions (runs in a worker).

    Pixels go to PNG files under `scratch` rather than back to the parent process, so that a
    COCO-sized build does not hold thousands of decoded photos in memory."""
    inpainter = get_inpainter(config.inpainter)
    editor = config.caption_editor
    mentions = {c.id: lexicon.mentions(c.text) for c in image.captions}
    pixels = image.load()
    original_file = str(image.path)
    with Image.open(image.path) as im:
        if im.mode != "RGB":      # greyscale or CMYK JPEGs: store the RGB the edits start from
            original_file = str(scratch / f"{image.id}.png")
            pixels.save(original_file)
    edits, edited_captions, rejected = [], [], Counter()
    for candidate in edit_candidates(image, selected):
        edit = apply_candidate(image, candidate, inpainter=inpainter, eligibility=config.eligibility,
                               dilation=config.dilation, pixels=pixels)
        if not edit.eligible:
            rejected.update(f"{candidate.kind}:{r}" for r in edit.reason.split(","))
            continue
        objects = set(edit.objects)
        new_captions = []
        for caption in image.captions:
            if edit.removed not in mentions[caption.id]:
                continue
            text = edit_caption(editor, caption.text, edit.removed, lexicon)
            rejected["caption_edit_attempts"] += 1
            if text is None:
                rejected["caption_edit_failed"] += 1
                continue
            new_captions.append({
                "caption_id": f"{caption.id}-no-{edit.removed.replace(' ', '_')}", "text": text,
                "src_id": image.id, "edit_kind": edit.kind, "removed": edit.removed,
                "mentions": sorted(lexicon.mentions(text)), "pair": list(edit.pair) if edit.pair else None,
                "editor": f"{editor.name}/{editor.version}"})
        # SPEC 3: x⁻ʳ needs at least one relevant caption, original or edited.
        relevant = [c for c in image.captions if mentions[c.id] <= objects] + \
                   [c for c in new_captions if set(c["mentions"]) <= objects]
        if not relevant:
            rejected[f"{candidate.kind}:{REASON_NO_RELEVANT_CAPTION}"] += 1
            continue
        path = scratch / f"{edit.image_id}.png"
        edit.image.save(path)
        edits.append((dataclasses.replace(edit, image=None), str(path)))
        edited_captions.extend(new_captions)
    return SourceEdits(image, original_file, edits, edited_captions, rejected)


def _gallery_positions(n: int, rng: random.Random) -> list[int]:
    order = list(range(n))
    rng.shuffle(order)
    return order


def build_test_split(train: Source, test: Source, out_dir: str | os.PathLike, config: TestSplitConfig,
                     card: DatasetCard, *, lexicon: Lexicon | None = None, overwrite: bool = False,
                     source_info: dict[str, Any] | None = None) -> tuple[FolderInfo, dict[str, Any]]:
    """Build and write the test dataset; returns the folder info and the build report."""
    started = time.perf_counter()
    check_disjoint(train, test)  # SPEC 2: pairs must never see a test image
    lexicon = lexicon or Lexicon.coco()
    stats = compute_pair_stats(train, config.selection)
    selected = selected_pairs(stats)
    if not selected:
        raise NoPairSelected(train.name, config.selection, stats)

    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()) and not overwrite:
        # Fail before the expensive part; write_dataset_folder checks again before replacing.
        raise FileExistsError(f"{out_dir} exists and is not empty; pass overwrite=True to replace it")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".odbench-edits-", dir=out_dir.parent) as scratch:
        return _build(train, test, out_dir, config, card, lexicon, stats, selected, Path(scratch),
                      overwrite=overwrite, source_info=source_info, started=started)


def _build(train: Source, test: Source, out_dir: Path, config: TestSplitConfig, card: DatasetCard,
           lexicon: Lexicon, stats: list[PairStat], selected: list[PairStat], scratch: Path, *,
           overwrite: bool, source_info: dict[str, Any] | None, started: float):
    work = partial(_edit_source, selected=selected, config=config, lexicon=lexicon, scratch=scratch)
    if config.num_workers > 1:
        with ProcessPoolExecutor(config.num_workers) as pool:
            per_source = list(progress(pool.map(work, test.images, chunksize=8), desc="editing images",
                                       total=len(test.images), unit="img"))
    else:
        per_source = [work(img) for img in progress(test.images, desc="editing images",
                                                    total=len(test.images), unit="img")]

    images, captions, rejected = [], [], Counter()
    for s in per_source:
        img = s.image
        images.append({"image_id": img.id, "image": s.original_file, "src_id": img.id,
                       "edit_kind": "original", "removed": None, "objects": sorted(img.objects),
                       "kept": [], "pair": None, "mask_area": 0.0, "editor": ""})
        for c in img.captions:
            captions.append({"caption_id": c.id, "text": c.text, "src_id": img.id, "edit_kind": "original",
                             "removed": None, "mentions": sorted(lexicon.mentions(c.text)), "pair": None,
                             "editor": ""})
        for e, path in s.edits:
            images.append({"image_id": e.image_id, "image": path, "src_id": img.id, "edit_kind": e.kind,
                           "removed": e.removed, "objects": list(e.objects), "kept": list(e.kept),
                           "pair": list(e.pair) if e.pair else None, "mask_area": e.mask_area,
                           "editor": e.editor})
        captions.extend(s.edited_captions)
        rejected.update(s.rejected)

    # One shuffle with the build seed: gallery position carries no signal (SPEC 3).
    rng = random.Random(config.seed)
    for rows in (images, captions):
        for row, pos in zip(rows, _gallery_positions(len(rows), rng)):
            row["gallery_pos"] = pos
        rows.sort(key=lambda r: r["gallery_pos"])

    report = _report(images, captions, rejected, test)
    manifest = {
        "builder_version": BUILDER_VERSION, "seed": str(config.seed),
        "source": {"name": test.name, "split": test.split, "train": train.name,
                   "train_images": len(train.images), "provenance": split_provenance(train, test),
                   **(source_info or {})},
        "inpainter": editor_string(get_inpainter(config.inpainter)),
        "caption_editor": f"{config.caption_editor.name}/{config.caption_editor.version}",
        "lexicon_version": lexicon.version,
        "parameters": {"selection": config.selection.to_dict(), "eligibility": config.eligibility.to_dict(),
                       "dilation": config.dilation},
        "counts": report,
    }
    configs = {
        "images": (images, image_features()),
        "captions": (captions, caption_features()),
        "pairs": ([s.as_row(with_selection=False) for s in selected], pair_features()),
        "pair_stats": ([s.as_row() for s in stats], pair_stats_features()),
        "lexicon": (lexicon.rows(), lexicon_features()),
    }
    info = write_dataset_folder(out_dir, configs, card, manifest, split="test", overwrite=overwrite)
    report["build_seconds"] = round(time.perf_counter() - started, 1)
    return info, report


def _report(images: list[dict], captions: list[dict], rejected: Counter, test: Source) -> dict[str, Any]:
    kinds = Counter(r["edit_kind"] for r in images)
    objects_of = {r["image_id"]: set(r["objects"]) for r in images if r["edit_kind"] == "original"}
    caption_kinds = Counter(r["edit_kind"] for r in captions)
    attempts = rejected.pop("caption_edit_attempts", 0)
    failed = rejected.pop("caption_edit_failed", 0)
    return {
        "source_images": len(test.images),
        "images": dict(sorted(kinds.items())),
        "captions": dict(sorted(caption_kinds.items())),
        "caption_edit_attempts": attempts,
        "caption_edit_success_rate": round((attempts - failed) / attempts, 4) if attempts else None,
        "rejected_edits": dict(sorted(rejected.items())),
        # SPEC 4: such captions have no relevant image and are not used as queries.
        "original_captions_naming_unannotated_objects": sum(
            1 for r in captions if r["edit_kind"] == "original"
            and not set(r["mentions"]) <= objects_of[r["src_id"]]),
        "decorrelate_per_pair": dict(sorted(Counter("+".join(r["pair"]) for r in images
                                                    if r["edit_kind"] == "decorrelate").items())),
    }

