"""`--model hf:...`: a transformers dual encoder, from a save_pretrained folder or the hub cache.

Everything runs offline on a tiny random CLIP that the test saves itself (tiny_hf_clip.py)."""
from __future__ import annotations

import json
import sys

import pytest

pytest.importorskip("transformers", reason="no transformers (pip install -e '.[test]' or '.[hf]')")

from odbench import results  # noqa: E402
from odbench.cli.eval import main as odbench_eval  # noqa: E402
from odbench.encoders import load_encoder  # noqa: E402

from console import run_console  # noqa: E402
from tiny_hf_clip import FAKE_COMMIT, as_hub_cache, save_tiny_clip  # noqa: E402


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return save_tiny_clip(tmp_path_factory.mktemp("hf") / "my-checkpoint")


def test_a_saved_checkpoint_evaluates_twice_to_the_same_rankings(checkpoint, dataset):
    # As a user runs it: the console script, from the folder that holds the checkpoint.
    runs = []
    for name in ("first.json", "second.json"):
        proc = run_console("odbench-eval", "--model", "hf:./my-checkpoint", "--dataset", dataset,
                           "--output", name, cwd=checkpoint.parent, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
        runs.append(results.load(checkpoint.parent / name))
    first, second = runs
    assert first.rankings_sha256 == second.rankings_sha256
    assert first.model.weights_hash == second.model.weights_hash is not None
    assert first.model.num_parameters == 16897 and not first.model.untrained
    assert first.model.revision is None    # a folder has no commit; its weights hash names it
    assert "revision" not in json.loads((checkpoint.parent / "first.json").read_text())["model"]


def test_a_hub_model_records_the_commit_it_was_loaded_from(checkpoint, dataset, tmp_path, monkeypatch):
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    cache = as_hub_cache(checkpoint, tmp_path / "cache", "odbench-test/tiny-clip")
    out = tmp_path / "hub.json"
    assert odbench_eval(["--model", "hf:odbench-test/tiny-clip", "--model-arg", f"cache_dir={cache}",
                         "--dataset", str(dataset), "--output", str(out)]) == 0
    doc = results.load(out)
    assert doc.model.revision == FAKE_COMMIT                       # "main", resolved to its commit
    assert doc.model.name == f"hf:odbench-test/tiny-clip@{FAKE_COMMIT}"
    assert doc.model.weights_hash == load_encoder(f"hf:{checkpoint}").weights_hash
    pinned = load_encoder(f"hf:odbench-test/tiny-clip@{FAKE_COMMIT}", {"cache_dir": str(cache)})
    assert pinned.revision == FAKE_COMMIT


@pytest.mark.parametrize(("model", "message"), [
    ("hf:", "hf needs a model"),
    ("hf:./no-such-checkpoint", "no such folder"),
    ("hf:odbench-test/not-cached@v1.0", "not in the local Hugging Face cache"),
    ("hf:{checkpoint}@v1.0", "a local folder has no revision"),
])
def test_mistakes_are_one_clear_line(checkpoint, dataset, tmp_path, capsys, monkeypatch, model, message):
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    code = odbench_eval(["--model", model.format(checkpoint=checkpoint), "--dataset", str(dataset),
                         "--output", str(tmp_path / "r.json")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error:") and len(err.splitlines()) == 1, err
    assert message in err
    assert not (tmp_path / "r.json").exists()


def test_a_model_without_both_towers_is_refused(tmp_path):
    from transformers import CLIPTextConfig, CLIPTextModel

    CLIPTextModel(CLIPTextConfig(vocab_size=10, hidden_size=8, intermediate_size=8, num_attention_heads=2,
                                 num_hidden_layers=1)).save_pretrained(tmp_path / "text-only")
    with pytest.raises(Exception, match="is not a dual encoder: it has no get_image_features"):
        load_encoder(f"hf:{tmp_path / 'text-only'}")


def test_without_transformers_the_message_says_what_to_install(checkpoint, monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)    # as if not installed
    with pytest.raises(Exception, match=r"pip install 'odbench\[hf\]'"):
        load_encoder(f"hf:{checkpoint}")
