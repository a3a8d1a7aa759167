"""The documentation's commands run as written, so the README and the guide cannot drift from
the code.

A fenced ```bash or ```python block with the HTML comment `<!-- runnable -->` on the line before
it is run; `<!-- runnable: save as NAME -->` saves the block as the file NAME for the blocks
after it. An `<!-- output -->` block after a runnable block lists lines that the runnable
block's output must contain (runs of spaces count as one).

The blocks run offline, in the order they appear in their document, each document in a fresh
folder (as from a fresh clone) that holds links to the repository's `odbench/` and
`submissions/` (the paths the commands name); all share one embedding cache, so that a model
the documents evaluate twice is encoded once. A
`pip install ...` (with the `&&` after it) is not run: the tests run in the installed project.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^<!-- (?P<mark>runnable(?:: save as (?P<save>[\w.-]+))?|output) -->\n"
                   r"```(?P<lang>\w+)\n(?P<body>.*?)^```$", re.M | re.S)
INSTALL = re.compile(r"^\s*pip install [^&\n]*(&&\s*|$)", re.M)


@dataclass
class Block:
    document: Path
    line: int
    kind: str              # "run", "save" or "output"
    lang: str
    body: str
    save_as: str | None = None

    def where(self) -> str:
        return f"{self.document.relative_to(ROOT)}:{self.line}"


def blocks_of(document: Path) -> list[Block]:
    text = document.read_text(encoding="utf-8")
    out = []
    for m in BLOCK.finditer(text):
        kind = "output" if m["mark"] == "output" else "save" if m["save"] else "run"
        out.append(Block(document, text.count("\n", 0, m.start()) + 1, kind, m["lang"], m["body"], m["save"]))
    return out


def _collapsed(text: str) -> str:
    return re.sub(r"[ \t]+", " ", text)


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    """The environment of every block: offline, the installed scripts first, one set of caches."""
    folder = tmp_path_factory.mktemp("docs-caches")
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
           "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "ODBENCH_PROGRESS": "0", "MPLBACKEND": "Agg",
           "ODBENCH_CACHE_DIR": str(folder / ".odbench-cache"),
           "HF_DATASETS_CACHE": str(folder / ".hf-datasets-cache")}
    return env


def run_block(block: Block, folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    if block.lang == "python":
        script = folder / f"_block_{block.document.stem}_{block.line}.py"
        script.write_text(block.body)
        argv = [sys.executable, script.name]
    elif block.lang == "bash":
        argv = ["bash", "-euo", "pipefail", "-c", INSTALL.sub("", block.body)]
    else:
        raise AssertionError(f"{block.where()}: a runnable block must be bash or python, not {block.lang}")
    return subprocess.run(argv, cwd=folder, env=env, capture_output=True, text=True, timeout=900)


def test_the_readme_and_the_guide_have_runnable_blocks():
    readme = [b for b in blocks_of(ROOT / "README.md") if b.kind == "run"]
    guide = [b for b in blocks_of(ROOT / "docs" / "getting-started.md") if b.kind == "run"]
    assert readme and guide
    assert any("odbench-eval" in b.body for b in readme)      # the first result, as a newcomer gets it


def test_install_commands_are_not_run():
    assert INSTALL.sub("", 'pip install -e . && odbench-eval --model mock:random').strip() == \
        "odbench-eval --model mock:random"
    assert INSTALL.sub("", 'pip install -e ".[test]"\necho ok').strip() == "echo ok"


@pytest.mark.parametrize("document", [d for d in DOCUMENTS if blocks_of(d)], ids=lambda d: d.name)
def test_runnable_blocks(document, env, tmp_path):
    folder = tmp_path
    for name in ("odbench", "submissions"):
        (folder / name).symlink_to(ROOT / name, target_is_directory=True)
    last = None
    for block in blocks_of(document):
        if block.kind == "save":
            (folder / block.save_as).write_text(block.body)
        elif block.kind == "run":
            proc = run_block(block, folder, env)
            assert proc.returncode == 0, f"{block.where()} exited {proc.returncode}:\n{proc.stderr[-3000:]}"
            last = (block, _collapsed(proc.stdout + proc.stderr))
        else:
            assert last is not None, f"{block.where()}: an output block must follow a runnable block"
            ran, output = last
            for line in filter(None, (raw.strip() for raw in block.body.splitlines())):
                assert _collapsed(line) in output, f"{block.where()}: {ran.where()} did not print {line!r}"
