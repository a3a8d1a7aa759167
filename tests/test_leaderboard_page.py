"""`odbench leaderboard --html DIR`, looked at in a real browser: Debian's Chromium, driven by
Playwright (no browser download). Skipped where either is missing, unless
ODBENCH_REQUIRE_BROWSER=1 (set by .ci/run, which installs Chromium): then a missing browser fails."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from odbench import reproduce
from odbench.cli.main import main as odbench
from odbench.data import load_benchmark
from odbench.leaderboard.checks import find_submissions, verify_all
from odbench.leaderboard.datasets import DatasetRegistry
from odbench.leaderboard.html import write_page
from odbench.leaderboard.markdown import odmap_with_interval, ranked_sections, ranks
from odbench.results import dump

from fake_results import make_submission
from tiny_dataset import KEY, NAME, write_tiny_dataset

SUBMISSIONS = Path(__file__).resolve().parents[1] / "submissions"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def _chromium() -> str | None:
    return os.environ.get("ODBENCH_CHROMIUM") or next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if executable is None or sync_playwright is None:
        missing = ("chromium (apt-get install chromium, or set ODBENCH_CHROMIUM to a Chromium binary)"
                   if executable is None else "playwright (pip install -e '.[test]')")
        if os.environ.get("ODBENCH_REQUIRE_BROWSER") == "1":
            pytest.fail(f"ODBENCH_REQUIRE_BROWSER=1 but no {missing}")
        pytest.skip(f"no {missing}")
    with sync_playwright() as p:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start
        instance = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield instance
        instance.close()


@pytest.fixture()
def open_page(browser):
    """Open a page from disk; every request it makes and every script error is recorded."""
    pages = []

    def open_(path: Path):
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.requests, page.errors = [], []
        page.on("request", lambda r: page.requests.append(r.url))
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.goto(path.as_uri())
        pages.append(page)
        return page

    yield open_
    for page in pages:
        page.close()


def column(page, section: str, name: str) -> list[str]:
    """The cell texts of one column of a section's table, top to bottom, as shown."""
    headers = page.locator(f"#{section} table.board th").all_inner_texts()
    index = [h.strip(" ▲▼") for h in headers].index(name) + 1
    return page.locator(f"#{section} table.board tbody tr td:nth-child({index})").all_inner_texts()


def test_the_committed_submissions_as_a_page(tmp_path, open_page):
    registry = DatasetRegistry.of_submissions(SUBMISSIONS)
    outcome = verify_all(find_submissions(SUBMISSIONS), registry)
    assert outcome.accepted, "submissions/ holds no accepted result to show"
    page = open_page(write_page(outcome, tmp_path / "site", SUBMISSIONS))

    sections = ranked_sections(outcome)
    assert page.locator("section").count() == len(sections)
    for i, (name, version, entries) in enumerate(sections):
        sid = f"section-{i}"
        assert page.locator(f"#{sid} h2").inner_text() == f"{name} v{version}"
        # every accepted submission is a row, in rank order, with its reproduced status
        assert column(page, sid, "result file") == [e.path.name for e in entries]
        assert column(page, sid, "reproduced") == [reproduce.ci_status(e.doc.model) for e in entries]
        for link, e in zip(page.locator(f"#{sid} tbody a").all(), entries, strict=True):
            copy = tmp_path / "site" / link.get_attribute("href")
            assert copy.read_bytes() == e.path.read_bytes()
        # the plots are drawn: one point per model, one bar chart per model with a bar per pair
        scatter = page.locator(f"#{sid} svg.scatter")
        assert scatter.locator("circle").count() == len(entries)
        assert scatter.bounding_box()["width"] > 300
        charts = page.locator(f"#{sid} svg.pair-bars")
        assert charts.count() == len(entries)
        bars = [e.report.per_pair[p]["odmap@10"] for e in entries for p in e.report.per_pair
                if e.report.per_pair[p]["odmap@10"] is not None]
        assert page.locator(f"#{sid} rect.bar").count() == len(bars)
        best = max(range(len(bars)), key=bars.__getitem__)
        assert page.locator(f"#{sid} rect.bar").nth(best).bounding_box()["width"] > 100
        # 95% intervals (SPEC 9): two error bars per point, one per pair bar; odmap@10 and the
        # rank interval in the table
        assert scatter.locator("line.error-bar").count() == 2 * len(entries)
        assert charts.locator("line.error-bar").count() == len(bars)
        assert column(page, sid, "rank interval") == [f"{b}-{w}" for b, w in ranks(entries)]
        assert column(page, sid, "odmap@10")[0] == odmap_with_interval(entries[0])

        # sorting: rsum ascending, then descending, then the model names alphabetically
        rsum = [e.report.metrics["rsum"] for e in entries]
        page.locator(f"#{sid} th", has_text="rsum").click()
        assert [float(v) for v in column(page, sid, "rsum")] == sorted(round(v, 2) for v in rsum)
        page.locator(f"#{sid} th", has_text="rsum").click()
        assert [float(v) for v in column(page, sid, "rsum")] == sorted((round(v, 2) for v in rsum), reverse=True)
        page.locator(f"#{sid} th", has_text="model").click()
        models = column(page, sid, "model")
        assert models == sorted(models) and len(models) == len(entries)
    assert all(url.startswith("file://") for url in page.requests), page.requests   # nothing from outside
    assert page.errors == []


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory, dataset):
    """Submissions on two versions of the tiny benchmark, one of them with a hostile model name."""
    newer = tmp_path_factory.mktemp("v2") / NAME
    write_tiny_dataset(newer, version="0.0.2")
    folder = tmp_path_factory.mktemp("submissions")
    old, new = load_benchmark(dataset), load_benchmark(newer)
    docs = {"a.json": make_submission(old, seed=1),
            "b.json": make_submission(old, seed=2, spec="mock:<img src=https://example.com/x.png>"),
            "c.json": make_submission(new, seed=3)}
    for name, doc in docs.items():
        (folder / name).write_text(dump(doc))
    (folder / "broken.json").write_text("{")
    return folder, ["--dataset", f"{KEY}={dataset}", "--dataset", f"{NAME}@0.0.2={newer}"]


def test_odbench_leaderboard_html_writes_one_section_per_dataset_version(two_versions, tmp_path, open_page):
    folder, datasets = two_versions
    site = tmp_path / "site"
    assert odbench(["leaderboard", "--submissions", str(folder), "--output", str(tmp_path / "lb.md"),
                    "--html", str(site), *datasets]) == 0
    assert sorted(p.name for p in (site / "results").iterdir()) == ["a.json", "b.json", "c.json"]
    page = open_page(site / "index.html")
    assert page.locator("section h2").all_inner_texts() == [f"{NAME} v0.0.2", f"{NAME} v0.0.1"]
    assert page.locator("#section-1 tbody tr").count() == 2
    # a submitted name is text on the page, never markup
    assert "mock:<img src=https://example.com/x.png> (seed=2) (untrained)" in column(page, "section-1", "model")
    assert page.locator("img").count() == 0
    assert "broken.json" in page.locator("ul.rejected").inner_text()
    assert all(url.startswith("file://") for url in page.requests) and page.errors == []
    assert json.loads((site / "results" / "c.json").read_text())["model"]["args"] == {"seed": 3}


def test_html_folder_mistake_is_one_line(two_versions, tmp_path, capsys):
    folder, datasets = two_versions
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").mkdir()       # a folder where the page should go
    assert odbench(["leaderboard", "--submissions", str(folder), "--check", "--html", str(tmp_path / "site"),
                    *datasets]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --html") and err.count("\n") == 1
