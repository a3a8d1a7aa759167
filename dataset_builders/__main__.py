"""`python -m dataset_builders COMMAND`: build ODBench datasets.

  picto       the embedded benchmark odbench-picto (PictoWorld), by its recipe
  test-split  a test dataset from COCO-format training and test annotations (real COCO)
  train-set   the synthetic training set (remove / paste rows) from a COCO-format training split

Publishing a built folder: `python -m dataset_builders.publish FOLDER --repo ORG/NAME`.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .coco_format import read_coco
from .embedded import CITATION, PictoRecipe, build_picto, embedded_path, read_pictoworld
from .hf_folder import DatasetCard
from .image_editor import Eligibility
from .pair_stats import PairSelection, compute_pair_stats, selected_pairs


def _selection_args(p: argparse.ArgumentParser, defaults: PairSelection) -> None:
    p.add_argument("--min-support", type=int, default=defaults.min_support)
    p.add_argument("--min-npmi", type=float, default=defaults.min_npmi)
    p.add_argument("--min-conditional", type=float, default=defaults.min_conditional)


def _selection(args: argparse.Namespace) -> PairSelection:
    return PairSelection(args.min_support, args.min_npmi, args.min_conditional)


def _coco_args(p: argparse.ArgumentParser, prefix: str, what: str) -> None:
    p.add_argument(f"--{prefix}instances", nargs="+", required=True, help=f"COCO instances JSON of the {what}")
    p.add_argument(f"--{prefix}captions", nargs="+", required=True, help=f"COCO captions JSON of the {what}")
    p.add_argument(f"--{prefix}images", required=True, help=f"image folder of the {what}")
    p.add_argument(f"--{prefix}karpathy-split", nargs="+", default=None,
                   help="Karpathy split(s) to keep (needs --karpathy), e.g. test, or train restval")


def _read(args: argparse.Namespace, prefix: str, split: str):
    get = lambda name: getattr(args, (prefix + name).replace("-", "_"))
    karpathy = get("karpathy_split")
    return read_coco(get("instances"), get("captions"), get("images"), split_name=split,
                     karpathy_json=args.karpathy if karpathy else None, karpathy_split=karpathy)


def cmd_picto(args: argparse.Namespace) -> dict:
    recipe = PictoRecipe()
    out = Path(args.out) if args.out else embedded_path(recipe)
    info, report = build_picto(out, recipe, inpainter=args.inpainter, num_workers=args.workers,
                               overwrite=args.overwrite)
    return {"folder": str(info.path), "dataset_hash": info.dataset_hash, "rows": info.num_rows, **report}


def cmd_test_split(args: argparse.Namespace) -> dict:
    from .test_split import TestSplitConfig, build_test_split

    train, test = _read(args, "train-", "train"), _read(args, "", "test")
    config = TestSplitConfig(name=args.name, version=args.version, seed=args.seed, selection=_selection(args),
                             eligibility=Eligibility(), inpainter=args.inpainter, num_workers=args.workers,
                             caption_style=args.caption_style,
                             controls_per_decorrelate=None if args.all_controls else args.controls_per_decorrelate)
    card = DatasetCard(name=args.name, version=args.version, license=args.license, citation=CITATION,
                       description=args.description, attribution=args.attribution)
    info, report = build_test_split(train, test, args.out, config, card, overwrite=args.overwrite)
    return {"folder": str(info.path), "dataset_hash": info.dataset_hash, "rows": info.num_rows, **report}


def cmd_train_set(args: argparse.Namespace) -> dict:
    from .train_set import TrainSetConfig, build_train_set

    train = read_pictoworld(args.pictoworld, "train") if args.pictoworld else _read(args, "", "train")
    selected = selected_pairs(compute_pair_stats(train, _selection(args)))
    config = TrainSetConfig(name=args.name, version=args.version, seed=args.seed, inpainter=args.inpainter,
                            paste_per_pair=args.paste_per_pair, max_remove=args.max_remove,
                            num_workers=args.workers)
    card = DatasetCard(name=args.name, version=args.version, license=args.license, citation=CITATION,
                       description="ODBench synthetic training set: images where one object of a "
                                   "correlated pair was removed or pasted in, with matching captions.",
                       attribution=args.attribution)
    info, report = build_train_set(train, selected, args.out, config, card, overwrite=args.overwrite)
    return {"folder": str(info.path), "dataset_hash": info.dataset_hash, "rows": info.num_rows, **report}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dataset_builders", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--workers", type=int, default=2, help="processes for editing images")
    common.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    common.add_argument("--inpainter", default="telea", help="telea (default), ns, or exact (PictoWorld only)")

    p = sub.add_parser("picto", parents=[common], help="build odbench-picto by its recipe")
    p.add_argument("--out", default=None, help="output folder (default: the package's embedded copy)")
    p.set_defaults(func=cmd_picto)

    p = sub.add_parser("test-split", parents=[common], help="test dataset from COCO-format data")
    _coco_args(p, "train-", "training split (pairs are chosen from it)")
    _coco_args(p, "", "test split")
    p.add_argument("--karpathy", default=None, help="Karpathy split file (dataset_coco.json)")
    p.add_argument("--caption-style", choices=("partial", "exhaustive"), default="partial",
                   help="SPEC section 1: partial for human captions (COCO); exhaustive only when every "
                        "caption names every annotated object")
    p.add_argument("--controls-per-decorrelate", type=float, default=1.0,
                   help="control edits per decorrelate edit, same source image first (SPEC section 3)")
    p.add_argument("--all-controls", action="store_true", help="keep every eligible control edit instead")
    _selection_args(p, PairSelection())
    p.add_argument("--name", default="odbench-coco")
    p.add_argument("--version", required=True, help="semver of the dataset, e.g. 1.0.0")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--license", default="cc-by-4.0")
    p.add_argument("--description", default="ODBench test set built from MS-COCO.")
    p.add_argument("--attribution", default="Annotations: COCO Consortium, CC BY 4.0. Images: Flickr, "
                                            "under the licence named in each image's COCO record.")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_test_split)

    p = sub.add_parser("train-set", parents=[common], help="synthetic training set")
    p.add_argument("--pictoworld", default=None, help="a PictoWorld folder (else give COCO-format files)")
    p.add_argument("--instances", nargs="+"); p.add_argument("--captions", nargs="+"); p.add_argument("--images")
    p.add_argument("--karpathy", default=None); p.add_argument("--karpathy-split", nargs="+", default=None)
    _selection_args(p, PictoRecipe().selection)
    p.add_argument("--name", default="odbench-picto-train")
    p.add_argument("--version", default="1.0.0")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--paste-per-pair", type=int, default=200)
    p.add_argument("--max-remove", type=int, default=None)
    p.add_argument("--license", default="cc-by-sa-4.0")
    p.add_argument("--attribution", default="")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_train_set)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        report = args.func(args)
    except (FileNotFoundError, FileExistsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=1, sort_keys=True))
    check = report.get("check_benchmark")
    if check and check["gated"] and not check["passed"]:
        print("error: the dataset fails SPEC section 8 (see `odbench check-benchmark` on it)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
