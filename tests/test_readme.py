"""The README's encoder example is a real, working model file."""
from __future__ import annotations

import re
from pathlib import Path

from odbench import results
from odbench.cli.eval import main as odbench_eval

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_encoder_example_runs(dataset, tmp_path):
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Plug in your model"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    (tmp_path / "my_encoder.py").write_text(code)
    out = tmp_path / "mine.json"
    assert odbench_eval(["--model", f"{tmp_path / 'my_encoder.py'}:MyEncoder", "--model-arg", "dim=128",
                         "--dataset", str(dataset), "--output", str(out)]) == 0
    doc = results.load(out)
    assert doc["model"]["args"] == {"dim": "128"}       # recorded as given on the command line
