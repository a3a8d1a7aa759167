"""Running the console scripts as a user does: a fresh process, its stderr and exit code."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def run_console(script: str, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
                timeout: float = 300) -> subprocess.CompletedProcess:
    """`odbench ...` or `odbench-eval ...` from the environment's bin folder, offline by default."""
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "ODBENCH_PROGRESS": "0", **(env or {})}
    return subprocess.run([str(BIN / script), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=full_env, timeout=timeout)


def assert_one_line_error(proc: subprocess.CompletedProcess, *fragments: str) -> str:
    """The error contract: exit 2, exactly one line `error: ...` on stderr, no traceback."""
    err = proc.stderr
    assert proc.returncode == 2, (proc.returncode, err[-2000:])
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err[-2000:]
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    return err
