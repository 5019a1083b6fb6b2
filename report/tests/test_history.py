"""The history page (history.py) over a store: 30 synthetic nights of 200 series with a +10 %
step at night 20 in 3 of them (per-process noise with heavy tails, ci/history_study.py), and
real runs beside them; change points, what changed, alerts and acknowledging; the page in
headless Chromium."""

import json
import os
import pathlib
import sys

import pytest
from conftest import AA, HERE
from test_browser import ARTIFACTS, broken_images, browser, console_errors  # noqa: F401 - the fixture

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "ci"))
import history_study  # noqa: E402
from modebench_report import store  # noqa: E402

STEPPED = (5, 77, 150)


@pytest.fixture(scope="module")
def synthetic_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("history")
    nights = history_study.synthetic_history(str(root / "runs"), 30, 200, history_study.NIGHTLY_PROCESSES,
                                             stepped=STEPPED, step_at=20)
    url = str(root / "history.sqlite")
    db = store.Store(url)
    db.ingest([store.load_run(n) for n in nights] + [store.load_run(os.path.join(AA, s)) for s in "AB"])
    return url


@pytest.fixture(scope="module")
def first_page(synthetic_store, tmp_path_factory):
    """The page before anything is acknowledged: (exit code, history.json, folder)."""
    from modebench_report.cli import main

    out = str(tmp_path_factory.mktemp("page"))
    code = main(["history", "--db", synthetic_store, "--out", out])
    with open(os.path.join(out, "history.json")) as f:
        return code, json.load(f), out


def page(run, url, out, *extra):
    code, stdout, err = run("history", "--db", url, "--out", out, *extra)
    with open(os.path.join(out, "history.json")) as f:
        return code, json.load(f), err


def test_the_injected_steps_and_nothing_else_are_change_points(first_page):
    code, doc, out = first_page
    names = history_study.series_names(200)
    points = doc["change_points"]
    assert sorted(p["series"].split(" | ")[-1] for p in points) == sorted(names[i] for i in STEPPED)
    assert all(abs(p["index"] - 20) <= 1 and 0.05 < p["change"] < 0.15 for p in points)
    assert all(p["changed"] == {"commit": ["c1", "c2"]} for p in points)  # the commit changed at night 20
    assert code == 1 and doc["alerts"] == 3  # none acknowledged yet
    assert doc["series"] == 206 and doc["runs"] == 32  # the real runs beside the synthetic ones
    html = open(os.path.join(out, "index.html")).read()
    assert "linear/square_1024/mode:cpu/impl:openblas/batch:1" in html
    assert len([f for f in os.listdir(out) if f.endswith(".svg")]) == 3


def test_acknowledged_change_points_stop_alerting(run, synthetic_store, tmp_path):
    one = history_study.series_names(200)[STEPPED[0]]
    assert run("acknowledge", "--db", synthetic_store, "--series", one, "--note", "expected")[0] == 0
    code, doc, _ = page(run, synthetic_store, str(tmp_path / "a"))
    assert code == 1 and doc["alerts"] == 2
    assert run("acknowledge", "--db", synthetic_store)[0] == 0
    code, doc, _ = page(run, synthetic_store, str(tmp_path / "b"))
    assert code == 0 and doc["alerts"] == 0 and len(doc["change_points"]) == 3  # still shown, acknowledged


def test_a_second_page_reuses_every_series_points(synthetic_store, first_page):
    from modebench_report import history

    stats = {}
    page = history.build(store.Store(synthetic_store, write=False), stats=stats)
    assert stats == {"series": 206, "reused": 206, "analysed": 0}
    def found(points):  # what was found, not whether it is still an alert (another test acknowledges)
        return [(p["series"], p["index"], p["p"], p["change"]) for p in points]

    assert found(page.doc["change_points"]) == found(first_page[1]["change_points"])


def test_series_with_new_or_late_runs_are_analysed_again(tmp_path):
    """A series' kept points are reused only while its runs are the same: a new night, or a run
    that lands among the earlier ones (an older run time), has the series analysed again."""
    from modebench_report import history

    nights = history_study.synthetic_history(str(tmp_path / "runs"), 34, 3, 7, stepped=(0,), step_at=20, seed=4)
    db = store.Store(str(tmp_path / "h.sqlite"))
    db.ingest([store.load_run(n) for n in nights[1:28]])

    stepped = history_study.series_names(3)[0]

    def page():
        stats = {}
        return [(p["series"].split(" | ")[-1], p["index"]) for p in history.build(db, stats=stats).doc["change_points"]], stats

    assert page() == ([(stepped, 19)], {"series": 3, "reused": 0, "analysed": 3})
    assert page()[1] == {"series": 3, "reused": 3, "analysed": 0}
    db.ingest([store.load_run(n) for n in nights[28:]])
    assert page() == ([(stepped, 19)], {"series": 3, "reused": 0, "analysed": 3})
    db.ingest([store.load_run(nights[0])])  # night 0: before every stored run
    assert page() == ([(stepped, 20)], {"series": 3, "reused": 0, "analysed": 3})


def test_a_missing_store_is_one_line(run, tmp_path):
    code, _, err = run("history", "--db", str(tmp_path / "none.sqlite"), "--out", str(tmp_path / "o"))
    assert code == 2 and "no such store" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_the_history_page_in_a_browser(browser, first_page):  # noqa: F811
    browser.get(pathlib.Path(first_page[2], "index.html").as_uri())
    assert broken_images(browser) == []
    assert console_errors(browser) == []
    text = browser.find_element("tag name", "body").text
    assert "Change points" in text and "commit c1 → c2" in text
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "history.png"))
