"""The history store (store.py) on SQLite and on a real PostgreSQL server: ingest,
idempotence, atomicity (a kill during ingest), concurrency, migration from the first
schema, queries, and bad input. The PostgreSQL server is a throwaway cluster this module
makes with initdb/pg_ctl in a temporary folder, and stops; skipped only where PostgreSQL
is absent and CI is not set (in CI that fails, like the browser test)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from conftest import AA, HERE

ROOT = os.path.dirname(os.path.dirname(HERE))
CLI = os.path.join(ROOT, "report", "modebench-report")
sys.path.insert(0, os.path.join(ROOT, "ci"))
import history_study  # noqa: E402
import pg_cluster  # noqa: E402
from modebench_report import store  # noqa: E402


@pytest.fixture(scope="module")
def postgres():
    """The URL of a fresh PostgreSQL cluster (unix socket only), stopped at the end."""
    why = pg_cluster.missing()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"the PostgreSQL tests must run in CI; {why}")
        pytest.skip(why)
    with pg_cluster.throwaway_cluster() as cluster:
        yield cluster


_pg_dbs = iter(range(1, 1000))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, empty store of each kind."""
    if request.param == "sqlite":
        return str(tmp_path / "history.sqlite")
    url, createdb, _ = request.getfixturevalue("postgres")
    name = f"t{next(_pg_dbs)}"
    createdb(name)
    return url.replace("/history?", f"/{name}?")


def cli(*args, env=None):
    """The CLI in a process of its own (kills, concurrency, the environment)."""
    return subprocess.run([sys.executable, CLI, *map(str, args)], capture_output=True, text=True, timeout=300, env=env)


@pytest.fixture
def ingest(run):
    """modebench-report ingest ... --db URL, in-process (cheap): (exit code, stdout, stderr)."""

    def _ingest(db_url, *results):
        return run("ingest", *results, "--db", db_url)

    return _ingest


def test_ingest_imports_no_numeric_or_plotting_library(tmp_path):
    """ingest runs after every main job and nightly: it needs SQLAlchemy, not the report's numpy,
    scipy, matplotlib or Otava (their imports cost seconds on a loaded box, the work 0.2 s)."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from modebench_report.cli import main; "
            "rc = main(['ingest', sys.argv[2], '--db', sys.argv[3]]); "
            "print(rc, *sorted(m for m in ('numpy', 'scipy', 'matplotlib', 'otava') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code, os.path.join(ROOT, "report"), os.path.join(AA, "A"),
                        str(tmp_path / "h.sqlite")], capture_output=True, text=True, timeout=120)
    assert r.stdout.split("\n")[-2] == "0", r.stdout + r.stderr  # stored, and nothing else imported


def test_ingest_is_idempotent_and_queries_give_each_process(db_url, ingest):
    a, b = os.path.join(AA, "A"), os.path.join(AA, "B")
    code, out, err = ingest(db_url, a, b)
    assert code == 0, err
    assert out.count("stored:") == 2
    db = store.Store(db_url)
    first = db.counts()
    assert first == {"runs": 2, "processes": 16, "series": 6, "entries": 96}
    code, out, _ = ingest(db_url, a)
    assert code == 0 and "already stored" in out
    assert db.counts() == first
    sid = next(s[0] for s in db.series_list() if s[3] == "linear/square_1024/mode:cpu/impl:openblas/batch:1")
    rows = db.series_history(sid)
    assert len(rows) == 16  # one value per process, 8 per run
    assert all(r[2] == "dd60cfb16bb5" for r in rows)


def _wait_for_write(db_url, proc, folder):
    """Until the ingest holds an open write transaction (a journal file, or a PostgreSQL session
    in a transaction), or ends."""
    import sqlalchemy as sa

    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if "://" not in db_url:
            if os.path.exists(db_url + "-journal"):
                return True
        else:
            eng = sa.create_engine(store.resolve_url(db_url), poolclass=sa.pool.NullPool)
            with eng.connect() as c:
                n = c.execute(sa.text("SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = 'modebench-report' "
                                      "AND xact_start IS NOT NULL AND query LIKE 'INSERT INTO entries%'")).scalar()
            eng.dispose()
            if n:
                return True
        time.sleep(0.005)
    return False


def test_a_kill_during_ingest_leaves_nothing_half_written(db_url, tmp_path, ingest):
    before = history_study.synthetic_history(str(tmp_path / "a"), 1, 3, 2)
    assert ingest(db_url, before[0])[0] == 0
    big = history_study.synthetic_history(str(tmp_path / "b"), 2, 2000, 3, seed=9)
    kept = store.Store(db_url).counts()
    # Killed at once when the write starts, and later into it: whatever was written by then
    # goes with the kill (a commit per process or per run would leave part of it). On a fast
    # machine a later kill can come after the ingest finished: that try ends the loop, and at
    # least the kill at the start must have happened mid-write.
    killed = 0
    for delay in (0.0, 0.1, 0.5):
        proc = subprocess.Popen([sys.executable, CLI, "ingest", *big, "--db", db_url],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert _wait_for_write(db_url, proc, tmp_path), "the ingest ended before it was seen writing"
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        if proc.returncode != -signal.SIGKILL:
            assert proc.returncode == 0
            break
        killed += 1
        assert store.Store(db_url).counts() == kept  # all of it rolled back, the earlier run intact
    assert killed >= 1, "no ingest could be killed mid-write"
    assert ingest(db_url, *big)[0] == 0  # and it can be stored (or is stored) whole
    assert store.Store(db_url).counts()["runs"] == kept["runs"] + 2


def test_two_runners_ingesting_at_once_both_land(db_url, tmp_path):
    runs = history_study.synthetic_history(str(tmp_path / "r"), 4, 200, 3)
    store.Store(db_url)  # created first: the race is the ingest's, not the migration's
    procs = [subprocess.Popen([sys.executable, CLI, "ingest", *part, "--db", db_url],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for part in (runs[0:3], runs[1:4])]  # two runs both runners store
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    counts = store.Store(db_url).counts()
    assert counts["runs"] == 4 and counts["series"] == 200
    assert counts["entries"] == 4 * 200 * 3


def test_a_store_of_the_first_schema_is_migrated_and_keeps_its_runs(db_url, ingest):
    import sqlalchemy as sa

    old = store.MIGRATIONS
    try:
        store.MIGRATIONS = old[:1]  # the tool as it was at schema 1
        store.SCHEMA_VERSION = 1
        db = store.Store(db_url)
        with db.engine.begin() as c:  # a schema-1 ingest: no contention column yet
            c.execute(sa.text("INSERT INTO runs (run_key, source, host, build, device, git_sha, toolkit, driver, torch, "
                              "run_time, ingested_at) VALUES ('k', 's', 'h', 'b', 'real', 'g', 't', 'd', 'n', 'x', 'y')"))
            c.execute(sa.text("INSERT INTO processes (run_id, name, context) VALUES (1, 'p1', '{}'), (1, 'p2', '{}')"))
            c.execute(sa.text("INSERT INTO series (host, build, device, name) VALUES ('h', 'b', 'real', 'o/c/mode:cpu/impl:i/batch:1')"))
            c.execute(sa.text("INSERT INTO entries (process_id, series_id, status, label, value, times) "
                              "VALUES (1, 1, 'ok', '', 1.0, '[1.0]'), (2, 1, 'ok', '', 3.0, '[3.0]')"))
    finally:
        store.MIGRATIONS, store.SCHEMA_VERSION = old, len(old)
    code, _, err = ingest(db_url, os.path.join(AA, "A"))
    assert code == 0, err
    db = store.Store(db_url)
    assert db.counts()["runs"] == 2
    assert db.acknowledged() == {}  # schema 2's tables are there
    _, history = db.all_history()
    assert len(history) == 7  # the schema-1 run's series and the 6 ingested at schema 2
    assert history[1] == ([1], [2.0])  # the schema-1 run's median, filled in by the migration
    with db.engine.connect() as c:
        assert c.execute(sa.text("SELECT version FROM schema_version")).scalar() == store.SCHEMA_VERSION


def test_a_store_of_the_second_schema_gets_the_change_point_cache(db_url, ingest, run, tmp_path):
    old = store.MIGRATIONS
    try:
        store.MIGRATIONS = old[:2]  # the tool as it was at schema 2: no series_points
        store.SCHEMA_VERSION = 2
        assert ingest(db_url, os.path.join(AA, "A"))[0] == 0
    finally:
        store.MIGRATIONS, store.SCHEMA_VERSION = old, len(old)
    code, _, err = run("history", "--db", db_url, "--out", tmp_path / "p")
    assert code == 2 and "store schema 2 is older than 3" in err  # a page reads; an ingest migrates
    assert ingest(db_url, os.path.join(AA, "B"))[0] == 0
    db = store.Store(db_url)
    assert db.counts()["runs"] == 2 and db.cached_points() == {}
    code, _, err = run("history", "--db", db_url, "--out", tmp_path / "p")
    assert code == 0, err
    assert set(db.cached_points()) == {s[0] for s in db.series_list()}  # every series' points kept


def test_a_store_newer_than_the_tool_is_refused(db_url, ingest):
    import sqlalchemy as sa

    db = store.Store(db_url)
    with db.engine.begin() as c:
        c.execute(sa.text("UPDATE schema_version SET version = 99"))
    code, _, err = ingest(db_url, os.path.join(AA, "A"))
    assert code == 2
    assert "store schema 99 is newer" in err and len(err.strip().splitlines()) == 1


def test_bad_runs_write_nothing_and_keep_what_is_stored(db_url, tmp_path, ingest):
    assert ingest(db_url, os.path.join(AA, "A"))[0] == 0
    kept = store.Store(db_url).counts()
    corrupt = tmp_path / "corrupt"
    shutil.copytree(os.path.join(AA, "B"), corrupt)
    victim = sorted(corrupt.iterdir())[3]
    victim.write_text(victim.read_text()[:500])
    other = tmp_path / "other-schema"
    shutil.copytree(os.path.join(AA, "B"), other)
    for f in other.iterdir():
        doc = json.loads(f.read_text())
        doc["context"]["json_schema_version"] = 2
        f.write_text(json.dumps(doc))
    for bad, why in ((corrupt, "truncated JSON"), (other, "result schema version 2")):
        code, _, err = ingest(db_url, os.path.join(AA, "B"), bad)  # a good run first: not stored either
        assert code == 2 and why in err, err
        assert len(err.strip().splitlines()) == 1
        assert store.Store(db_url).counts() == kept


def test_a_read_only_store_is_one_line_and_keeps_its_runs(db_url, tmp_path, ingest):
    assert ingest(db_url, os.path.join(AA, "A"))[0] == 0
    kept = store.Store(db_url).counts()
    if "://" in db_url:  # a server that takes no writes
        ro = db_url + "&options=-c%20default_transaction_read_only%3Don"
    else:  # root writes any file: the file opened read-only stands for a read-only mount
        ro = f"sqlite:///file:{db_url}?mode=ro&uri=true"
    code, _, err = ingest(ro, os.path.join(AA, "B"))
    assert code == 2, err
    assert "read-only" in err and len(err.strip().splitlines()) == 1
    assert store.Store(db_url).counts() == kept


def test_a_store_that_cannot_connect_is_one_line_without_the_password(tmp_path, ingest):
    url = f"postgresql://bench:s3cret@/history?host={tmp_path}&port=1"
    code, out, err = ingest(url, os.path.join(AA, "A"))
    assert code == 2
    assert "cannot connect" in err and len(err.strip().splitlines()) == 1
    assert "s3cret" not in err + out
    env = dict(os.environ, MODEBENCH_HISTORY_DB=url)  # the fleet's way: the URL from the environment
    r = cli("ingest", os.path.join(AA, "A"), env=env)
    assert r.returncode == 2 and "s3cret" not in r.stderr + r.stdout


def test_simulated_runs_are_kept_apart(db_url, tmp_path, ingest):
    from test_simulated import sim_set

    sim = sim_set(tmp_path)
    assert ingest(db_url, os.path.join(AA, "A"), sim)[0] == 0
    db = store.Store(db_url)
    real, simulated = db.series_list(), db.series_list(device="sim")
    assert real and simulated and not {s[0] for s in real} & {s[0] for s in simulated}


def test_compare_with_history_needs_five_earlier_runs_and_leaves_out_the_candidate(tmp_path, run):
    db = str(tmp_path / "history.sqlite")
    nights = []
    for night in range(6):  # the fixture's 8 processes, dated apart: six runs of one host and build
        folder = tmp_path / f"night-{night}"
        folder.mkdir()
        for f in sorted(os.listdir(os.path.join(AA, "A"))):
            doc = json.loads(open(os.path.join(AA, "A", f)).read())
            doc["context"]["date"] = f"2026-01-0{night + 1}T00:00:00+00:00"
            (folder / f).write_text(json.dumps(doc))
        nights.append(folder)
    assert run("ingest", *nights[:5], "--db", db)[0] == 0
    code, _, err = run("compare", "--history", "--db", db, nights[4], "--json", tmp_path / "c.json")
    assert code == 2 and "not enough history: 4 earlier run(s)" in err  # its own run is no baseline
    code, out, err = run("compare", "--history", "--db", db, nights[5], "--json", tmp_path / "c.json")
    assert code == 0, err
    doc = json.loads((tmp_path / "c.json").read_text())
    assert doc["view"] == "history" and doc["baseline"]["processes"] == 40 and doc["candidate"]["processes"] == 8
    assert doc["baseline"]["name"] == "history (5 runs)"
    code, _, _ = run("compare", "--history", "--history-runs", "2", "--db", db, nights[5], "--json", tmp_path / "c.json")
    assert code == 2  # only the newest 2 asked for: not enough


def test_contended_entries_are_stored_and_set_aside(tmp_path, ingest):
    """A contended entry (report/modebench_report/contention.py) keeps its times in the store,
    but no run value, and comes back set aside as a baseline process."""
    run_dir = tmp_path / "run"
    shutil.copytree(os.path.join(AA, "A"), run_dir)
    first = sorted(os.listdir(run_dir))[0]
    doc = json.load(open(run_dir / first))
    for e in doc["benchmarks"]:
        e["other_cores"] = 1.5
    doc["context"]["contention_other_cores"] = "1.500"
    json.dump(doc, open(run_dir / first, "w"))
    db_url = str(tmp_path / "h.sqlite")
    code, _, err = ingest(db_url, run_dir)
    assert code == 0, err
    db = store.Store(db_url)
    (contention,) = [json.loads(r[0]) for r in db._read("SELECT contention FROM runs")]
    assert contention == {first: {"contention_other_cores": "1.500"}}
    values = db._read("SELECT COUNT(*) FROM entries WHERE value IS NULL AND status = 'ok'")[0][0]
    assert values == len({e["run_name"] for e in doc["benchmarks"]}) == 6
    procs = db.baseline_processes(db._read("SELECT host FROM runs")[0][0], db._read("SELECT build FROM runs")[0][0], "none", 5)
    contended = [p for p in procs if all(r.contended for r in p.records.values() if r.status == "ok")]
    assert len(contended) == 1 and contended[0].path.endswith(first)
