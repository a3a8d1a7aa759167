"""`odbench train-reference`: train the reference CLIP from scratch on a PictoWorld training split.

    odbench train-reference --pictoworld /tmp/pw-corr0.9 --output runs/baseline-s0 --seed 0

Writes checkpoint.pt (resumable with --resume), loss.jsonl and model.safetensors (fp16, the
format of the packaged weights) into --output. Evaluate with `odbench-eval --model odbench:PATH`.
Under `torchrun --nproc-per-node N -m odbench.cli.main train-reference ...` it trains data-parallel
(DDP), --batch-size being the global batch.
"""
from __future__ import annotations

import argparse

from odbench.cli.common import quiet_libraries, user_errors
from odbench.errors import ODBenchError
from odbench.reference import REFERENCE_ARCH

from .options import add_loop_arguments, check_loop_arguments, report


def add_parser(subparsers, name: str, summary: str) -> None:
    p = subparsers.add_parser(name, help=summary, description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pictoworld", required=True, help="PictoWorld (or COCO-format) folder with a train split")
    p.add_argument("--split", default="train")
    p.add_argument("--limit", type=int, default=None, help="use only the first N images")
    add_loop_arguments(p, lr=1e-3, epochs=3.0, batch_size=256, warmup=30)
    p.set_defaults(func=run)


@user_errors
def run(args: argparse.Namespace, *, arch: str = REFERENCE_ARCH) -> int:
    """Train `arch` (the reference architecture, or another registered open_clip config)."""
    quiet_libraries()
    if args.limit is not None and args.limit < 1:
        raise ODBenchError("--limit must be at least 1")
    device = check_loop_arguments(args)
    from odbench.reference.encoder import untrained_reference

    from .data import coco_pairs
    from .loop import TrainConfig, Trainer

    source = coco_pairs(args.pictoworld, args.split, limit=args.limit)
    start = untrained_reference(args.seed, arch)
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                         weight_decay=args.weight_decay, warmup_steps=args.warmup,
                         steps_per_epoch=args.steps_per_epoch, seed=args.seed, device=device,
                         amp=not args.no_amp, checkpoint_every=args.checkpoint_every, save_dtype="fp16",
                         max_steps=args.max_steps, extra={"arch": arch, "data": str(args.pictoworld)})
    trainer = Trainer(start.model, start.preprocess, start.tokenizer, [source], args.output, config)
    result = trainer.run(resume=args.resume)
    report({"model": f"odbench:{args.output}/model.safetensors", **result})
    return 0
