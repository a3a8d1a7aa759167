"""Build the test dataset (SPEC section 3) from a training and a test `Source`.

pairs (training split only) -> edit plans per source image (eligibility, caption edits,
relevance; no pixels) -> control selection (same source first) -> inpainting of the chosen
edits -> shuffled galleries -> dataset folder (parquet + card + manifest).
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

import numpy as np
from PIL import Image

from odbench.dataset_format import (
    CAPTION_STYLES,
    CAPTIONS,
    CONTROL,
    DECORRELATE,
    EXHAUSTIVE,
    IMAGES,
    LEXICON,
    ORIGINAL,
    PAIR_STATS,
    PAIRS,
    PARTIAL,
    SPEC_VERSION,
    TEST,
    VALIDATION,
    features,
)
from odbench.lexicon import Lexicon
from odbench.progress import progress

from .caption_editor import CaptionEditor, RuleEditor, edit_caption
from .card_examples import add_examples
from .hf_folder import DatasetCard, FolderInfo, add_card_section, no_progress_bars, write_dataset_folder
from .image_editor import Eligibility, ImageEdit, check_candidate, edit_candidates, edit_image
from .inpainters import Inpainter, editor_string, get_inpainter
from .pair_stats import (
    NoPairSelected,
    PairSelection,
    PairStat,
    compute_pair_stats,
    selected_pairs,
)
from .provenance import check_disjoint, check_no_shared_scene, side_provenance, split_provenance
from .source import Source, SourceImage

BUILDER_VERSION = "2.0.0"
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
    # SPEC 1: `exhaustive` when every caption names every object of its image (generated
    # worlds), `partial` for human captions (COCO). It decides relevance.
    caption_style: str = PARTIAL
    # Controls per decorrelate edit, same source first (SPEC 3); None keeps every eligible one.
    controls_per_decorrelate: float | None = 1.0
    # Run `odbench check-benchmark` on the result and put its table into the card (SPEC 8).
    check: bool = True
    num_workers: int = 2
    # Earlier versions of this dataset whose test split this one keeps (same dataset hash;
    # SPEC 9), recorded in the manifest so that their results are checked on this folder.
    same_test_split_as: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.caption_style not in CAPTION_STYLES:
            raise ValueError(f"caption_style must be one of {list(CAPTION_STYLES)}, got {self.caption_style!r}")
        if self.controls_per_decorrelate is not None and self.controls_per_decorrelate < 0:
            raise ValueError("controls_per_decorrelate must be >= 0 (or None for every eligible control)")


@dataclass
class EditPlan:
    """An eligible edit of one source image, its edited captions, before any pixel is touched."""
    edit: ImageEdit
    captions: list[dict[str, Any]]


@dataclass
class SourcePlan:
    """What one source image can contribute: its viable edits, and why others were rejected."""
    image: SourceImage
    plans: list[EditPlan]
    rejected: Counter


@dataclass
class SourceEdits:
    """What one source image contributes: its original pixels and its chosen, inpainted edits."""
    image: SourceImage
    original_file: str                 # RGB pixels of the source image on disk
    edits: list[tuple[ImageEdit, str]] # each edit with the PNG file of its pixels
    edited_captions: list[dict[str, Any]]


def _is_relevant(mentions: set[str], objects: set[str], style: str) -> bool:
    """SPEC 4 within one source: exactly the objects (exhaustive) or a subset of them (partial)."""
    return bool(mentions) and mentions == objects if style == EXHAUSTIVE else mentions <= objects


def _check_exhaustive_source(image: SourceImage, mentions: dict[str, frozenset[str]]) -> None:
    for caption in image.captions:
        if mentions[caption.id] != image.objects:
            raise ValueError(
                f"caption_style is 'exhaustive' but caption {caption.id} of {image.id} names "
                f"{sorted(mentions[caption.id])} while the image holds {sorted(image.objects)}: "
                f"{caption.text!r}")


def _plan_source(image: SourceImage, selected: list[PairStat], config: TestSplitConfig,
                 lexicon: Lexicon) -> SourcePlan:
    """Every eligible edit of one source image with its edited captions (runs in a worker).

    Only annotations and text are used here; pixels are inpainted later, for chosen edits."""
    editor, style = config.caption_editor, config.caption_style
    mentions = {c.id: lexicon.mentions(c.text) for c in image.captions}
    if style == EXHAUSTIVE:
        _check_exhaustive_source(image, mentions)
    plans, rejected = [], Counter()
    for candidate in edit_candidates(image, selected):
        edit = check_candidate(image, candidate, eligibility=config.eligibility, dilation=config.dilation)
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
            named = lexicon.mentions(text) if text is not None else None
            # SPEC 3: in an exhaustive dataset c⁻ʳ names exactly O(x⁻ʳ).
            if named is None or (style == EXHAUSTIVE and named != objects):
                rejected["caption_edit_failed"] += 1
                continue
            new_captions.append({
                "caption_id": f"{caption.id}-no-{edit.removed.replace(' ', '_')}", "text": text,
                "src_id": image.id, "edit_kind": edit.kind, "removed": edit.removed,
                "mentions": sorted(named), "pair": list(edit.pair) if edit.pair else None,
                "editor": f"{editor.name}/{editor.version}"})
        # SPEC 3: x⁻ʳ needs at least one relevant caption; its own captions are checked here.
        if not any(_is_relevant(set(mentions[c.id]), objects, style) for c in image.captions) and \
                not any(_is_relevant(set(c["mentions"]), objects, style) for c in new_captions):
            rejected[f"{candidate.kind}:{REASON_NO_RELEVANT_CAPTION}"] += 1
            continue
        plans.append(EditPlan(edit, new_captions))
    return SourcePlan(image, plans, rejected)


@dataclass(frozen=True)
class ControlChoice:
    chosen: frozenset[tuple[str, str]]   # (src_id, removed) of the chosen controls
    same_source: int                     # decorrelate edits with a control of their own source
    other_source: int                    # controls taken from other images


def select_controls(plans: list[SourcePlan], per_decorrelate: float | None) -> ControlChoice:
    """Controls as alike to the decorrelate edits as the data allow (SPEC 3).

    Rounds over the decorrelate edits (by source id, then removed category): each first takes
    the unused control of its own source with the closest mask area; those left without one
    then take the closest unused control of any other source. Rounds repeat until
    round(per_decorrelate x decorrelate edits) controls are chosen or none is left; ties go to
    the lower (source id, category). None keeps every eligible control.
    """
    controls = sorted((p.edit.src_id, p.edit.removed, p.edit.mask_area) for sp in plans for p in sp.plans
                       if p.edit.kind == CONTROL)
    decorrelate = sorted((p.edit.src_id, p.edit.removed, p.edit.mask_area) for sp in plans for p in sp.plans
                         if p.edit.kind == DECORRELATE)
    if per_decorrelate is None:
        return ControlChoice(frozenset((s, r) for s, r, _ in controls), 0, 0)
    target = min(len(controls), round(per_decorrelate * len(decorrelate)))
    src = np.array([c[0] for c in controls], dtype=object)
    area = np.array([c[2] for c in controls], dtype=np.float64)
    used = np.zeros(len(controls), dtype=bool)
    served_same: set[tuple[str, str]] = set()
    n_other = 0

    def take(d_src: str, d_area: float, same: bool) -> bool:
        allowed = ~used & ((src == d_src) if same else (src != d_src))
        if not allowed.any():
            return False
        cost = np.where(allowed, np.abs(area - d_area), np.inf)
        used[int(np.argmin(cost))] = True       # argmin: first of equal costs = lowest (src, category)
        return True

    while used.sum() < target:
        before = int(used.sum())
        unserved = []
        for d_src, d_removed, d_area in decorrelate:
            if used.sum() >= target:
                break
            if take(d_src, d_area, same=True):
                served_same.add((d_src, d_removed))
            else:
                unserved.append((d_src, d_area))
        for d_src, d_area in unserved:
            if used.sum() >= target:
                break
            n_other += take(d_src, d_area, same=False)
        if used.sum() == before:
            break
    chosen = frozenset((controls[i][0], controls[i][1]) for i in np.flatnonzero(used))
    return ControlChoice(chosen, len(served_same), n_other)


def _render_source(job: tuple[SourcePlan, frozenset[tuple[str, str]]], config: TestSplitConfig,
                   scratch: Path) -> SourceEdits:
    """Inpaint the chosen edits of one source (runs in a worker).

    Pixels go to PNG files under `scratch` rather than back to the parent process, so that a
    COCO-sized build does not hold thousands of decoded photos in memory."""
    plan, chosen = job
    image = plan.image
    inpainter = get_inpainter(config.inpainter)
    keep = [p for p in plan.plans if p.edit.kind == DECORRELATE or (image.id, p.edit.removed) in chosen]
    original_file = str(image.path)
    pixels = image.load() if keep else None
    with Image.open(image.path) as im:
        if im.mode != "RGB":      # greyscale or CMYK JPEGs: store the RGB the edits start from
            original_file = str(scratch / f"{image.id}.png")
            (pixels or image.load()).save(original_file)
    edits, captions = [], []
    for p in keep:
        kept = p.edit.kept[0] if p.edit.kept else None
        edit = edit_image(image, p.edit.removed, kept, kind=p.edit.kind, pair=p.edit.pair,
                          inpainter=inpainter, eligibility=config.eligibility, dilation=config.dilation,
                          pixels=pixels)
        path = scratch / f"{edit.image_id}.png"
        edit.image.save(path)
        edits.append((dataclasses.replace(edit, image=None), str(path)))
        captions.extend(p.captions)
    return SourceEdits(image, original_file, edits, captions)


def _gallery_positions(n: int, rng: random.Random) -> list[int]:
    order = list(range(n))
    rng.shuffle(order)
    return order


def build_test_split(train: Source, test: Source, out_dir: str | os.PathLike, config: TestSplitConfig,
                     card: DatasetCard, *, lexicon: Lexicon | None = None, overwrite: bool = False,
                     source_info: dict[str, Any] | None = None, validation: Source | None = None,
                     validation_info: dict[str, Any] | None = None,
                     validation_inpainter: str | Inpainter | None = None) -> tuple[FolderInfo, dict[str, Any]]:
    """Build and write the test dataset; returns the folder info and the build report.

    With `validation`, the dataset also gets a `validation` split (SPEC 9): the same recipe on
    those sources, with the pairs chosen on `train` as for test; it must share no image with
    either side, by id, file or decoded pixels. `validation_inpainter` replaces the config's
    for it (an exact remover is bound to its split's scenes)."""
    started = time.perf_counter()
    check_disjoint(train, test)  # SPEC 2: pairs must never see a test image
    shared_scenes = None
    if validation is not None:
        check_disjoint(train, validation)
        check_disjoint(test, validation)
        shared_scenes = check_no_shared_scene(validation, [train, test])
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
        test_rows = _split_rows(test, selected, config, lexicon, Path(scratch) / TEST, random.Random(config.seed))
        val_rows = None
        if validation is not None:
            # Its own gallery shuffle, drawn from the build seed and the split's name.
            val_config = config if validation_inpainter is None else \
                dataclasses.replace(config, inpainter=validation_inpainter)
            val_rows = _split_rows(validation, selected, val_config, lexicon, Path(scratch) / VALIDATION,
                                   random.Random(f"{config.seed}:{VALIDATION}"))
            val_rows.report["scenes_shared_with"] = shared_scenes
        return _write(train, test, out_dir, config, card, lexicon, stats, selected, test_rows, overwrite=overwrite,
                      source_info=source_info, validation=validation, validation_info=validation_info,
                      val_rows=val_rows, started=started)


def refuse_without_decorrelate(plans: list, selected: list[PairStat], source: Source) -> None:
    """A dataset without decorrelate edits has no ODmAP query: refuse before any pixel work."""
    if not any(p.edit.kind == DECORRELATE for sp in plans for p in sp.plans):
        pairs = ", ".join(f"{s.a}+{s.b}" for s in selected)
        raise ValueError(f"no image of the {source.split} side ({source.name}, {len(source.images)} images) can take "
                         f"a decorrelate edit of the selected pairs ({pairs}): the dataset would hold no edits "
                         f"and measure nothing; give a larger test side or other pairs")


def _map(func, items: list, config: TestSplitConfig, desc: str) -> list:
    """`func` over `items` in worker processes (in order), with a progress bar."""
    if config.num_workers > 1:
        with ProcessPoolExecutor(config.num_workers) as pool:
            return list(progress(pool.map(func, items, chunksize=8), desc=desc, total=len(items), unit="img"))
    return [func(item) for item in progress(items, desc=desc, total=len(items), unit="img")]


@dataclass
class SplitRows:
    """The image and caption rows of one split, in gallery order, and its build report."""
    images: list[dict[str, Any]]
    captions: list[dict[str, Any]]
    report: dict[str, Any]


def _split_rows(source: Source, selected: list[PairStat], config: TestSplitConfig, lexicon: Lexicon,
                scratch: Path, rng: random.Random) -> SplitRows:
    """SPEC 3 on one split's sources: plans, controls, inpainting, shuffled galleries."""
    scratch.mkdir(parents=True, exist_ok=True)
    plans = _map(partial(_plan_source, selected=selected, config=config, lexicon=lexicon),
                 source.images, config, f"planning edits ({source.split})")
    refuse_without_decorrelate(plans, selected, source)
    choice = select_controls(plans, config.controls_per_decorrelate)
    per_source = _map(partial(_render_source, config=config, scratch=scratch),
                      [(p, choice.chosen) for p in plans], config, f"inpainting ({source.split})")

    images, captions, rejected = [], [], Counter()
    for plan in plans:
        rejected.update(plan.rejected)
    for s in per_source:
        img = s.image
        images.append({"image_id": img.id, "image": s.original_file, "src_id": img.id,
                       "edit_kind": ORIGINAL, "removed": None, "objects": sorted(img.objects),
                       "kept": [], "pair": None, "mask_area": 0.0, "editor": ""})
        for c in img.captions:
            captions.append({"caption_id": c.id, "text": c.text, "src_id": img.id, "edit_kind": ORIGINAL,
                             "removed": None, "mentions": sorted(lexicon.mentions(c.text)), "pair": None,
                             "editor": ""})
        for e, path in s.edits:
            images.append({"image_id": e.image_id, "image": path, "src_id": img.id, "edit_kind": e.kind,
                           "removed": e.removed, "objects": list(e.objects), "kept": list(e.kept),
                           "pair": list(e.pair) if e.pair else None, "mask_area": e.mask_area,
                           "editor": e.editor})
        captions.extend(s.edited_captions)

    # One shuffle with the split's seeded stream: gallery position carries no signal (SPEC 3).
    for rows in (images, captions):
        for row, pos in zip(rows, _gallery_positions(len(rows), rng), strict=True):
            row["gallery_pos"] = pos
        rows.sort(key=lambda r: r["gallery_pos"])

    report = _report(images, captions, rejected, source)
    report["eligible_controls"] = sum(p.edit.kind == CONTROL for sp in plans for p in sp.plans)
    report["decorrelate_with_same_source_control"] = choice.same_source
    report["controls_from_other_sources"] = choice.other_source
    return SplitRows(images, captions, report)


def test_manifest(train: Source, test: Source, config: TestSplitConfig, lexicon: Lexicon, report: dict[str, Any],
                  source_info: dict[str, Any] | None, inpainter: str) -> dict[str, Any]:
    """The test split's manifest row, less the hashes (one place for both builders: this one
    and the planned, sharded one of test_split_plan)."""
    manifest = {
        "builder_version": BUILDER_VERSION, "spec_version": SPEC_VERSION,
        "caption_style": config.caption_style, "seed": str(config.seed),
        "source": {"name": test.name, "split": test.split, "train": train.name,
                   "train_images": len(train.images), "provenance": split_provenance(train, test),
                   **(source_info or {})},
        "inpainter": inpainter,
        "caption_editor": f"{config.caption_editor.name}/{config.caption_editor.version}",
        "lexicon_version": lexicon.version,
        "parameters": {"selection": config.selection.to_dict(), "eligibility": config.eligibility.to_dict(),
                       "dilation": config.dilation, "controls_per_decorrelate": config.controls_per_decorrelate},
        "counts": report,
    }
    if config.same_test_split_as:
        manifest["same_test_split_as"] = list(config.same_test_split_as)
    return manifest


def _write(train: Source, test: Source, out_dir: Path, config: TestSplitConfig, card: DatasetCard,
           lexicon: Lexicon, stats: list[PairStat], selected: list[PairStat], rows: SplitRows, *,
           overwrite: bool, source_info: dict[str, Any] | None, validation: Source | None,
           validation_info: dict[str, Any] | None, val_rows: SplitRows | None, started: float):
    report = rows.report
    manifest = test_manifest(train, test, config, lexicon, report, source_info,
                             editor_string(get_inpainter(config.inpainter)))
    extra_splits = {}
    if validation is not None and val_rows is not None:
        # The validation split's own sources and counts; its content hashes are computed with
        # the test split's (`splits`). Pairs, pair statistics and lexicon are those of test.
        manifest[VALIDATION] = {
            "source": {"name": validation.name, "split": validation.split, "train": train.name,
                       "provenance": {"train": side_provenance(train), VALIDATION: side_provenance(validation)},
                       **(validation_info or {})},
            "counts": val_rows.report}
        extra_splits[VALIDATION] = {IMAGES: (val_rows.images, features(IMAGES)),
                                    CAPTIONS: (val_rows.captions, features(CAPTIONS))}
    configs = {
        IMAGES: (rows.images, features(IMAGES)),
        CAPTIONS: (rows.captions, features(CAPTIONS)),
        PAIRS: ([s.as_row(with_selection=False) for s in selected], features(PAIRS)),
        PAIR_STATS: ([s.as_row() for s in stats], features(PAIR_STATS)),
        LEXICON: (lexicon.rows(), features(LEXICON)),
    }
    info = write_dataset_folder(out_dir, configs, card, manifest, split=TEST, overwrite=overwrite,
                                extra_splits=extra_splits)
    if config.check:
        report["check_benchmark"] = _check(info.path, [TEST, *extra_splits])
    examples = add_examples(info.path)    # the card's pictures; no hash covers them
    report["card_examples"] = examples.name if examples else None
    report["build_seconds"] = round(time.perf_counter() - started, 1)
    if val_rows is not None:
        report[VALIDATION] = val_rows.report
    return info, report


def _check(folder: Path, splits: list[str]) -> dict[str, Any]:
    """SPEC 8 on each split of the built folder; the tables go into the card, the verdicts into
    the report (the test split's at the top level, as before validation splits existed)."""
    from odbench.data import load_benchmark
    from odbench.validity import check_benchmark

    body, verdicts = VALIDITY_TEXT, {}
    for split in splits:
        with no_progress_bars():
            check = check_benchmark(load_benchmark(folder, split=split))
        if len(splits) > 1:
            body += f"\n\n### Split `{split}`"
        body += "\n\n" + check.table() + "\n\n```\n" + check.summary() + "\n```"
        oracle = check.oracle.metrics
        verdicts[split] = {"gated": check.gated, "passed": check.passed,
                           "ceiling": {"odmap@10": oracle["odmap@10"], "cmap@10": oracle["cmap@10"]}}
    add_card_section(folder, "Validity (SPEC section 8)", body)
    test = verdicts[TEST]
    if len(splits) == 1:
        return test
    # Gated and passed only when every split is: the CLI fails the build on either.
    return {"gated": any(v["gated"] for v in verdicts.values()),
            "passed": all(v["passed"] for v in verdicts.values() if v["gated"]),
            "ceiling": test["ceiling"], "splits": verdicts}


VALIDITY_TEXT = """`odbench check-benchmark` on this dataset: the label oracle (embeddings from the
dataset's object labels, the perfect object-level model) and the oracle with a planted
co-occurrence shortcut of strength α in the image tower, the text tower or both, ranked and
scored with the ordinary ODBench code. A dataset whose ODmAP measures object reliance has a
ceiling near 1 and loses ODmAP step by step as the shortcut grows, while cmap@10 holds."""


def _report(images: list[dict], captions: list[dict], rejected: Counter, source: Source) -> dict[str, Any]:
    kinds = Counter(r["edit_kind"] for r in images)
    objects_of = {r["image_id"]: set(r["objects"]) for r in images if r["edit_kind"] == ORIGINAL}
    caption_kinds = Counter(r["edit_kind"] for r in captions)
    attempts = rejected.pop("caption_edit_attempts", 0)
    failed = rejected.pop("caption_edit_failed", 0)
    return {
        "source_images": len(source.images),
        "images": dict(sorted(kinds.items())),
        "captions": dict(sorted(caption_kinds.items())),
        "caption_edit_attempts": attempts,
        "caption_edit_success_rate": round((attempts - failed) / attempts, 4) if attempts else None,
        "rejected_edits": dict(sorted(rejected.items())),
        # SPEC 4: such captions have no relevant image and are not used as queries.
        "original_captions_naming_unannotated_objects": sum(
            1 for r in captions if r["edit_kind"] == ORIGINAL
            and not set(r["mentions"]) <= objects_of[r["src_id"]]),
        "decorrelate_per_pair": dict(sorted(Counter("+".join(r["pair"]) for r in images
                                                    if r["edit_kind"] == DECORRELATE).items())),
    }

