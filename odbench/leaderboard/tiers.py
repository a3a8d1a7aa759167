"""What a leaderboard row proves, by what can be re-run (CONTRIBUTING.md, "Verification tiers"):

- **verified**: the repository rebuilds the model by itself and CI re-runs it on every change
  (`--reproduce`): its rankings and identity are reproduced, bit for bit;
- **reproducible**: public weights at a fixed revision whose hash the file records
  (`hf:ORG/NAME@COMMIT`, `open_clip:ARCH/TAG`), or a rebuildable model over CI's size limit: a
  maintainer's `odbench leaderboard --reproduce --allow-download [--max-params N]` re-runs it;
- **self-reported**: anything else (the submitter's own code or weights): the metrics follow
  from the rankings, but nobody can tell whether a model produced them. Listed apart, unranked.

A self-reported result that ranks like the label oracle (SPEC 8), or scores at its ceiling,
is refused: such a claim needs a model others can run. A run dated in the future is refused
whatever the tier (odbench-eval writes the date; a later one was written by hand).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from .. import reproduce
from ..benchmark import Benchmark
from ..metrics import MetricReport
from ..queries import QuerySets
from ..rankings import Rankings
from ..results import ModelInfo, ResultDocument
from .near_duplicates import LIST_LENGTH, NEAR_DUPLICATE_SHARE, same_list_share
from .rejection import Rejection

VERIFIED, REPRODUCIBLE, SELF_REPORTED = "verified", "reproducible", "self-reported"
TIERS = (VERIFIED, REPRODUCIBLE, SELF_REPORTED)

# The label oracle's odmap@10 on an exhaustive dataset (SPEC 8's ceiling gate): no honest
# model of today comes near it (the reference models: 0.12-0.19).
ORACLE_CEILING = 0.99
# A run's date may be this far past the checking machine's clock (clocks drift).
CLOCK_SKEW = dt.timedelta(minutes=10)
ASK = ("submit a reproducible model (hf:ORG/NAME@COMMIT or open_clip:ARCH/TAG, whose weights anyone can "
       "load) or one the repository can rebuild, so that the leaderboard can re-run it")


def tier(model: ModelInfo) -> str:
    """The tier a row's model puts it in (depends on the file alone, so leaderboard.md is the
    same with and without --reproduce; CI's --reproduce makes 'verified' true)."""
    if reproduce.ci_status(model) == "yes":
        return VERIFIED
    if model.weights_hash is not None and reproduce.why_not_rebuildable(
            model.spec, model.args, allow_download=True) is None:
        return REPRODUCIBLE
    return SELF_REPORTED


def check_date(doc: ResultDocument, now: dt.datetime | None = None) -> None:
    """Raise Rejection `future-date` when run.date is after `now` (UTC, default: the clock)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    date = dt.datetime.fromisoformat(doc.run.date.replace("Z", "+00:00"))
    if date.tzinfo is None:       # the schema's date-time has an offset; be safe anyway
        date = date.replace(tzinfo=dt.timezone.utc)
    if date > now + CLOCK_SKEW:
        raise Rejection("future-date", f"run.date {doc.run.date} is later than now "
                        f"({now.isoformat(timespec='seconds')}): odbench-eval writes the date of the run")


OracleRankings = Callable[[Benchmark, QuerySets], Rankings]


def check_self_reported(doc: ResultDocument, report: MetricReport, benchmark: Benchmark, queries: QuerySets,
                        oracle: OracleRankings) -> None:
    """Raise Rejection `oracle-like` when a self-reported result scores at the oracle's ceiling
    or ranks like the label oracle (`oracle(benchmark, queries)`: its rankings)."""
    if tier(doc.model) != SELF_REPORTED:
        return
    why = reproduce.why_not_rebuildable(doc.model.spec, doc.model.args, allow_download=True)
    odmap = report.metrics.get("odmap@10")
    if odmap is not None and odmap >= ORACLE_CEILING:
        raise Rejection("oracle-like", f"odmap@10 {odmap:.4f} is at the label oracle's ceiling (>= {ORACLE_CEILING}) "
                        f"and the result is self-reported ({why}): {ASK}")
    share = same_list_share(doc.rankings, oracle(benchmark, queries))
    if share >= NEAR_DUPLICATE_SHARE:
        raise Rejection("oracle-like", f"{share:.1%} of its top-{LIST_LENGTH} lists hold the same items as the "
                        f"label oracle's (SPEC 8) and the result is self-reported ({why}): {ASK}")


class OracleMemo:
    """`oracle` for `check_self_reported`: the label oracle's rankings (noise seed 0, CPU),
    computed once per dataset."""

    def __init__(self) -> None:
        self._by_hash: dict[str, Rankings] = {}

    def __call__(self, benchmark: Benchmark, queries: QuerySets) -> Rankings:
        from ..validity import oracle_rankings

        if benchmark.dataset_hash not in self._by_hash:
            self._by_hash[benchmark.dataset_hash] = oracle_rankings(benchmark, queries)
        return self._by_hash[benchmark.dataset_hash]


_ORACLES = OracleMemo()


def check_trust(doc: ResultDocument, report: MetricReport, benchmark: Benchmark, queries: QuerySets, *,
                earlier: list[tuple[str, ResultDocument]], now: dt.datetime | None = None) -> None:
    """The checks of issue #20 on a document whose metrics were recomputed: no future date, no
    self-reported oracle, no near-duplicate of an `earlier` accepted result (shown name and
    document, in precedence order) on the same dataset version."""
    from .near_duplicates import check_not_near_duplicate

    check_date(doc, now)
    check_self_reported(doc, report, benchmark, queries, _ORACLES)
    b = doc.benchmark
    same = [(name, other.rankings) for name, other in earlier
            if (other.benchmark.name, other.benchmark.version) == (b.name, b.version)]
    check_not_near_duplicate(doc.rankings, f"{b.name}@{b.version}", same)
