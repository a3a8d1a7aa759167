"""`load_dataset("odbench", CONFIG, split=...)` from the repository root: the package folder's card
(odbench/README.md) declares the embedded dataset's configs, so `datasets` loads exactly its rows."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import odbench
from dataset_builders.__main__ import main as builders_main
from dataset_builders.hf_folder import read_card_metadata
from dataset_builders.package_card import PACKAGE_CARD, package_card_text
from odbench.data import read_manifest

REPO_ROOT = Path(__file__).resolve().parents[1]

# Run as a user would, from the repository root, in a fresh process with a fresh datasets cache
# (a stale cache of the folder "odbench" would prove nothing).
LITERAL = """
import json, sys
from datasets import load_dataset
from odbench.hashing import config_hash
out = {}
for config, split in json.loads(sys.argv[1]):
    ds = load_dataset("odbench", config, split=split)
    out[f"{config}/{split}"] = [len(ds), config_hash(ds)]
print(json.dumps(out))
"""


def _declared(folder: Path) -> list[tuple[str, str]]:
    return [(c["config_name"], f["split"]) for c in read_card_metadata(folder)["configs"] for f in c["data_files"]]


def test_the_package_card_is_generated_from_the_embedded_card():
    # fails after the embedded dataset changes (a new split, a new version) until the card is rewritten
    assert PACKAGE_CARD.read_text(encoding="utf-8") == package_card_text(), \
        "odbench/README.md is out of date: run python -m dataset_builders package-card"
    assert builders_main(["package-card", "--check"]) == 0
    assert _declared(PACKAGE_CARD.parent) == _declared(odbench.embedded_path())


def test_literal_load_dataset_from_the_repository_root_returns_the_embedded_rows(tmp_path):
    declared = _declared(PACKAGE_CARD.parent)
    env = {**os.environ, "HF_DATASETS_CACHE": str(tmp_path / "hf"), "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"}
    run = subprocess.run([sys.executable, "-c", LITERAL, json.dumps(declared)], cwd=REPO_ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    loaded = json.loads(run.stdout.strip().splitlines()[-1])

    manifest = read_manifest(odbench.embedded_path())
    for config, want in manifest["content_hashes"].items():          # every hashed config of test
        assert loaded[f"{config}/test"][1] == want, f"{config}: differs from the manifest's content hash"
    for config, split in declared:                                    # and of every other split declared
        if config == "manifest":
            assert loaded[f"{config}/{split}"][0] == 1
        elif split != "test":   # validation (SPEC 9): the manifest's per-split hashes
            want = manifest["splits"][split]["content_hashes"][config]
            assert loaded[f"{config}/{split}"][1] == want, f"{config}/{split}: differs from the manifest"
