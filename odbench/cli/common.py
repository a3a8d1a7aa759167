"""What every subcommand shares: one-line errors for user mistakes, quiet logs."""
from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable

from ..errors import ODBenchError

EXIT_USER_ERROR = 2


def quiet_libraries() -> None:
    """datasets and huggingface_hub log at INFO/WARNING on every load; users want our output."""
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    for name in ("datasets", "huggingface_hub", "open_clip", "root"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        import datasets

        datasets.disable_progress_bars()
        datasets.logging.set_verbosity_error()
    except ImportError:
        pass


def resolve_device(device: str | None) -> str:
    """The --device a command runs on: CUDA when available unless told otherwise."""
    import torch

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ODBenchError(f"--device {device} asked for, but torch sees no CUDA device")
    return device


def user_errors(func: Callable[..., int]) -> Callable[..., int]:
    """Turn ODBenchError (and Ctrl-C) into one line on stderr and a non-zero exit code."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs) -> int:
        try:
            return func(*args, **kwargs)
        except ODBenchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USER_ERROR
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130

    return wrapper
