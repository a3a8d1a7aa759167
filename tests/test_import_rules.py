"""The layers of docs/layout.md, as a user meets them: evaluating imports no training
code and no builder. (`lint-imports` in .ci/run checks every rule of pyproject.toml statically.)"""
from __future__ import annotations

import subprocess
import sys


def _run(code: str, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *options, "-c", code], capture_output=True, text=True, check=True)


def _training_or_builders(modules: list[str]) -> list[str]:
    return [m for m in modules if "train" in m.lower() or m.startswith("dataset_builders")]


def test_the_evaluation_cli_imports_no_training_code():
    # what `python -X importtime -c "import odbench.cli.eval" 2>&1 | grep -i train` shows: nothing
    stderr = _run("import odbench.cli.eval", "-X", "importtime").stderr
    modules = [line.rsplit("|", 1)[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")]
    assert "odbench.cli.eval" in modules and _training_or_builders(modules) == []


def loaded_after(code: str) -> list[str]:
    """sys.modules after `code` in a fresh interpreter (importtime does not time the
    importlib.import_module calls the CLI dispatches through)."""
    return _run(code + "\nimport sys\nprint('\\n'.join(sys.modules))").stdout.split()


def test_odbench_eval_imports_only_its_own_subcommand():
    modules = loaded_after("from odbench.cli.main import build_parser\nbuild_parser(['eval', '--model', 'x'])")
    assert "odbench.cli.eval" in modules and "odbench.cli.leaderboard" not in modules
    assert _training_or_builders(modules) == []


def test_training_is_reached_by_name_when_its_command_runs():
    modules = loaded_after("from odbench.cli.main import build_parser\nbuild_parser(['train-reference'])")
    assert "odbench_train.train_reference" in modules and "odbench_train.finetune" not in modules
