"""What every subcommand shares: one-line errors for user mistakes, quiet logs."""
from __future__ import annotations

import functools
import logging
import os
import re
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
    # huggingface_hub sets its own level when imported, after the loop above; without this it
    # logs every failed request and retry, and the root handler open_clip installs prints
    # each of them a second time.
    try:
        from huggingface_hub.utils import logging as hub_logging

        hub_logging.set_verbosity_error()
    except ImportError:
        pass


_DEVICES = re.compile(r"cpu|cuda(:\d+)?|mps")


def resolve_device(device: str | None) -> str:
    """The --device a command runs on: CUDA when available unless told otherwise. Only devices
    that can run a model are accepted (torch also knows 'meta', which computes nothing)."""
    import torch

    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if not _DEVICES.fullmatch(device):
        hint = f" (did you mean {device.strip().lower()!r}?)" if _DEVICES.fullmatch(device.strip().lower()) else ""
        raise ODBenchError(f"--device {device!r} is not a device ODBench runs on: use cpu, cuda, cuda:N "
                           f"or mps{hint}")
    if device.startswith("cuda"):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ODBenchError(f"--device {device} asked for, but torch sees no CUDA device")
        index = int(device.partition(":")[2] or 0)
        if index >= count:
            raise ODBenchError(f"--device {device} asked for, but torch sees {count} CUDA device(s): "
                               f"cuda:0 to cuda:{count - 1}")
    if device == "mps" and not torch.backends.mps.is_available():
        raise ODBenchError("--device mps asked for, but torch sees no MPS device")
    return device


def user_errors(func: Callable[..., int]) -> Callable[..., int]:
    """Turn ODBenchError (and Ctrl-C) into one line on stderr and a non-zero exit code."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs) -> int:
        try:
            return func(*args, **kwargs)
        except ODBenchError as exc:
            # One line, whatever the message holds (a library's multi-line text, a file name)
            print("error: " + " ".join(str(exc).split()), file=sys.stderr)
            return EXIT_USER_ERROR
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130

    return wrapper
