"""`odbench finetune`: finetune an open_clip model on original pairs mixed with the synthetic set.

    odbench finetune --model odbench:baseline --original /tmp/pw-corr0.9 \\
        --synthetic /tmp/odbench-picto-train --mix 0.5 --epochs 3 --output runs/mitigated

--model takes `open_clip:ARCH[/PRETRAINED]` (e.g. open_clip:ViT-B-32/laion2b_s34b_b79k) or a
reference model (`odbench:baseline`, `odbench:PATH`). --original is a PictoWorld or COCO-format
folder (or a COCO captions JSON with --images); --synthetic an HF dataset folder with `image` and
`caption` columns (python -m dataset_builders train-set). Every batch holds round(mix * batch)
synthetic pairs; an epoch is one pass over the synthetic pairs (over the original ones when
--mix 0). AMP on CUDA, checkpoints every --checkpoint-every steps, --resume continues.
`torchrun --nproc-per-node N -m odbench.cli.main finetune ...` trains the one model on N
processes (DDP); --batch-size stays the global batch and must divide by N.
"""
from __future__ import annotations

import argparse

from odbench.cli.common import quiet_libraries, user_errors
from odbench.errors import ODBenchError

from .options import add_loop_arguments, check_loop_arguments, report


def add_parser(subparsers, name: str, summary: str) -> None:
    p = subparsers.add_parser(name, help=summary, description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="open_clip:ARCH[/PRETRAINED] or odbench:baseline / odbench:PATH")
    p.add_argument("--original", required=True, help="original training pairs: PictoWorld/COCO-format folder "
                                                     "or COCO captions JSON")
    p.add_argument("--images", default=None, help="image folder, when --original is a captions JSON file")
    p.add_argument("--split", default="train", help="split of a PictoWorld folder (default train)")
    p.add_argument("--synthetic", default=None, help="HF dataset folder of the synthetic training set")
    p.add_argument("--mix", type=float, default=0.5, help="share of synthetic pairs in every batch (0..1)")
    p.add_argument("--synthetic-kinds", nargs="+", choices=("remove", "paste"), default=None,
                   help="use only synthetic rows of these kinds (default: all)")
    p.add_argument("--paired", action="store_true",
                   help="fill the original half of each batch with the synthetic rows' own source images "
                        "(hard negatives: the scene with the object next to the scene without it)")
    p.add_argument("--save-dtype", choices=("fp32", "fp16"), default="fp32")
    add_loop_arguments(p, lr=1e-4, epochs=3.0, batch_size=256, warmup=10)
    p.set_defaults(func=run)


@user_errors
def run(args: argparse.Namespace) -> int:
    quiet_libraries()
    if not 0.0 <= args.mix <= 1.0:
        raise ODBenchError(f"--mix must be in [0, 1], got {args.mix}")
    if args.mix > 0 and not args.synthetic:
        raise ODBenchError("--mix > 0 needs --synthetic (or pass --mix 0 to finetune on original pairs only)")
    device = check_loop_arguments(args)
    from odbench.encoders import load_encoder
    from odbench.encoders.open_clip_adapter import OpenCLIPEncoder

    from .data import coco_pairs, hf_pairs
    from .loop import TrainConfig, Trainer

    original = coco_pairs(args.original, args.split, images_dir=args.images)
    sources = [original]
    if args.synthetic and args.mix > 0:
        sources.append(hf_pairs(args.synthetic, kinds=args.synthetic_kinds))
    loaded = load_encoder(args.model)
    if not isinstance(loaded.encoder, OpenCLIPEncoder):
        raise ODBenchError(f"--model {args.model}: finetune supports open_clip models "
                           f"(open_clip:ARCH[/PRETRAINED], odbench:...), got {loaded.target}")
    enc = loaded.encoder
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                         weight_decay=args.weight_decay, warmup_steps=args.warmup, mix=args.mix,
                         steps_per_epoch=args.steps_per_epoch, seed=args.seed, device=device,
                         amp=not args.no_amp, checkpoint_every=args.checkpoint_every, paired=args.paired,
                         save_dtype=args.save_dtype, max_steps=args.max_steps,
                         extra={"model": args.model, "weights_hash": loaded.weights_hash,
                                "original": str(args.original), "synthetic": args.synthetic,
                                "synthetic_kinds": args.synthetic_kinds})
    result = Trainer(enc.model, enc.preprocess, enc.tokenizer, sources, args.output, config).run(resume=args.resume)
    report({"base_model": args.model, **result})
    return 0
