"""Why a submission is rejected: one reason per file, named in messages and leaderboard.md."""
from __future__ import annotations

# Every way a submission can fail, in the order the checks run. The keys appear in messages,
# in leaderboard.md and in CONTRIBUTING.md; keep the three in step.
REASONS: dict[str, str] = {
    "symlink": "the path is a symbolic link (never followed)",
    "schema": "not strict JSON, too large, or violates odbench/result.schema.json",
    "rankings-hash": "rankings_sha256 is not the SHA-256 of the canonical rankings",
    "split": "the document was scored on the validation split; the leaderboard ranks test results only",
    "unknown-dataset": "no known dataset has the document's benchmark name and version",
    "dataset-unavailable": "the registered dataset could not be loaded, or is not what it was registered as",
    "dataset-hash": "benchmark.dataset_hash, spec_version or caption_style differs from the known dataset's",
    "missing-queries": "a ranking lacks queries of the dataset",
    "extra-queries": "a ranking has queries the dataset does not have",
    "wrong-length": "run.k is not 10, or a ranked list does not have min(10, gallery size) ids",
    "duplicate-id": "a ranked list names the same gallery id twice",
    "unknown-id": "a ranked list names an id that is not in the direction's gallery",
    "metric-mismatch": "a reported metric differs from the recomputed one by more than 1e-6",
    "interval-mismatch": "a reported interval (SPEC 9) differs from the recomputed one by more than 1e-6",
    "duplicate-submission": "an earlier accepted file (earlier in git history, then by path) has the same model spec, args, weights_hash and dataset version",
    "duplicate-rankings": "an earlier accepted file (earlier in git history, then by path) has the same rankings hash on the same dataset version",
    "near-duplicate": "most top-10 lists hold the same items as those of an earlier accepted file on the same dataset version",
    "oracle-like": "a self-reported result ranks like the label oracle (SPEC 8) or at its ceiling; only a reproducible model may",
    "future-date": "run.date is later than the time of the check",
    "not-reproduced": "re-running the model from its spec gives other rankings or another model identity",
}


class Rejection(Exception):
    """Raised inside the checks; `reason` is a key of REASONS."""

    def __init__(self, reason: str, detail: str) -> None:
        assert reason in REASONS, reason
        super().__init__(detail)
        self.reason, self.detail = reason, detail
