"""`odbench-eval` end to end on a dataset the tests build, and the mistakes users make."""
from __future__ import annotations

import json
import textwrap

import pytest

from odbench import results
from odbench.cli.eval import main as odbench_eval
from odbench.cli.main import main as odbench

ENCODER_FILE = '''
import torch

class BagOfColours:
    """Deterministic: mean colour of the image; letter counts of the caption."""
    def encode_images(self, images):
        return torch.stack([torch.tensor(list(im.resize((4, 4)).tobytes()), dtype=torch.float32).view(-1, 3).mean(0)
                            for im in images])
    def encode_texts(self, texts):
        return torch.tensor([[t.count("a") + 1.0, t.count("o") + 1.0, len(t)] for t in texts])

class WrongShape(BagOfColours):
    def encode_texts(self, texts):
        return torch.ones(len(texts), 3, 2)

class WrongCount(BagOfColours):
    def encode_texts(self, texts):
        return torch.ones(len(texts) + 1, 3)

class OtherSpace(BagOfColours):
    def encode_texts(self, texts):
        return torch.ones(len(texts), 4)

class ReturnsNaN(BagOfColours):
    def encode_images(self, images):
        return torch.full((len(images), 3), float("nan"))

class Explodes(BagOfColours):
    def __init__(self):
        raise RuntimeError("weights not found")
'''


@pytest.fixture()
def encoder_file(tmp_path):
    path = tmp_path / "my_encoders.py"
    path.write_text(textwrap.dedent(ENCODER_FILE))
    return path


def run_eval(dataset, output, model, *extra):
    return odbench_eval(["--model", model, "--dataset", str(dataset), "--output", str(output), *extra])


def test_file_encoder_writes_a_valid_result(dataset, encoder_file, tmp_path, capsys):
    out = tmp_path / "result.json"
    assert run_eval(dataset, out, f"{encoder_file}:BagOfColours", "--batch-size", "2") == 0
    doc = results.load(out)
    assert doc.benchmark.name == "odbench-tiny"
    assert set(doc.rankings) == {"i2t", "t2i", "std_i2t", "std_t2i"}
    assert 0.0 <= doc.metrics["odmap@10"] <= 1.0
    # the summary table: each headline metric with its SPEC 9 interval, as the file has it
    lo, hi = doc.intervals["metrics"]["odmap@10"]
    assert doc.intervals["draws"] == 1000 and doc.intervals["seed"] == 0 and lo <= doc.metrics["odmap@10"] <= hi
    assert f"odmap@10      {doc.metrics['odmap@10']:8.4f}  [{lo:.4f}, {hi:.4f}]" in capsys.readouterr().out
    assert odbench(["validate", str(out)]) == 0


def test_batch_size_does_not_change_rankings_on_cpu(dataset, encoder_file, tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert run_eval(dataset, a, f"{encoder_file}:BagOfColours", "--batch-size", "1") == 0
    assert run_eval(dataset, b, f"{encoder_file}:BagOfColours", "--batch-size", "5") == 0
    assert json.loads(a.read_text())["rankings_sha256"] == json.loads(b.read_text())["rankings_sha256"]


def test_random_init_open_clip_is_reproducible(dataset, tmp_path):
    docs = []
    for name in ("first.json", "second.json"):
        out = tmp_path / name
        assert run_eval(dataset, out, "open_clip:odbench-tiny", "--seed", "3", "--no-cache") == 0
        docs.append(results.load(out))
    first, second = docs
    assert first.model.untrained is True
    assert first.metrics == second.metrics
    assert first.rankings_sha256 == second.rankings_sha256
    assert first.model.weights_hash == second.model.weights_hash


def test_longer_ranked_lists(dataset, tmp_path):
    out = tmp_path / "k12.json"
    assert run_eval(dataset, out, "mock:random", "--k", "12") == 0
    doc = results.load(out)
    assert doc.run.k == 12


@pytest.mark.parametrize("model, message", [
    ("no_such_module_xyz:Encoder", "no module"),
    ("{file}:NoSuchClass", "NoSuchClass"),
    ("{file}:Explodes", "weights not found"),
    ("{file}:WrongShape", "WrongShape"),
    ("{file}:WrongCount", "WrongCount"),
    ("{file}:OtherSpace", "dimension 4, but the image embeddings have dimension 3"),
    ("{file}:ReturnsNaN", "finite"),
])
def test_model_mistakes_are_one_clear_line(dataset, encoder_file, tmp_path, capsys, model, message):
    out = tmp_path / "never.json"
    code = run_eval(dataset, out, model.format(file=encoder_file))
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("error:") and len(err.splitlines()) == 1 and "Traceback" not in err
    assert message.lower() in err.lower()
    assert not out.exists()


def test_missing_dataset(tmp_path, capsys):
    assert run_eval(tmp_path / "nowhere", tmp_path / "r.json", "mock:random") == 2
    assert "dataset not found" in capsys.readouterr().err


def test_existing_output_is_not_overwritten(dataset, tmp_path, capsys):
    out = tmp_path / "r.json"
    out.write_text("keep me")
    assert run_eval(dataset, out, "mock:random") == 2
    assert "--overwrite" in capsys.readouterr().err
    assert out.read_text() == "keep me"
    assert run_eval(dataset, out, "mock:random", "--overwrite") == 0
    results.load(out)


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ('{"schema_version": "1.0"}', "schema violation"),
])
def test_validate_rejects_malformed_files(tmp_path, capsys, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    assert odbench(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("model_args", [[], ["--model-arg", "with_preprocess=false"]])
def test_loader_workers_change_nothing(dataset, tmp_path, model_args):
    # workers decode (and hash, for the content check) the images: same rankings as the main process
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert run_eval(dataset, a, "mock:random", *model_args, "--no-cache") == 0
    assert run_eval(dataset, b, "mock:random", *model_args, "--no-cache", "--num-workers", "1") == 0
    assert json.loads(a.read_text())["rankings_sha256"] == json.loads(b.read_text())["rankings_sha256"]
