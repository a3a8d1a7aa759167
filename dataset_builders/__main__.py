"""`python -m dataset_builders COMMAND`: build ODBench datasets.

  picto       the embedded benchmark odbench-picto (PictoWorld), by its recipe
  test-split  a test dataset from COCO-format training and test annotations (real COCO)
  train-set   the synthetic training set (remove / paste rows) from a COCO-format training split
  merge       write the dataset of a sharded build (--shards N --shard I) once every shard is done
  card-examples  add the card's picture grid (examples.png) to a built test dataset folder; its
              content hash does not change (checked)
  package-card  write odbench/README.md, the card that makes the package folder load as the
              embedded dataset (`load_dataset("odbench", ...)` from the repository root)

Publishing a built folder: `python -m dataset_builders.publish FOLDER --repo ORG/NAME`.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from functools import partial
from pathlib import Path

from odbench.dataset_format import EXHAUSTIVE, PARTIAL

from . import sharded
from .build_plan import check_shard_index
from .coco_format import InputNames, read_coco
from .embedded import CITATION, PictoRecipe, build_picto, embedded_path, read_pictoworld
from .hf_folder import DatasetCard
from .image_editor import Eligibility
from .inpainters import DEFAULT_INPAINTER, NEEDS_WEIGHTS, Inpainter, available_inpainters, get_inpainter
from .pair_stats import NoPairSelected, PairSelection, compute_pair_stats, selected_pairs
from .provenance import SplitOverlapError
from .sharded import check_output


class UsageError(ValueError):
    """A command line that cannot work; printed as one `error:` line."""


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """--help shows every default and keeps the description's line breaks."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.required or action.default is None or action.default is False or action.default == "":
            return action.help or ""
        return super()._get_help_string(action)


def _selection_args(p: argparse.ArgumentParser, defaults: PairSelection) -> None:
    p.add_argument("--min-support", type=int, default=defaults.min_support,
                   help="pairs must be seen together in at least this many training images "
                        "(100 suits COCO train's 118k images; lower it for a small source)")
    p.add_argument("--min-npmi", type=float, default=defaults.min_npmi,
                   help="minimum normalised PMI of a pair")
    p.add_argument("--min-conditional", type=float, default=defaults.min_conditional,
                   help="minimum of max(P(b|a), P(a|b))")


def _selection(args: argparse.Namespace) -> PairSelection:
    return PairSelection(args.min_support, args.min_npmi, args.min_conditional)


def _coco_args(p: argparse.ArgumentParser, prefix: str, what: str, required: bool = True) -> None:
    p.add_argument(f"--{prefix}instances", nargs="+", required=required, metavar="JSON",
                   help=f"COCO instances file(s) of the {what}")
    p.add_argument(f"--{prefix}captions", nargs="+", required=required, metavar="JSON",
                   help=f"COCO captions file(s) of the {what}")
    p.add_argument(f"--{prefix}images", required=required, metavar="FOLDER",
                   help=f"image folder of the {what}; images are found by file name, under the "
                        f"Karpathy file's folder (val2014/ ...), or by COCO id in its subfolders")
    p.add_argument(f"--{prefix}karpathy-split", nargs="+", default=None, metavar="SPLIT",
                   help=f"Karpathy split(s) of the {what} (needs --karpathy), e.g. test, or train restval")


def _names(prefix: str) -> InputNames:
    """The flags of one side, for read_coco's error messages."""
    return InputNames(instances=f"--{prefix}instances", captions=f"--{prefix}captions",
                      images=f"--{prefix}images", karpathy="--karpathy",
                      karpathy_split=f"--{prefix}karpathy-split")


def _read(args: argparse.Namespace, prefix: str, split: str):
    get = lambda name: getattr(args, (prefix + name).replace("-", "_"))
    karpathy = get("karpathy_split")
    if args.karpathy and not karpathy:
        # Without this, --karpathy would silently apply to one side only (issue #11).
        side, example = ("training", "train restval") if split == "train" else ("test", "test")
        raise UsageError(f"--karpathy is given but --{prefix}karpathy-split is not: name the Karpathy "
                         f"split(s) of the {side} side, e.g. --{prefix}karpathy-split {example}")
    return read_coco(get("instances"), get("captions"), get("images"), split_name=split,
                     karpathy_json=args.karpathy if karpathy else None, karpathy_split=karpathy,
                     names=_names(prefix))


def _inpainter(args: argparse.Namespace) -> str | Inpainter:
    """--inpainter and --inpainter-weights as an inpainter (checked before any work starts)."""
    name, weights = args.inpainter, args.inpainter_weights
    if name == "exact":
        if args.command != "picto":
            raise UsageError("--inpainter exact re-draws PictoWorld scenes; it works with the picto command only")
        return name
    if name in NEEDS_WEIGHTS and weights is None:
        raise UsageError(f"--inpainter {name} needs --inpainter-weights FOLDER, a local pipeline folder "
                         f"(nothing is downloaded)")
    if name not in NEEDS_WEIGHTS and weights is not None:
        raise UsageError(f"--inpainter-weights is for a learned inpainter ({', '.join(sorted(NEEDS_WEIGHTS))}), "
                         f"not --inpainter {name}")
    if args.inpainter_steps < 1:
        raise UsageError("--inpainter-steps must be at least 1")
    if name not in NEEDS_WEIGHTS:
        get_inpainter(name)   # fail now on a bad name, not in a worker
        return name
    try:
        return get_inpainter(name, weights=weights, steps=args.inpainter_steps)
    except ValueError as e:
        raise UsageError(f"--inpainter {name}: {e}") from None


def _check_out(args: argparse.Namespace, out: Path, *, resumable: bool = False) -> None:
    """One line for an --out no build can write; a `resumable` build's existing output is
    `sharded.check_output`'s to judge (--resume)."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a folder; name a folder to build the dataset in")
    if not resumable and out.exists() and any(out.iterdir()) and not args.overwrite:
        raise UsageError(f"--out {out} exists and is not empty; pass --overwrite to replace it")
    # the build writes its scratch files beside the output: prove that folder writable first,
    # in words, not as a temporary folder's name in an OSError after the pair statistics
    parent = next(folder for folder in (out.parent.absolute(), *out.parent.absolute().parents) if folder.exists())
    probe = parent / f".odbench-write-test-{os.getpid()}"
    try:
        probe.mkdir()
        probe.rmdir()
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot write into {parent} ({exc.strerror or type(exc).__name__})") from None


def cmd_picto(args: argparse.Namespace) -> dict:
    recipe = PictoRecipe()
    out = Path(args.out) if args.out else embedded_path(recipe)
    _check_out(args, out)
    info, report = build_picto(out, recipe, inpainter=_inpainter(args), num_workers=args.workers,
                               overwrite=args.overwrite)
    return {"folder": str(info.path), "dataset_hash": info.dataset_hash, "rows": info.num_rows, **report}


def cmd_test_split(args: argparse.Namespace) -> dict:
    from .test_split import TestSplitConfig
    from .test_split_plan import KIND, ROW_CONFIGS, merge_test_split, plan_test_split, render_test_unit

    inpainter = _inpainter(args)
    opts = _shard_options(args)
    _check_out(args, Path(args.out), resumable=True)
    card = DatasetCard(name=args.name, version=args.version, license=args.license, citation=CITATION,
                       description=args.description, attribution=args.attribution)   # checks --version
    done = check_output(opts)
    if done is not None:
        return done
    train, test = _read(args, "train-", "train"), _read(args, "", "test")
    config = TestSplitConfig(name=args.name, version=args.version, seed=args.seed, selection=_selection(args),
                             eligibility=Eligibility(), inpainter=inpainter, num_workers=args.workers,
                             caption_style=args.caption_style, check=not args.no_check,
                             controls_per_decorrelate=None if args.all_controls else args.controls_per_decorrelate)
    try:
        return sharded.build(opts, KIND, ROW_CONFIGS, lambda w: plan_test_split(w, train, test, config, card),
                             partial(render_test_unit, config=config), merge_test_split)
    except SplitOverlapError as e:
        raise UsageError(f"{e}; give each side its own images: with --karpathy, use --train-karpathy-split "
                         f"train restval and --karpathy-split test; without it, e.g. the train2017 files "
                         f"for the --train-* flags and the val2017 files for the test side") from None
    except NoPairSelected as e:
        raise UsageError(_no_pair_hint(e)) from None


def _shard_options(args: argparse.Namespace) -> sharded.ShardOptions:
    if args.chunk_units < 1:
        raise UsageError("--chunk-units must be at least 1")
    if (args.shards is None) != (args.shard is None):
        raise UsageError("--shards N and --shard I go together (I from 0 to N-1)")
    if args.shards is not None:
        check_shard_index(args.shard, args.shards)
    if args.resume and args.overwrite:
        raise UsageError("--resume and --overwrite exclude each other")
    return sharded.ShardOptions(out=Path(args.out), work=Path(args.work) if args.work else None,
                                shards=args.shards, shard=args.shard, resume=args.resume,
                                overwrite=args.overwrite, num_workers=args.workers,
                                chunk_units=args.chunk_units, keep_work=args.keep_work)


def _shard_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--shards", type=int, default=None, metavar="N",
                   help="split the image edits into N shards (a job array); under torchrun, one per process")
    p.add_argument("--shard", type=int, default=None, metavar="I", help="the shard this process edits, 0 to N-1")
    p.add_argument("--work", default=None, metavar="FOLDER",
                   help="the build's plan and edited parts (default: OUT.work beside --out)")
    p.add_argument("--resume", action="store_true",
                   help="finish an interrupted build: re-plan, check the plan is the same, edit what is missing")
    p.add_argument("--chunk-units", type=int, default=16, metavar="N",
                   help="source images per part file (a killed build redoes at most one part)")
    p.add_argument("--keep-work", action="store_true", help="keep the work folder after the merge")


def cmd_merge(args: argparse.Namespace) -> dict:
    from .build_plan import read_plan
    from .test_split_plan import KIND as TEST_KIND
    from .test_split_plan import merge_test_split
    from .train_set_plan import merge_train_set

    work, out = Path(args.work), Path(args.out)
    _check_out(args, out)
    plan = read_plan(work)
    merge = merge_test_split if plan.kind == TEST_KIND else merge_train_set
    extra = [Path(p) for p in args.shard_folder]
    return sharded.merge_work(work, out, partial(merge, extra_shards=extra), overwrite=args.overwrite,
                              keep_work=args.keep_work)


def _no_pair_hint(e: NoPairSelected) -> str:
    if e.suggestion is None:
        return f"{e}; lowering --min-support alone would not help: try a lower --min-npmi or --min-conditional"
    value, n = e.suggestion
    return f"{e}; lower --min-support (--min-support {value} selects {n} pair(s))"


def cmd_train_set(args: argparse.Namespace) -> dict:
    from .train_set import TrainSetConfig
    from .train_set_plan import KIND, ROW_CONFIGS, merge_train_set, plan_train_set, render_train_unit

    inpainter = _inpainter(args)
    opts = _shard_options(args)
    _check_out(args, Path(args.out), resumable=True)
    card = DatasetCard(name=args.name, version=args.version, license=args.license, citation=CITATION,
                       description="ODBench synthetic training set: images where one object of a "
                                   "correlated pair was removed or pasted in, with matching captions.",
                       attribution=args.attribution)   # checks --version
    done = check_output(opts)
    if done is not None:
        return done
    if args.pictoworld:
        train = read_pictoworld(args.pictoworld, "train")
    elif not (args.instances and args.captions and args.images):
        raise UsageError("give --pictoworld FOLDER, or --instances, --captions and --images of a COCO-format split")
    else:
        train = _read(args, "", "train")
    stats = compute_pair_stats(train, _selection(args))
    selected = selected_pairs(stats)
    if not selected:
        raise UsageError(_no_pair_hint(NoPairSelected(train.name, _selection(args), stats)))
    config = TrainSetConfig(name=args.name, version=args.version, seed=args.seed, inpainter=inpainter,
                            paste_per_pair=args.paste_per_pair, max_remove=args.max_remove,
                            num_workers=args.workers)
    return sharded.build(opts, KIND, ROW_CONFIGS, lambda w: plan_train_set(w, train, selected, config, card),
                         partial(render_train_unit, config=config), merge_train_set)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dataset_builders", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--workers", type=int, default=2, help="processes for editing images")
    common.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    common.add_argument("--inpainter", default=DEFAULT_INPAINTER,
                        choices=[*available_inpainters(), "exact"],
                        help="how removed objects are filled: OpenCV telea or ns (offline); diffusers, a "
                             "learned model (needs --inpainter-weights and pip install 'odbench[inpaint]'); "
                             "exact re-draws PictoWorld scenes (picto only)")
    common.add_argument("--inpainter-weights", default=None, metavar="FOLDER",
                        help="local folder of a learned inpainter's weights, e.g. a diffusers inpainting "
                             "pipeline saved with save_pretrained")
    common.add_argument("--inpainter-steps", type=int, default=30, metavar="N",
                        help="denoising steps of a learned inpainter (quality against time)")
    kw = {"parents": [common], "formatter_class": _HelpFormatter}

    p = sub.add_parser("picto", help="build odbench-picto by its recipe", **kw)
    p.add_argument("--out", default=None, help="output folder; none: the package's embedded copy")
    p.set_defaults(func=cmd_picto)

    p = sub.add_parser("test-split", help="test dataset from COCO-format data", **kw)
    _coco_args(p, "train-", "training split (pairs are chosen from it)")
    _coco_args(p, "", "test split")
    p.add_argument("--karpathy", default=None, metavar="JSON",
                   help="Karpathy split file (dataset_coco.json); then both sides name their split(s)")
    p.add_argument("--caption-style", choices=(PARTIAL, EXHAUSTIVE), default=PARTIAL,
                   help="SPEC section 1: partial for human captions (COCO); exhaustive only when every "
                        "caption names every annotated object")
    p.add_argument("--controls-per-decorrelate", type=float, default=1.0,
                   help="control edits per decorrelate edit, same source image first (SPEC section 3)")
    p.add_argument("--all-controls", action="store_true", help="keep every eligible control edit instead")
    p.add_argument("--no-check", action="store_true",
                   help="skip check-benchmark after the build (its table is then missing from the card)")
    _selection_args(p, PairSelection())
    p.add_argument("--name", default="odbench-coco", help="dataset name")
    p.add_argument("--version", required=True, help="semver of the dataset, e.g. 1.0.0")
    p.add_argument("--seed", type=int, default=0, help="build seed (gallery order)")
    p.add_argument("--license", default="cc-by-4.0", help="licence id for the card")
    p.add_argument("--description", default="ODBench test set built from MS-COCO.", help="card text")
    p.add_argument("--attribution", default="Annotations: COCO Consortium, CC BY 4.0. Images: Flickr, "
                                            "under the licence named in each image's COCO record.",
                   help="third-party data and licences, for the card")
    p.add_argument("--out", required=True, help="output folder")
    _shard_args(p)
    p.set_defaults(func=cmd_test_split)

    p = sub.add_parser("train-set", help="synthetic training set", **kw)
    p.add_argument("--pictoworld", default=None, help="a PictoWorld folder (else give COCO-format files)")
    _coco_args(p, "", "training split", required=False)
    p.add_argument("--karpathy", default=None, metavar="JSON", help="Karpathy split file (dataset_coco.json)")
    _selection_args(p, PictoRecipe().selection)
    p.add_argument("--name", default="odbench-picto-train", help="dataset name")
    p.add_argument("--version", default="1.0.0", help="semver of the dataset")
    p.add_argument("--seed", type=int, default=0, help="build seed")
    p.add_argument("--paste-per-pair", type=int, default=200, help="paste rows per object of each pair")
    p.add_argument("--max-remove", type=int, default=None, help="cap on remove rows; none: every eligible edit")
    p.add_argument("--license", default="cc-by-sa-4.0", help="licence id for the card")
    p.add_argument("--attribution", default="", help="third-party data and licences, for the card")
    p.add_argument("--out", required=True, help="output folder")
    _shard_args(p)
    p.set_defaults(func=cmd_train_set)

    p = sub.add_parser("merge", help="write the dataset of a sharded build", formatter_class=_HelpFormatter)
    p.add_argument("--work", required=True, metavar="FOLDER", help="the build's work folder (OUT.work by default)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--shard-folder", nargs="*", default=[], metavar="DIR",
                   help="finished shard folders outside --work (e.g. copied from other machines)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    p.add_argument("--keep-work", action="store_true", help="keep the work folder after the merge")
    p.set_defaults(func=cmd_merge)

    p = sub.add_parser("card-examples", help="add examples.png and its card section to a built test folder",
                       formatter_class=_HelpFormatter)
    p.add_argument("folder", help="a built test dataset folder (e.g. odbench/embedded/odbench-picto)")
    p.add_argument("--rows", type=int, default=6, help="at most this many pairs, one edit each")
    p.set_defaults(func=cmd_card_examples)

    p = sub.add_parser("package-card", help="write odbench/README.md from the embedded dataset's card",
                       formatter_class=_HelpFormatter)
    p.add_argument("--check", action="store_true", help="write nothing; fail if the card is out of date")
    p.set_defaults(func=cmd_package_card)
    return parser


def cmd_package_card(args: argparse.Namespace) -> dict:
    from .package_card import PACKAGE_CARD, package_card_text, write_package_card

    if args.check:
        current = PACKAGE_CARD.read_text(encoding="utf-8") if PACKAGE_CARD.is_file() else ""
        if current != package_card_text():
            raise UsageError(f"{PACKAGE_CARD} is out of date: run python -m dataset_builders package-card")
        return {"card": str(PACKAGE_CARD), "up_to_date": True}
    return {"card": str(PACKAGE_CARD), "changed": write_package_card()}


def cmd_card_examples(args: argparse.Namespace) -> dict:
    from .card_examples import add_examples
    from .hf_folder import read_card_metadata, verify_dataset_folder

    folder = Path(args.folder)
    if not (folder / "README.md").is_file():
        raise UsageError(f"{folder} is not a dataset folder (no README.md)")
    before = read_card_metadata(folder).get("odbench", {}).get("dataset_hash")
    path = add_examples(folder, args.rows)
    manifest = verify_dataset_folder(folder)      # every content hash still holds
    if manifest["dataset_hash"] != before:
        raise UsageError(f"{folder}: the dataset hash changed ({before} -> {manifest['dataset_hash']})")
    return {"examples": str(path) if path else None, "dataset_hash": manifest["dataset_hash"],
            "bytes": path.stat().st_size if path else 0}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        report = args.func(args)
    except (OSError, ValueError) as exc:   # user-caused: bad paths, wrong files, rules that select nothing
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if report is None:        # a torchrun rank other than 0: rank 0 reports
        return 0
    print(json.dumps(report, indent=1, sort_keys=True))
    check = report.get("check_benchmark")
    if check and check["gated"] and not check["passed"]:
        print("error: the dataset fails SPEC section 8 (see `odbench check-benchmark` on it)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
