"""One build command over shards: plan (or check the plan), edit this shard, merge.

Three ways to run the same build, all giving the same dataset hash:

- one process: `test-split ... --out OUT` plans, edits every shard's chunks and merges;
- a job array: `test-split ... --out OUT --shards N --shard I` for I in 0..N-1 (any order, at
  once or not), then `merge --work OUT.work --out OUT`;
- torchrun: `torchrun --nproc-per-node N -m dataset_builders test-split ...`: rank 0 plans,
  every rank edits its shard (on its own GPU for a learned inpainter), rank 0 merges.
"""
from __future__ import annotations

import datetime
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from .build_plan import BuildError, Plan, PlanWriter, prepare, read_plan, run_shard
from .hf_folder import FolderInfo, read_card_metadata


@dataclass
class ShardOptions:
    out: Path
    work: Path | None = None          # default: OUT.work beside OUT
    shards: int | None = None         # None: 1, or torchrun's world size
    shard: int | None = None
    resume: bool = False
    overwrite: bool = False
    num_workers: int = 1
    chunk_units: int = 16
    keep_work: bool = False

    @property
    def work_dir(self) -> Path:
        return self.work if self.work is not None else self.out.with_name(self.out.name + ".work")


def _torchrun() -> tuple[int, int] | None:
    """(rank, world size) when started by torchrun with several processes; joins the group."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return None
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        # gloo on every machine: the group only waits and passes a few bytes, and an edit may
        # take hours, so the default 30-minute timeout would end a healthy build.
        dist.init_process_group("gloo", timeout=datetime.timedelta(days=7))
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")) % torch.cuda.device_count())
    return dist.get_rank(), dist.get_world_size()


def _agree(error: BaseException | None) -> None:
    """Every rank learns whether one failed (so that none waits forever at a barrier)."""
    import torch.distributed as dist

    errors: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(errors, None if error is None else str(error))
    failed = [e for e in errors if e is not None]
    if error is not None:
        raise error
    if failed:
        raise BuildError(failed[0])


def check_output(opts: ShardOptions) -> dict[str, Any] | None:
    """Refuse an existing output unless --resume or --overwrite; with --resume, a finished
    output (no work folder left) is reported as it is."""
    out = opts.out
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not opts.overwrite:
        if not opts.resume:
            raise BuildError(f"--out {out} exists and is not empty; pass --resume to finish its build or "
                             f"--overwrite to replace it")
        if not opts.work_dir.exists():
            meta = read_card_metadata(out).get("odbench", {})
            return {"folder": str(out), "dataset_hash": meta.get("dataset_hash"), "resumed": "already complete"}
    return None


def build(opts: ShardOptions, kind: str, row_configs: list[str], make_plan: Callable[[PlanWriter], Mapping[str, Any]],
          render: Callable[[dict[str, Any]], dict[str, Image.Image]],
          merge: Callable[[Path, Plan, Path], tuple[FolderInfo, dict[str, Any]]]) -> dict[str, Any] | None:
    """Plan, edit this process's shard and, when it is the only one or torchrun's rank 0 after
    every rank, merge. Returns the report, or None on torchrun ranks other than 0."""
    done = check_output(opts)
    if done is not None:
        return done
    ranks = _torchrun()
    shards, shard = opts.shards or 1, opts.shard or 0
    if ranks is not None:
        if opts.shards not in (None, ranks[1]) or opts.shard not in (None, ranks[0]):
            raise BuildError(f"under torchrun each of the {ranks[1]} processes takes its own shard; leave out "
                             f"--shards and --shard")
        shard, shards = ranks
    work = opts.work_dir
    kw = dict(shard=shard, shards=shards, resume=opts.resume, overwrite=opts.overwrite,
              chunk_units=opts.chunk_units)
    if ranks is None:
        plan = prepare(work, make_plan, kind, row_configs, **kw)
    else:
        error, plan = None, None
        if shard == 0:
            try:
                plan = prepare(work, make_plan, kind, row_configs, **kw)
            except (OSError, ValueError) as e:
                error = e
        _agree(error)            # the plan is on disk before the other ranks read it
        if shard != 0:
            try:
                plan = prepare(work, None, kind, row_configs, **kw)
            except (OSError, ValueError) as e:
                error = e
        _agree(error)
    try:
        report = {"plan_hash": plan.plan_hash, **run_shard(work, plan, render, shard=shard, shards=shards,
                                                            num_workers=opts.num_workers)}
    except (OSError, ValueError) as e:
        if ranks is None:
            raise
        _agree(e)                # the other ranks stop too instead of waiting for this one
    if ranks is not None:
        _agree(None)             # every shard is finished before rank 0 merges
        if shard != 0:
            return None
    elif shards > 1:
        report["next"] = f"when every shard is done: python -m dataset_builders merge --work {work} --out {opts.out}"
        return report
    return {**report, **merge_work(work, opts.out, merge, overwrite=opts.overwrite or opts.resume, keep_work=opts.keep_work)}


def merge_work(work: Path, out: Path, merge: Callable[[Path, Plan, Path], tuple[FolderInfo, dict[str, Any]]], *,
               overwrite: bool, keep_work: bool) -> dict[str, Any]:
    plan = read_plan(work)
    info, report = merge(work, plan, out, overwrite=overwrite)
    if not keep_work:
        import shutil
        shutil.rmtree(work)
    return {"folder": str(info.path), "dataset_hash": info.dataset_hash, "rows": info.num_rows, **report}
