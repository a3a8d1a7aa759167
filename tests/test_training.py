"""Training and finetuning (odbench_train, `odbench train-reference`, `odbench finetune`)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from odbench.cli.main import main
from odbench_train.data import batch_indices, hf_pairs, plan_mix


def test_mixing_ratio_is_respected_in_every_batch():
    plan = plan_mix([100, 40], batch_size=10, mix=0.3)
    assert plan.per_batch == (7, 3)
    assert plan.steps_per_epoch == 14  # one pass over the 40 synthetic rows
    seen = [[], []]
    for step in range(plan.steps_per_epoch * 2):
        orig, syn = batch_indices(plan, seed=1, step=step)
        assert len(orig) == 7 and len(syn) == 3
        seen[0] += orig.tolist()
        seen[1] += syn.tolist()
    # Every synthetic row once per pass: the first 40 draws are a permutation.
    assert sorted(seen[1][:40]) == list(range(40))
    assert plan_mix([100], batch_size=10, mix=0.0).per_batch == (10,)
    assert plan_mix([100, 40], 10, 0.0, steps_per_epoch=5).steps_per_epoch == 5
    assert np.array_equal(batch_indices(plan, 3, 7)[0], batch_indices(plan, 3, 7)[0])


def _train(pictoworld: Path, out: Path, *extra: str) -> int:
    return main(["train-reference", "--pictoworld", str(pictoworld), "--output", str(out), "--batch-size", "8",
                 "--epochs", "1", "--limit", "32", "--warmup", "1", "--seed", "3", "--checkpoint-every", "2",
                 "--threads", "1", *extra])


def _weights(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(path))


def test_train_reference_writes_checkpoint_and_resume_is_exact(pictoworld, tmp_path):
    full, split = tmp_path / "full", tmp_path / "split"
    assert _train(pictoworld, full) == 0
    steps = [json.loads(line) for line in (full / "loss.jsonl").read_text().splitlines()]
    assert [s["step"] for s in steps] == [1, 2, 3, 4]
    assert all(np.isfinite(s["loss"]) for s in steps)
    assert (full / "checkpoint.pt").is_file() and (full / "model.safetensors").is_file()
    # Interrupted after 2 steps (no weights yet), then resumed: same steps, same weights.
    assert _train(pictoworld, split, "--max-steps", "2") == 0
    assert not (split / "model.safetensors").exists()
    assert torch.load(split / "checkpoint.pt", weights_only=False)["step"] == 2
    assert _train(pictoworld, split, "--resume") == 0
    resumed = [json.loads(line) for line in (split / "loss.jsonl").read_text().splitlines()]
    assert [s["loss"] for s in resumed] == [s["loss"] for s in steps]
    a, b = _weights(full / "model.safetensors"), _weights(split / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert all(v.dtype in (torch.float16, torch.int64) for v in a.values())  # the packaged format


def test_existing_run_needs_resume(pictoworld, tmp_path, capsys):
    assert _train(pictoworld, tmp_path / "r", "--max-steps", "1") == 0
    capsys.readouterr()
    assert _train(pictoworld, tmp_path / "r") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "--resume" in err and "\n" not in err


def test_synthetic_rows_can_be_chosen_by_kind(synthetic):
    # The share of paste rows is a knob of the mitigation: all, remove rows only, paste rows only.
    assert len(hf_pairs(synthetic, kinds=["paste"])) == 4
    assert len(hf_pairs(synthetic, kinds=["remove"])) == 12
    assert len(hf_pairs(synthetic, kinds=["remove", "paste"])) == 16


def test_finetune_mixes_synthetic_pairs(pictoworld, synthetic, tmp_path, capsys):
    assert len(hf_pairs(synthetic)) == 16
    out = tmp_path / "ft"
    code = main(["finetune", "--model", "odbench:baseline", "--original", str(pictoworld), "--synthetic",
                 str(synthetic), "--mix", "0.25", "--batch-size", "8", "--epochs", "1", "--output", str(out),
                 "--threads", "1", "--max-steps", "2"])
    assert code == 0, capsys.readouterr().err
    config = json.loads((out / "config.json").read_text())
    assert config["plan"]["per_batch"] == [6, 2] and config["plan"]["steps_per_epoch"] == 8
    assert len((out / "loss.jsonl").read_text().splitlines()) == 2


@pytest.mark.parametrize("args, needle", [
    (["--mix", "0.5"], "--synthetic"),
    (["--mix", "1.5", "--synthetic", "x"], "--mix"),
    (["--original", "/nonexistent/pw"], "not found"),
    (["--model", "open_clip:ViT-B-99"], "ViT-B-99"),
    (["--model", "odbench:/nonexistent.safetensors"], "odbench:"),
    (["--model", "mock:random", "--mix", "0"], "open_clip"),
    (["--batch-size", "1", "--mix", "0"], "--batch-size"),
])
def test_finetune_errors_are_one_line(pictoworld, tmp_path, capsys, args, needle):
    base = {"--model": "odbench:baseline", "--original": str(pictoworld), "--output": str(tmp_path / "o"),
            "--mix": "0"}
    for key, value in zip(args[::2], args[1::2], strict=True):
        base[key] = value
    argv = ["finetune"] + [x for kv in base.items() for x in kv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and needle in err and "\n" not in err, err


def test_reference_models_load_and_encode():
    from odbench.encoders import load_encoder

    for name in ("odbench:baseline", "odbench:mitigated"):
        loaded = load_encoder(name)
        assert loaded.name == name and not loaded.untrained and loaded.weights_hash
        from PIL import Image

        image = loaded.encoder.preprocess(Image.new("RGB", (128, 128), "white"))
        img = loaded.encoder.encode_images(image[None])
        txt = loaded.encoder.encode_texts(["a dog and a frisbee in a park."])
        assert img.shape == txt.shape == (1, 64)
    assert load_encoder("odbench:baseline").weights_hash != load_encoder("odbench:mitigated").weights_hash


def test_missing_reference_weights_is_a_clear_error(monkeypatch, tmp_path):
    import odbench.reference as ref
    from odbench.encoders import load_encoder
    from odbench.errors import EncoderError

    monkeypatch.setattr(ref, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(EncoderError, match="packaged weights .* are missing"):
        load_encoder("odbench:baseline")


def test_the_weights_file_follows_the_umask(tmp_path):
    import os

    import torch

    from odbench_train.loop import save_weights

    old = os.umask(0o022)
    try:
        path = save_weights(torch.nn.Linear(2, 2), tmp_path / "model.safetensors")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644        # safetensors' own save_file makes it 0600
    from safetensors.torch import load_file
    assert set(load_file(path)) == {"weight", "bias"}
