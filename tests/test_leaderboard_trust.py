"""The leaderboard against a hostile submitter: stolen results, forged identity, injected
markup, symbolic links, duplicate keys. Every case is a tampered copy built here."""
from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from odbench.cli.main import main as odbench
from odbench.evaluate import build_encoder, evaluate
from odbench.leaderboard.checks import find_submissions, reproduction_check, verify_all
from odbench.leaderboard.datasets import DatasetRegistry
from odbench.leaderboard.markdown import render
from odbench.queries import build_query_sets
from odbench.reproduce import CI_MAX_PARAMETERS, ci_status
from odbench.results import dump
from odbench.run_config import RunConfig

from console import run_console
from fake_results import make_submission
from tiny_dataset import KEY, NAME


@pytest.fixture(scope="module")
def registry(dataset) -> DatasetRegistry:
    return DatasetRegistry({KEY: (str(dataset), None)})


@pytest.fixture(scope="module")
def original(loaded_tiny) -> dict:
    return make_submission(loaded_tiny, seed=1, spec="my_encoder.py:MyEncoder", weights_hash="ab" * 32,
                           untrained=False)


def verify(docs: dict[str, dict | str], folder: Path, registry: DatasetRegistry, **kwargs):
    folder.mkdir(parents=True, exist_ok=True)
    for name, doc in docs.items():
        (folder / name).write_text(dump(doc) if isinstance(doc, dict) else doc, encoding="utf-8")
    return verify_all(find_submissions(folder), registry, **kwargs)


def rendered_html(markdown: str) -> str:
    """leaderboard.md as GitHub would show it: CommonMark with tables and raw HTML allowed."""
    return MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown)


# ---------------------------------------------------------------- identity

def _relabel(doc):        # the example: another model's name and size
    doc["model"].update(spec="open_clip:ViT-L-14/openai", name="open_clip:ViT-L-14/openai",
                        num_parameters=427_616_513)


def _noop_arg(doc):
    doc["model"]["args"]["unused"] = "1"


def _no_weights_hash(doc):
    doc["model"]["weights_hash"] = None


@pytest.mark.parametrize("steal", [_relabel, _noop_arg, _no_weights_hash])
def test_a_copied_result_under_another_identity_is_rejected(original, registry, tmp_path, steal):
    copied = copy.deepcopy(original)
    steal(copied)
    outcome = verify({"a.json": original, "b.json": copied}, tmp_path, registry)
    assert [e.path.name for e in outcome.accepted] == ["a.json"]
    [rejected] = outcome.rejected
    assert rejected.reason == "duplicate-rankings"
    assert rejected.detail.startswith(f"same rankings (sha256 {original['rankings_sha256'][:12]}...) on {KEY} "
                                      f"as the earlier {tmp_path / 'a.json'}")


def test_leaderboard_submissions_rank_the_top_10(original, registry, tmp_path):
    doc = copy.deepcopy(original)
    doc["run"]["k"] = 12            # the tiny galleries are shorter than 10: same lists, other K
    [rejected] = verify({"k12.json": doc}, tmp_path, registry).rejected
    assert (rejected.reason, rejected.detail) == ("wrong-length", "run.k is 12; the leaderboard takes the top 10 "
                                                                  "of every query (odbench-eval --k 10)")


def test_duplicate_keys_are_rejected(original, registry, tmp_path):
    fake = json.dumps({**original["metrics"], "odmap@10": 0.99})
    text = dump(original).replace('"metrics": {', f'"metrics": {fake}, "metrics": {{', 1)
    [rejected] = verify({"dup.json": text}, tmp_path, registry).rejected
    assert (rejected.reason, rejected.detail) == ("schema", "duplicate key 'metrics' in one object")


@pytest.mark.parametrize("path, value, detail", [
    (("run", "date"), "yesterday-ish", "schema violation at /run/date: is not a valid date-time"),
    (("metrics", "odmap@10"), float("nan"), "NaN is not a JSON number (metrics must be finite)"),
])
def test_schema_holes_are_closed(original, registry, tmp_path, path, value, detail):
    doc = copy.deepcopy(original)
    doc[path[0]][path[1]] = value
    [rejected] = verify({"bad.json": json.dumps(doc)}, tmp_path, registry).rejected
    assert rejected.reason == "schema" and rejected.detail.startswith(detail)


# ---------------------------------------------------------------- links and markup

@pytest.fixture
def repo(tmp_path, monkeypatch, dataset) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "submissions" / NAME).mkdir(parents=True)
    (tmp_path / "submissions" / "datasets.json").write_text(json.dumps({KEY: str(dataset)}))
    return tmp_path


def test_symlinks_are_rejected_by_name_and_never_read(repo, original, capsys):
    outside = repo / "private"
    outside.mkdir()
    (outside / "secret.json").write_text('{"password": "hunter2"}')
    folder = repo / "submissions" / NAME
    (folder / "link.json").symlink_to(outside / "secret.json")
    (folder / "linked-folder").symlink_to(outside, target_is_directory=True)
    (folder / "real.json").write_text(dump(original))
    assert odbench(["leaderboard"]) == 0
    err = capsys.readouterr().err
    text = (repo / "leaderboard.md").read_text()
    for name in ("link.json", "linked-folder"):
        line = f"submissions/{NAME}/{name}: rejected (symlink): is a symbolic link; submissions must be regular files"
        assert line in err
        assert f"[submissions/{NAME}/{name}](submissions/{NAME}/{name}) **symlink**" in text
    for secret in ("hunter2", "password", "private", str(outside)):
        assert secret not in err and secret not in text
    assert "[real.json](submissions/odbench-tiny/real.json)" in text


def test_a_symlinked_datasets_file_is_refused(repo, capsys):
    listing = repo / "submissions" / "datasets.json"
    (repo / "elsewhere.json").write_text(listing.read_text())
    listing.unlink()
    listing.symlink_to(repo / "elsewhere.json")
    assert odbench(["leaderboard"]) == 2
    assert capsys.readouterr().err == ("error: submissions/datasets.json is a symbolic link; it must be a "
                                       "regular file (links are not followed)\n")


def test_no_submitted_text_becomes_markup(repo, loaded_tiny, capsys):
    folder = repo / "submissions" / NAME
    evil_spec = "evil`|<img src=x onerror=alert(1)>](https://evil.example) ## h"
    doc = make_submission(loaded_tiny, seed=2, spec=evil_spec, untrained=False)
    doc["model"]["args"] = {"note": "<script>alert(1)</script> [x](https://evil.example) | $x$"}
    (folder / "x](https:__evil.example)[y.json").write_text(dump(doc))
    (folder / "evil\n## heading <b>.json").write_text("{not json")         # a rejected file
    assert odbench(["leaderboard"]) == 0
    text = (repo / "leaderboard.md").read_text()
    html = rendered_html(text)
    assert "<img" not in html and "<script" not in html and "<b>" not in html
    assert re.findall(r"<h2>(.*?)</h2>", html) == [f"{NAME} v0.0.1", "Rejected submissions"]
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert hrefs and all(h.startswith(f"submissions/{NAME}/") for h in hrefs), hrefs
    assert f"<code>{evil_spec.replace('<', '&lt;').replace('>', '&gt;')}</code>" in html   # shown verbatim
    assert "x](https:__evil.example)[y.json</a>" in html                                  # the name, as text
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "evil\\n## heading <b>.json: rejected (schema)" in err


def test_leaderboard_md_honours_the_umask(repo, original):
    (repo / "submissions" / NAME / "a.json").write_text(dump(original))
    old = os.umask(0o022)
    try:
        assert odbench(["leaderboard"]) == 0
    finally:
        os.umask(old)
    assert (repo / "leaderboard.md").stat().st_mode & 0o777 == 0o644


# ---------------------------------------------------------------- reproduction

def evaluated(benchmark, spec: str, args: dict | None = None) -> dict:
    """A result file's content exactly as odbench-eval writes it (CPU, seed 0, K 10)."""
    loaded = build_encoder(spec, args or {}, seed=0)
    queries = build_query_sets(benchmark)
    return evaluate(loaded, benchmark, queries, RunConfig(batch_size=4), dataset_source=NAME).to_json()


@pytest.fixture(scope="module")
def honest(loaded_tiny) -> dict[str, dict]:
    return {"mock.json": evaluated(loaded_tiny, "mock:random"),
            "baseline.json": evaluated(loaded_tiny, "odbench:baseline"),
            "tiny-clip.json": evaluated(loaded_tiny, "open_clip:odbench-tiny", {"seed": "3"})}


def reproduce_all(docs, folder, registry, limit=CI_MAX_PARAMETERS):
    heard = {}
    outcome = verify(docs, folder, registry,
                     reproducer=reproduction_check(limit, lambda shown, status: heard.update({Path(shown).name: status})))
    return outcome, heard


def test_rebuildable_models_are_re_run_and_reproduced(honest, registry, tmp_path):
    outcome, heard = reproduce_all(honest, tmp_path, registry)
    assert outcome.rejected == [] and len(outcome.accepted) == 3
    assert all(status.startswith("reproduced (rankings sha256 ") for status in heard.values()), heard
    assert {ci_status(e.doc.model) for e in outcome.accepted} == {"yes"}


def test_a_result_relabelled_as_another_reference_model_is_not_reproduced(honest, registry, tmp_path):
    stolen = copy.deepcopy(honest["baseline.json"])
    mitigated = build_encoder("odbench:mitigated", {}, seed=0)
    stolen["model"].update(spec="odbench:mitigated", name="odbench:mitigated", weights_hash=mitigated.weights_hash)
    [rejected] = reproduce_all({"stolen.json": stolen}, tmp_path, registry)[0].rejected
    assert rejected.reason == "not-reproduced"
    assert rejected.detail.startswith("re-running odbench:mitigated gives rankings sha256 ")
    assert rejected.detail.endswith(f", the file has {stolen['rankings_sha256'][:12]}...")


def test_a_wrong_identity_is_caught_before_the_model_runs(honest, registry, tmp_path):
    doc = copy.deepcopy(honest["tiny-clip.json"])
    doc["model"]["num_parameters"] = 5
    [rejected] = reproduce_all({"m.json": doc}, tmp_path, registry)[0].rejected
    assert rejected.reason == "not-reproduced"
    assert rejected.detail == (f"the rebuilt open_clip:odbench-tiny has num_parameters "
                               f"{honest['tiny-clip.json']['model']['num_parameters']}, the file says 5")


def test_made_up_rankings_under_a_rebuildable_name_are_not_reproduced(honest, loaded_tiny, registry, tmp_path):
    forged = make_submission(loaded_tiny, seed=5, spec="mock:random")
    forged["model"] = copy.deepcopy(honest["mock.json"]["model"])     # the identity is right
    [rejected] = reproduce_all({"forged.json": forged}, tmp_path, registry)[0].rejected
    assert rejected.reason == "not-reproduced" and "re-running mock:random gives rankings sha256" in rejected.detail


def test_what_is_not_re_run_is_said_and_marked(original, loaded_tiny, registry, tmp_path):
    large = make_submission(loaded_tiny, seed=6, spec="open_clip:ViT-B-32", num_parameters=151_277_313)
    outcome, heard = reproduce_all({"user.json": original, "large.json": large}, tmp_path, registry)
    assert outcome.rejected == []
    assert heard == {"large.json": "not re-run: 151.3M parameters, over the limit of 20.0M (--max-params)",
                     "user.json": "not re-run: the model is code from outside odbench"}
    table = render(outcome, tmp_path)
    assert "| `open_clip:ViT-B-32` (seed=6) (untrained) | 151.3M | skipped |" in table
    assert "| `my_encoder.py:MyEncoder` (seed=1) | 1.2M | no |" in table


@pytest.mark.parametrize("spec, args, why", [
    ("odbench:/tmp/weights.safetensors", {}, "only the packaged reference weights"),
    ("open_clip:ViT-B-32/openai", {}, "pretrained weights that are not in the repository"),
    ("open_clip:odbench-tiny", {"pretrained": "/tmp/x.pt"}, "the file has 'pretrained'"),
    ("mock:random", {"dim": "8"}, "the file has 'dim'"),
    ("hf:openai/clip-vit-base-patch32", {}, "Hugging Face weights that are not in the repository"),
])
def test_only_built_in_models_with_their_own_weights_are_rebuilt(spec, args, why):
    from odbench.reproduce import why_not_rebuildable

    assert why in why_not_rebuildable(spec, args)


def test_cli_reproduce_in_a_fresh_process(honest, loaded_tiny, repo):
    folder = repo / "submissions" / NAME
    for name, doc in honest.items():
        (folder / name).write_text(dump(doc))
    assert run_console("odbench", "leaderboard", cwd=repo).returncode == 0
    proc = run_console("odbench", "leaderboard", "--check", "--reproduce", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    assert "check passed: 3 accepted, 0 rejected, 3 re-run and reproduced" in proc.stdout
    forged = make_submission(loaded_tiny, seed=5, spec="mock:random")
    forged["model"] = copy.deepcopy(honest["mock.json"]["model"])
    (folder / "mock.json").write_text(dump(forged))
    proc = run_console("odbench", "leaderboard", "--check", "--reproduce", cwd=repo)
    assert proc.returncode == 1
    assert f"submissions/{NAME}/mock.json: rejected (not-reproduced): re-running mock:random" in proc.stderr
