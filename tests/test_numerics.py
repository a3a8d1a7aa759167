"""Embeddings of any finite size rank by their direction, and a model that ranks nothing
(constant embeddings) is told so, in one warning line and a field of the result."""
from __future__ import annotations

import json
import textwrap

import torch

from odbench.retrieval import normalize, top_k

from console import run_console


def test_huge_and_tiny_rows_become_unit_vectors():
    rows = torch.tensor([[3e30, 4e30], [3e-30, 4e-30], [0.0, 0.0], [3.0, 4.0]])
    out = normalize(rows)
    assert torch.allclose(out[:2], torch.tensor([[0.6, 0.8], [0.6, 0.8]]))
    assert out[2].tolist() == [0.0, 0.0]
    assert torch.equal(out[3], torch.nn.functional.normalize(rows[3:], dim=-1)[0])   # bit for bit


def test_ordinary_rows_of_any_norm_are_torch_s_normalisation_bit_for_bit():
    """Only rows whose float32 norm over- or underflows take the float64 path: embeddings of
    norm 0.001 to 1000, as models give them, rank exactly as they always did."""
    g = torch.Generator().manual_seed(0)
    rows = torch.randn(2000, 64, generator=g) * torch.logspace(-3, 3, 2000).unsqueeze(1)
    assert torch.equal(normalize(rows), torch.nn.functional.normalize(rows, dim=-1))


def test_float64_rows_beyond_float32_range_keep_their_direction():
    rows = torch.tensor([[1e300, -1e300], [1e-300, 1e-300]], dtype=torch.float64)
    assert torch.allclose(normalize(rows), torch.tensor([[0.7071068, -0.7071068], [0.7071068, 0.7071068]]))


def test_huge_embeddings_rank_like_their_scaled_down_copies():
    g = torch.Generator().manual_seed(0)
    queries, gallery = torch.randn(5, 8, generator=g), torch.randn(30, 8, generator=g)
    plain = top_k(normalize(queries), normalize(gallery), 10)
    huge = top_k(normalize(queries * 1e25), normalize(gallery * 1e25), 10)
    assert (plain == huge).all()


MODELS = '''
import torch

class Scaled(torch.nn.Module):
    """Colour statistics, times `scale`: the direction of the embedding does not change."""
    def __init__(self, scale: float = 1.0):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.tensor(scale, dtype=torch.float64), requires_grad=False)
    def encode_images(self, images):
        rows = [list(im.resize((2, 2)).tobytes())[:3] for im in images]
        return torch.tensor(rows, dtype=torch.float64) * self.scale + 1
    def encode_texts(self, texts):
        rows = [[t.count("a") + 1.0, t.count("o") + 1.0, len(t)] for t in texts]
        return torch.tensor(rows, dtype=torch.float64) * self.scale

class Constant(Scaled):
    def encode_images(self, images):
        return torch.ones(len(images), 3)
    def encode_texts(self, texts):
        return torch.ones(len(texts), 3)
'''


def _eval(tmp_path, dataset, cls, *extra):
    (tmp_path / "models.py").write_text(textwrap.dedent(MODELS))
    out = tmp_path / f"{cls}-{len(extra)}.json"
    proc = run_console("odbench-eval", "--model", f"{tmp_path / 'models.py'}:{cls}", "--dataset", dataset,
                       "--output", out, "--no-cache", *extra)
    assert proc.returncode == 0, proc.stderr
    return proc, json.loads(out.read_text())


def test_a_model_with_huge_embeddings_gets_the_result_of_the_same_model_scaled_down(dataset, tmp_path):
    _, plain = _eval(tmp_path, dataset, "Scaled")
    _, huge = _eval(tmp_path, dataset, "Scaled", "--model-arg", "scale=1e200")
    assert huge["rankings"] == plain["rankings"] and huge["metrics"] == plain["metrics"]
    assert "tied_queries" not in huge["run"] and "tied_queries" not in plain["run"]    # none tie


def test_constant_embeddings_are_a_warning_and_a_flag(dataset, tmp_path):
    proc, doc = _eval(tmp_path, dataset, "Constant")
    total = sum(len(lists) for lists in doc["rankings"].values())
    assert doc["run"]["tied_queries"] == total
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning: ")]
    assert warnings == [f"warning: {total} of {total} queries rank a list whose scores all tie (constant or "
                        f"zero embeddings?): those lists are in gallery order, not the model's; "
                        f"run.tied_queries records it"]
