"""`odbench leaderboard --reproduce --allow-download`: public weights at a fixed revision are
re-run from the local hub cache (here a fake cache holding a tiny CLIP), and the rebuilt
model's weights hash, parameter count and untrained flag must be the file's."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("transformers")

from console import run_console  # noqa: E402
from tiny_dataset import KEY, NAME  # noqa: E402
from tiny_hf_clip import FAKE_COMMIT, as_hub_cache, save_tiny_clip  # noqa: E402

SPEC = f"hf:odbench-test/tiny-clip@{FAKE_COMMIT}"


@pytest.fixture(scope="module")
def hub(tmp_path_factory, dataset):
    """A fake hub cache, and a submissions folder with the tiny CLIP's result evaluated from it."""
    root = tmp_path_factory.mktemp("hub")
    cache = as_hub_cache(save_tiny_clip(root / "checkpoint"), root / "cache", "odbench-test/tiny-clip")
    env = {"HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}
    subs = root / "submissions" / NAME
    subs.mkdir(parents=True)
    proc = run_console("odbench-eval", "--model", SPEC, "--dataset", dataset, "--device", "cpu",
                       "--output", subs / "tiny-clip.json", env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return root / "submissions", env


def leaderboard(subs, dataset, env, *extra):
    return run_console("odbench", "leaderboard", "--submissions", subs, "--output", subs.parent / "lb.md",
                       "--dataset", f"{KEY}={dataset}", "--reproduce", *extra, env=env, timeout=300)


def test_public_weights_are_re_run_from_the_hub_cache(hub, dataset):
    subs, env = hub
    proc = leaderboard(subs, dataset, env, "--allow-download")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"{subs.as_posix()}/{NAME}/tiny-clip.json: reproduced (rankings sha256 " in proc.stdout
    assert "1 accepted, 0 rejected, 1 re-run and reproduced" in proc.stdout
    row = next(line for line in (subs.parent / "lb.md").read_text().splitlines() if "tiny-clip.json" in line)
    assert "| reproducible |" in row and row.startswith("| 1 | ")       # ranked


def test_without_allow_download_it_is_not_re_run_and_says_how(hub, dataset):
    subs, env = hub
    proc = leaderboard(subs, dataset, env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert ("tiny-clip.json: not re-run: the model loads Hugging Face weights that are not in the repository "
            "(public weights at a fixed revision: --allow-download re-runs it)") in proc.stdout


@pytest.mark.parametrize("field, value", [("num_parameters", 1), ("untrained", True), ("weights_hash", "ab" * 32)])
def test_a_hand_edited_identity_is_not_reproduced(hub, dataset, tmp_path, field, value):
    subs, env = hub
    doc = json.loads((subs / NAME / "tiny-clip.json").read_text())
    true_value = doc["model"][field]
    doc["model"][field] = value
    edited = tmp_path / "submissions" / NAME
    edited.mkdir(parents=True)
    (edited / "tiny-clip.json").write_text(json.dumps(doc))
    proc = leaderboard(edited.parent, dataset, env, "--allow-download")
    assert (f"tiny-clip.json: rejected (not-reproduced): the rebuilt {SPEC} has {field} {true_value!r}, "
            f"the file says {value!r}") in proc.stderr
