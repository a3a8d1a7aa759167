"""MTEB both ways: `--model mteb:NAME` (a model of MTEB's registry, through MTEB's own wrapper) and
`odbench.integrations.mteb.ODBenchTask` (ODBench as an MTEB task). Offline: the model is a tiny
random CLIP the test saves and registers (tiny_mteb.py), loaded by MTEB's CLIP wrapper."""
from __future__ import annotations

import importlib
import sys

import pytest

mteb = pytest.importorskip("mteb")
pytest.importorskip("transformers")

from odbench import results  # noqa: E402
from odbench.cli.eval import main as odbench_eval  # noqa: E402
from odbench.encoders import load_encoder  # noqa: E402
from odbench.leaderboard.markdown import _model as leaderboard_model_cell  # noqa: E402

from tiny_hf_clip import save_tiny_clip  # noqa: E402
from tiny_mteb import TINY_REVISION, TINY_TRAINING, register_tiny_clip  # noqa: E402

HEADLINE = ("odmap@10", "odmap_i2t@10", "odmap_t2i@10", "cmap@10", "gap@10", "hr@5")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return save_tiny_clip(tmp_path_factory.mktemp("mteb") / "tiny-clip")


def test_an_mteb_model_scores_the_same_through_odbench_eval_and_the_mteb_task(checkpoint, monkeypatch, tmp_path):
    name = register_tiny_clip(monkeypatch, checkpoint)
    out = tmp_path / "mteb.json"
    assert odbench_eval(["--model", f"mteb:{name}", "--batch-size", "32", "--device", "cpu",
                         "--output", str(out)]) == 0
    doc = results.load(out)
    # what MTEB knows of the model is in the result, and the leaderboard marks COCO training data
    assert doc.model.mteb == {"name": name, "revision": TINY_REVISION, "n_parameters": 16897,
                              "release_date": "2026-01-01", "training_datasets": sorted(TINY_TRAINING)}
    assert doc.model.revision == TINY_REVISION and doc.model.num_parameters == 16897
    assert doc.model.weights_hash == load_encoder(f"hf:{checkpoint}").weights_hash   # the same weights
    assert "(trained on COCO)" in leaderboard_model_cell(doc)

    from odbench.integrations.mteb import ODBenchTask

    task = ODBenchTask()
    assert task.metadata.name == "ODBenchPicto" and task.metadata.main_score == "odmap@10"
    run = mteb.evaluate(mteb.get_model(name), tasks=[task], cache=None, encode_kwargs={"batch_size": 32},
                        show_progress_bar=False)
    scores = run.task_results[0].scores["test"][0]
    assert scores["main_score"] == scores["odmap@10"]
    for metric in HEADLINE:
        assert abs(scores[metric] - doc.metrics[metric]) <= 1e-6, metric
    for metric, value in doc.metrics.items():      # and every other metric of SPEC section 5
        if value is not None:
            assert abs(scores[metric] - value) <= 1e-6, metric


def test_no_coco_mark_without_mteb_metadata_saying_so(checkpoint, monkeypatch, tmp_path):
    name = register_tiny_clip(monkeypatch, checkpoint, training_datasets=None)   # unknown is not a mark
    assert load_encoder(f"mteb:{name}").mteb["training_datasets"] is None
    from odbench.encoders.mteb_adapter import trained_on_coco
    assert not trained_on_coco({"training_datasets": None}) and not trained_on_coco(None)
    assert trained_on_coco({"training_datasets": ["MSCOCOT2IRetrieval"]})


class _TextOnlyWrapper:
    """Registered as image-text, but its encode knows only text."""

    def __init__(self, name, revision=None, **kwargs):
        pass

    def encode(self, inputs, **kwargs):
        if "image" in inputs.dataset.features:
            raise ValueError("this wrapper has no image tower")
        return [[1.0, 0.0]] * len(inputs.dataset)


@pytest.mark.parametrize(("model", "overrides", "message"), [
    ("mteb:", None, "mteb needs a model of MTEB's registry"),
    ("mteb:openai/clip-vit-base-patch33", None, "not found in MTEB registry. Did you mean"),
    ("mteb:openai/clip-vit-base-patch32@main", None, "Model revision main not found"),
    ("mteb:sentence-transformers/all-MiniLM-L6-v2", None, "MTEB lists it as text-only"),
    ("mteb:facebook/dinov2-small", None, "MTEB lists it as image-only"),
    ("mteb:TINY", {"loader": None}, "without an implementation"),
    ("mteb:TINY", {"loader": _TextOnlyWrapper}, "MTEB's encode failed on images"),
])
def test_mteb_mistakes_are_one_line(model, overrides, message, checkpoint, monkeypatch, tmp_path, capsys):
    if overrides is not None:
        model = "mteb:" + register_tiny_clip(monkeypatch, checkpoint, **overrides)
    out = tmp_path / "never.json"
    assert odbench_eval(["--model", model, "--device", "cpu", "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err
    assert not out.exists()


def test_without_the_extra_both_directions_say_how_to_install_it(monkeypatch, tmp_path, capsys):
    for module in [m for m in sys.modules if m == "mteb" or m.startswith("mteb.")]:
        monkeypatch.setitem(sys.modules, module, None)      # as if mteb were not installed
    assert odbench_eval(["--model", "mteb:openai/clip-vit-base-patch32", "--output", str(tmp_path / "x.json")]) == 2
    assert "needs mteb, which is not installed: pip install 'odbench[mteb]'" in capsys.readouterr().err
    monkeypatch.delitem(sys.modules, "odbench.integrations.mteb", raising=False)
    with pytest.raises(ImportError, match=r"pip install 'odbench\[mteb\]'"):
        importlib.import_module("odbench.integrations.mteb")
