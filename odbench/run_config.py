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
        if self.batch_size < 1:
            raise ODBenchError("--batch-size must be at least 1")
        if not MIN_K <= self.k <= MAX_K:
            raise ODBenchError(f"--k must be between {MIN_K} (ODmAP@10 is the headline metric) and {MAX_K}")
        if self.num_workers < 0:
            raise ODBenchError("--num-workers must be 0 (load images in the main process) or more")
        if self.precision not in PRECISIONS:
            raise ODBenchError(f"--precision must be one of {', '.join(PRECISIONS)}")
