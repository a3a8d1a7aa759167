"""The README is short, offers the CPU-only torch before the download, links to files that exist, shows the
leaderboard's numbers as its scale, and its commands and encoder example give the same result twice."""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from console import run_console

README = Path(__file__).resolve().parents[1] / "README.md"


def _readme() -> str:
    return README.read_text(encoding="utf-8")


def test_readme_encoder_example_is_deterministic_across_processes(dataset, tmp_path):
    section = _readme()[_readme().index("## Plug in your model"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    (tmp_path / "my_encoder.py").write_text(code)
    docs = []
    # Two processes with different str-hash salts, as two runs on a user's machine would have.
    for salt in ("1", "2"):
        out = tmp_path / f"mine-{salt}.json"
        proc = run_console("odbench-eval", "--model", "my_encoder.py:MyEncoder", "--model-arg", "dim=128",
                           "--dataset", dataset, "--output", out, cwd=tmp_path, env={"PYTHONHASHSEED": salt})
        assert proc.returncode == 0, proc.stderr
        docs.append(json.loads(out.read_text()))
    first, second = docs
    assert first["model"]["args"] == {"dim": "128"}       # recorded as given on the command line
    assert first["model"]["weights_hash"] == second["model"]["weights_hash"]
    assert first["rankings_sha256"] == second["rankings_sha256"]


def test_readme_first_command_can_be_run_twice(dataset, tmp_path):
    setup = _readme()[_readme().index("## Set-up"):_readme().index("## Plug in your model")]
    block = next(b for b in re.findall(r"```bash\n(.*?)```", setup, re.S) if "odbench-eval" in b)
    command = block.strip().split("&&")[-1]                # after `pip install -e .`
    argv = shlex.split(command)
    assert argv[0] == "odbench-eval"
    for attempt in (1, 2):                                 # a newcomer pastes it twice
        proc = run_console(*argv, "--dataset", dataset, cwd=tmp_path)   # the tiny dataset, for speed
        assert proc.returncode == 0, (attempt, proc.stderr)
    assert (tmp_path / "results" / "baseline.json").is_file()


def test_readme_reads_in_ten_minutes():
    assert len(_readme().splitlines()) <= 200


def test_the_cpu_only_torch_is_offered_before_the_download():
    text = _readme()
    assert text.index("--index-url https://download.pytorch.org/whl/cpu") < text.index("pip install -e . &&")


def test_readme_links_point_at_files_of_the_repository():
    root = README.parent
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", _readme())
    local = [t for t in targets if not re.match(r"[a-z]+://", t)]
    assert "docs/getting-started.md" in local and "odbench/embedded/odbench-picto/examples.png" in local
    assert [t for t in local if not (root / t).exists()] == []


def test_readme_scale_is_the_leaderboard():
    # the reference models' numbers shown as a scale are the leaderboard's own, with intervals
    leaderboard = (README.parent / "leaderboard.md").read_text(encoding="utf-8")
    for model in ("odbench:mitigated", "odbench:baseline"):
        row = next(line for line in leaderboard.splitlines() if f"| `{model}` |" in line)
        odmap = re.search(r"\| (0\.\d{4} \[0\.\d{4}, 0\.\d{4}\]) \|", row).group(1)
        assert odmap in _readme(), (model, odmap)
        assert odmap in (README.parent / "docs" / "metrics.md").read_text(encoding="utf-8"), (model, odmap)
