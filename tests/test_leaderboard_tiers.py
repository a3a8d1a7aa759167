"""Trust, round two (issue #20): near-duplicate rankings, what each verification tier proves,
self-reported results at the oracle's ceiling, dates in the future."""
from __future__ import annotations

import copy
import datetime as dt

import pytest

from odbench.intervals import compute_intervals
from odbench.leaderboard.checks import find_submissions, verify_all
from odbench.leaderboard.datasets import DatasetRegistry
from odbench.leaderboard.near_duplicates import same_list_share
from odbench.leaderboard.tiers import REPRODUCIBLE, SELF_REPORTED, VERIFIED, tier
from odbench.metrics import compute_metrics
from odbench.queries import build_query_sets
from odbench.rankings import rankings_hash
from odbench.results import ModelInfo, dump
from odbench.validity import oracle_rankings

from fake_results import make_submission
from tiny_dataset import KEY


@pytest.fixture(scope="module")
def registry(dataset) -> DatasetRegistry:
    return DatasetRegistry({KEY: (str(dataset), None)})


@pytest.fixture(scope="module")
def queries(loaded_tiny):
    return build_query_sets(loaded_tiny)


def self_reported(benchmark, seed=1, spec="my_encoder.py:MyEncoder") -> dict:
    return make_submission(benchmark, seed=seed, spec=spec, weights_hash="ab" * 32, untrained=False)


def with_rankings(doc: dict, benchmark, queries, rankings: dict, **model) -> dict:
    """`doc` with other rankings, every metric, interval and the hash recomputed with odbench's own code."""
    out = copy.deepcopy(doc)
    out.update(compute_metrics(benchmark, queries, rankings).as_dict(), rankings=rankings,
               rankings_sha256=rankings_hash(rankings),
               intervals=compute_intervals(benchmark, queries, rankings).as_dict())
    out["model"].update(model)
    return out


def verify(docs: dict[str, dict], folder, registry):
    folder.mkdir(parents=True, exist_ok=True)
    for name, doc in docs.items():
        (folder / name).write_text(dump(doc))
    return verify_all(find_submissions(folder), registry)


def test_two_ranks_swapped_and_recomputed_is_a_near_duplicate(loaded_tiny, queries, registry, tmp_path):
    original = self_reported(loaded_tiny)
    rankings = copy.deepcopy(original["rankings"])
    query = next(iter(rankings["i2t"]))
    rankings["i2t"][query][:2] = rankings["i2t"][query][1::-1]
    copied = with_rankings(original, loaded_tiny, queries, rankings, spec="their_encoder.py:TheirEncoder")
    assert copied["rankings_sha256"] != original["rankings_sha256"]
    outcome = verify({"a.json": original, "b.json": copied}, tmp_path, registry)
    assert [e.path.name for e in outcome.accepted] == ["a.json"]
    [rejected] = outcome.rejected
    assert rejected.reason == "near-duplicate"
    total = sum(len(lists) for lists in rankings.values())
    assert rejected.detail.startswith(f"{(total - 1) / total:.1%} of its top-10 lists hold the same items as those "
                                      f"of the earlier {tmp_path / 'a.json'} on {KEY} (honest models share at most ")


def test_honest_models_are_not_near_duplicates(loaded_tiny, registry, tmp_path):
    outcome = verify({"a.json": self_reported(loaded_tiny, 1), "b.json": self_reported(loaded_tiny, 2,
                                                                                          spec="other.py:Other")},
                     tmp_path, registry)
    assert len(outcome.accepted) == 2 and outcome.rejected == []


def test_the_share_compares_sets_where_the_gallery_is_larger_than_a_list():
    a = {"i2t": {"q1": list("abcdefghij"), "q2": list("klmnopqrst")}}
    b = {"i2t": {"q1": list("jihgfedcba"), "q2": list("klmnopqrsz")}}
    assert same_list_share(a, b) == 0.5                 # q1: same items, another order
    small = {"i2t": {"q1": ["a", "b"], "q2": ["b", "a"]}}
    assert same_list_share(small, {"i2t": {"q1": ["b", "a"], "q2": ["b", "a"]}}) == 0.5


def test_label_oracle_rankings_under_a_self_reported_model_are_refused(loaded_tiny, queries, registry, tmp_path):
    oracle = with_rankings(self_reported(loaded_tiny), loaded_tiny, queries,
                           oracle_rankings(loaded_tiny, queries), spec="superclip.py:SuperCLIP")
    outcome = verify({"superclip.json": oracle}, tmp_path, registry)
    [rejected] = outcome.rejected
    assert rejected.reason == "oracle-like"
    assert rejected.detail.endswith("and the result is self-reported (the model is code from outside odbench): "
                                    "submit a reproducible model (hf:ORG/NAME@COMMIT or open_clip:ARCH/TAG, whose "
                                    "weights anyone can load) or one the repository can rebuild, so that the "
                                    "leaderboard can re-run it")
    assert rejected.detail.startswith(("odmap@10 1.0000 is at the label oracle's ceiling (>= 0.99)",
                                       "100.0% of its top-10 lists hold the same items as the label oracle's"))


def test_oracle_like_rankings_below_the_ceiling_are_refused_too(loaded_tiny, queries, registry, tmp_path):
    # the oracle's lists in every direction but one, which keeps an honest model's: below the
    # ceiling, and still mostly the oracle's
    honest = self_reported(loaded_tiny)
    mixed = copy.deepcopy(oracle_rankings(loaded_tiny, queries))
    mixed["t2i"] = honest["rankings"]["t2i"]
    doc = with_rankings(honest, loaded_tiny, queries, mixed, spec="superclip.py:SuperCLIP")
    share = same_list_share(mixed, oracle_rankings(loaded_tiny, queries))
    assert doc["metrics"]["odmap@10"] < 0.99 and share >= 0.5      # below the ceiling, mostly the oracle
    [rejected] = verify({"mixed.json": doc}, tmp_path, registry).rejected
    assert rejected.reason == "oracle-like"
    assert rejected.detail.startswith(f"{share:.1%} of its top-10 lists hold the same items as the label oracle's")


def test_a_date_in_the_future_is_refused(loaded_tiny, registry, tmp_path):
    doc = self_reported(loaded_tiny)
    doc["run"]["date"] = "2099-01-01T00:00:00+00:00"
    [rejected] = verify({"future.json": doc}, tmp_path, registry).rejected
    assert rejected.reason == "future-date"
    assert rejected.detail.startswith("run.date 2099-01-01T00:00:00+00:00 is later than now (")
    assert rejected.detail.endswith("): odbench-eval writes the date of the run")
    doc["run"]["date"] = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)).isoformat(timespec="seconds")
    assert verify({"future.json": doc}, tmp_path / "yesterday", registry).rejected == []


def _model(spec: str, *, params: int | None = 3_000_000, weights: str | None = "ab" * 32, **args) -> ModelInfo:
    return ModelInfo(spec=spec, args=args, name=spec, weights_hash=weights, num_parameters=params, untrained=False)


@pytest.mark.parametrize("model, expected", [
    (_model("odbench:baseline"), VERIFIED),
    (_model("mock:random", seed=3), VERIFIED),
    (_model("open_clip:ViT-B-32", params=151_277_313), REPRODUCIBLE),           # over CI's limit
    (_model("open_clip:ViT-B-32/laion2b_s34b_b79k", params=151_277_313), REPRODUCIBLE),
    (_model("hf:openai/clip-vit-base-patch32@" + "0" * 40, params=151_277_313), REPRODUCIBLE),
    (_model("hf:openai/clip-vit-base-patch32", params=151_277_313), SELF_REPORTED),   # a branch moves
    (_model("hf:./my-checkpoint"), SELF_REPORTED),
    (_model("open_clip:ViT-B-32/laion2b_s34b_b79k", weights=None), SELF_REPORTED),
    (_model("open_clip:ViT-B-32//home/me/ckpt.pt"), SELF_REPORTED),
    (_model("my_encoder.py:MyEncoder"), SELF_REPORTED),
])
def test_each_model_s_tier(model, expected):
    assert tier(model) == expected


def test_self_reported_rows_are_listed_apart_unranked(loaded_tiny, registry, tmp_path):
    from odbench.leaderboard.markdown import render

    verified = make_submission(loaded_tiny, seed=1)                       # mock:random: CI re-runs it
    claimed = self_reported(loaded_tiny, seed=2)
    claimed["model"]["num_parameters"] = 1                                # nobody can check it
    outcome = verify({"mock.json": verified, "mine.json": claimed}, tmp_path / "subs", registry)
    assert outcome.rejected == []
    text = render(outcome, tmp_path)
    ranked, unranked = text.split("### Self-reported on odbench-tiny v0.0.1 (unranked)")
    assert "| 1 | 1-1 | `mock:random` (seed=1) (untrained) | 1.2M | yes | verified |" in ranked
    assert "mine.json" not in ranked
    [row] = [line for line in unranked.splitlines() if "mine.json" in line]
    assert row.startswith("| `my_encoder.py:MyEncoder` (seed=2) | 1 | no | self-reported | ")


def test_the_page_names_files_relative_to_the_submissions_folder(loaded_tiny, registry, tmp_path):
    from odbench.leaderboard.html import write_page

    subs = (tmp_path / "subs").absolute()
    outcome = verify({"ok.json": make_submission(loaded_tiny, seed=1), "bad.json": {"not": "a result"}}, subs,
                     registry)
    page = write_page(outcome, tmp_path / "site", subs).read_text()
    assert "<code>subs/bad.json</code> <b>schema</b>" in page
    assert str(tmp_path) not in page
