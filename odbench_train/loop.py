"""The contrastive training loop: ClipLoss, AdamW + warmup/cosine, AMP on CUDA, resumable.

Output folder:
    checkpoint.pt    model + optimizer + scheduler + grad scaler + step + RNG states (resumable)
    loss.jsonl       one line per step: step, epoch, loss, lr, logit_scale, seconds
    config.json      the training configuration
    model.safetensors  the final weights (fp32, or fp16 with save_dtype="fp16")

Everything a step does is a function of (seed, step) and the restored state, so a run that is
interrupted and resumed gives the same weights as an uninterrupted one (on CPU; CUDA kernels
may be non-deterministic).

Under torchrun the run is data parallel (`data_parallel`): each rank encodes its slice of the
same global batch, and rank 0 alone writes the folder, which every rank must see (a resumed
run loads its checkpoint on every rank).
"""
from __future__ import annotations

import json
import math
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from odbench.distributed import barrier, is_main
from odbench.errors import ODBenchError
from odbench.files import replace_atomically
from odbench.progress import progress

from . import data_parallel
from .data import ImageCache, MixPlan, PairSource, batch_indices, pair_with_sources, partners, plan_mix

CHECKPOINT = "checkpoint.pt"
LOSS_LOG = "loss.jsonl"
FINAL = "model.safetensors"


@dataclass
class TrainConfig:
    epochs: float = 1.0
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.1
    warmup_steps: int = 50
    mix: float = 0.0
    paired: bool = False             # put each synthetic row's source image in the same batch
    steps_per_epoch: int | None = None
    seed: int = 0
    device: str = "cpu"
    amp: bool = True                 # autocast (fp16 + GradScaler) on CUDA; ignored on CPU
    checkpoint_every: int = 100      # steps; a checkpoint is also written at the end
    save_dtype: str = "fp32"         # weights file: fp32 or fp16
    max_steps: int | None = None     # stop early (tests, time-boxing); the schedule is unchanged
    extra: dict[str, Any] = field(default_factory=dict)  # recorded in config.json only


def total_steps(plan: MixPlan, config: TrainConfig) -> int:
    return max(1, round(config.epochs * plan.steps_per_epoch))


def _lr_lambda(warmup: int, total: int):
    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress_ = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress_)))
    return f


def _param_groups(model: torch.nn.Module, weight_decay: float):
    # As open_clip: no decay on gains, biases, embeddings' positional terms and logit_scale.
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        excluded = p.ndim < 2 or "bn" in name or "ln" in name or "bias" in name or "logit_scale" in name
        (no_decay if excluded else decay).append(p)
    return [{"params": no_decay, "weight_decay": 0.0}, {"params": decay, "weight_decay": weight_decay}]


def _rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _atomic_torch_save(obj: Any, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def save_weights(model: torch.nn.Module, path: Path, dtype: str = "fp32") -> Path:
    """The model's state dict as safetensors (atomic); fp16 halves the file."""
    from safetensors.torch import save

    cast = torch.float16 if dtype == "fp16" else None
    state = {k: (v.detach().to("cpu", cast) if cast is not None and v.is_floating_point() else v.detach().cpu())
             .contiguous() for k, v in model.state_dict().items()}
    # safetensors refuses shared storage; clone makes every tensor its own.
    state = {k: v.clone() for k, v in state.items()}
    # through odbench's writer, not safetensors' save_file, which creates the file 0600
    # whatever the umask: weights are shared, like every other file the run writes
    data = save(state, metadata={"format": "pt", "dtype": dtype})
    replace_atomically(path, lambda f: f.write(data))
    return path


class Trainer:
    """Trains an open_clip `model` on `sources` (original, [synthetic]) into `output`."""

    def __init__(self, model, preprocess, tokenizer, sources: list[PairSource], output: str | os.PathLike,
                 config: TrainConfig):
        self.model, self.tokenizer, self.sources, self.config = model, tokenizer, sources, config
        self.output = Path(output)
        self.plan = plan_mix([len(s) for s in sources], config.batch_size, config.mix, config.steps_per_epoch)
        self.total = total_steps(self.plan, config)
        self.device = torch.device(config.device)
        self.use_amp = config.amp and self.device.type == "cuda"
        self.partner = None
        if config.paired:
            if len(sources) < 2 or self.plan.per_batch[1] == 0:
                raise ODBenchError("--paired needs a synthetic set and --mix > 0")
            self.partner = partners(sources[0], sources[1])
        self.caches = [ImageCache(s, preprocess, progress_desc=f"caching {s.name[:40]}") if k else None
                       for s, k in zip(sources, self.plan.per_batch, strict=True)]
        self.rows = data_parallel.rank_rows(config.batch_size)
        self.loss_fn = data_parallel.contrastive_loss()
        self.model.to(self.device).train()
        self.forward = data_parallel.wrap(self.model, self.device)
        self.optimizer = torch.optim.AdamW(_param_groups(self.model, config.weight_decay), lr=config.lr,
                                           betas=(0.9, 0.98), eps=1e-6)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, _lr_lambda(min(config.warmup_steps, self.total // 2 or 1), self.total))
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        self.step = 0

    # ---- state ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(),
                "step": self.step, "total": self.total, "rng": _rng_state(),
                "config": asdict(self.config), "plan": asdict(self.plan)}

    def save_checkpoint(self) -> None:
        _atomic_torch_save(self.state_dict(), self.output / CHECKPOINT)

    def load_checkpoint(self, path: Path) -> None:
        ckpt = torch.load(path, map_location=self.device, weights_only=False)
        if ckpt["plan"] != asdict(self.plan) or ckpt["total"] != self.total:
            raise ODBenchError(f"{path} was written by a run with other data, batch size, mix or "
                               f"epochs; resume with the same options or use a new --output")
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.scheduler.load_state_dict(ckpt["scheduler"])
        self.scaler.load_state_dict(ckpt["scaler"])
        self.step = ckpt["step"]
        _set_rng_state(ckpt["rng"])

    # ---- one step ------------------------------------------------------------------------
    def batch(self, step: int, rows: range | None = None) -> tuple[torch.Tensor, list[str]]:
        """Global batch `step` (sources in order), or its `rows` (a rank's slice)."""
        images, texts = [], []
        indices = batch_indices(self.plan, self.config.seed, step)
        if self.partner is not None:
            indices[0] = pair_with_sources(indices[0], indices[1], self.partner)
        first = 0   # position of this source's rows in the global batch
        for s, (source, cache, idx) in enumerate(zip(self.sources, self.caches, indices, strict=True)):
            k, size = self.plan.per_batch[s], self.plan.sizes[s]
            # The caption's pass is that of the row's place in the global batch, whatever the slice.
            keep = [j for j in range(len(idx)) if rows is None or first + j in rows]
            first += len(idx)
            if not keep:
                continue
            images.append(cache.batch(idx if len(keep) == len(idx) else idx[keep]))
            for j in keep:
                epoch = (step * k + j) // size  # pass over this source
                texts.append(source.caption(int(idx[j]), epoch, self.config.seed))
        return torch.cat(images), texts

    def train_step(self, step: int) -> dict[str, float]:
        images, texts = self.batch(step, self.rows)
        images = images.to(self.device, non_blocking=True)
        tokens = self.tokenizer(texts).to(self.device)
        with torch.autocast(device_type="cuda", dtype=torch.float16, enabled=self.use_amp):
            img, txt, scale = self.forward(images, tokens)
            loss = self.loss_fn(img, txt, scale)   # over the global batch: the same on every rank
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        with torch.no_grad():
            self.model.logit_scale.clamp_(0, math.log(100))
        return {"loss": float(loss.detach()), "logit_scale": float(scale.detach())}

    # ---- the run -------------------------------------------------------------------------
    def run(self, resume: bool = False) -> dict[str, Any]:
        """Train to the end (or to `max_steps`); every rank runs it, rank 0 alone writes."""
        writer = is_main()
        ckpt = self.output / CHECKPOINT
        if resume and ckpt.is_file():
            self.load_checkpoint(ckpt)
        elif ckpt.is_file() or (self.output / LOSS_LOG).is_file():
            raise ODBenchError(f"{self.output} already holds a run; pass --resume to continue it "
                               f"or choose another --output")
        barrier()   # every rank has looked at the folder before rank 0 writes to it
        if writer:
            self.output.mkdir(parents=True, exist_ok=True)
            (self.output / "config.json").write_text(json.dumps(
                {**asdict(self.config), "plan": asdict(self.plan), "total_steps": self.total,
                 "sources": [s.name for s in self.sources]}, indent=2, default=str))
        end = self.total if self.config.max_steps is None else min(self.total, self.config.max_steps)
        log = open(self.output / LOSS_LOG, "a", encoding="utf-8") if writer else None
        started = time.perf_counter()
        bar = progress(range(self.step, end), desc="training", total=end - self.step, unit="step")
        try:
            for step in bar:
                stats = self.train_step(step)
                self.step = step + 1
                record = {"step": self.step, "epoch": round(self.step / self.plan.steps_per_epoch, 4),
                          "loss": round(stats["loss"], 6), "lr": self.scheduler.get_last_lr()[0],
                          "logit_scale": round(stats["logit_scale"], 4),
                          "seconds": round(time.perf_counter() - started, 2)}
                if log is not None:
                    log.write(json.dumps(record) + "\n")
                    log.flush()
                if hasattr(bar, "set_postfix"):
                    bar.set_postfix(loss=f"{stats['loss']:.3f}")
                if writer and self.step % self.config.checkpoint_every == 0 and self.step < end:
                    self.save_checkpoint()
        finally:
            if log is not None:
                log.close()
        weights = self.output / FINAL if self.step >= self.total else None
        if writer:
            self.save_checkpoint()
            if weights is not None:
                save_weights(self.model, weights, self.config.save_dtype)
        barrier()   # every rank returns once the files are there
        return {"steps": self.step, "total_steps": self.total, "weights": str(weights) if weights else None,
                "seconds": round(time.perf_counter() - started, 1)}
