"""The settings of one evaluation run, checked when they are made.

Torch-free on purpose: `odbench-eval` builds its `RunConfig` from the command line before the
heavy imports, so that a typo costs under a second, not a model load.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import ODBenchError

MIN_K = 10     # every ranked list holds at least the top 10: ODmAP@10 is the headline metric
MAX_K = 100    # result.schema.json's bound on run.k
PRECISIONS = ("fp32", "amp")
MAX_SEED = 2**63 - 1     # torch.manual_seed takes a 64-bit integer
MAX_BATCH_SIZE = 2**16   # beyond any accelerator's memory for one batch of images
MAX_WORKERS = 256


@dataclass(frozen=True)
class RunConfig:
    device: str = "cpu"
    batch_size: int = 64
    precision: str = "fp32"          # "amp": autocast (bf16 on CPU, fp16 on CUDA); scores stay fp32
    num_workers: int = 0
    seed: int = 0
    k: int = MIN_K                   # length of every ranked list
    chunk_size: int = 1024           # queries scored at once

    def __post_init__(self) -> None:
        # Worded by the odbench-eval options that set them.
        if not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            raise ODBenchError(f"--batch-size must be between 1 and {MAX_BATCH_SIZE}")
        if not 0 <= self.seed <= MAX_SEED:
            raise ODBenchError(f"--seed must be between 0 and {MAX_SEED} (2**63 - 1)")
        if not MIN_K <= self.k <= MAX_K:
            raise ODBenchError(f"--k must be between {MIN_K} (ODmAP@10 is the headline metric) and {MAX_K}")
        if not 0 <= self.num_workers <= MAX_WORKERS:
            raise ODBenchError(f"--num-workers must be 0 (load images in the main process) to {MAX_WORKERS}")
        if self.precision not in PRECISIONS:
            raise ODBenchError(f"--precision must be one of {', '.join(PRECISIONS)}")
