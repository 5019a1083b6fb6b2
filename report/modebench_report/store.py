"""The results database: every run remembered (docs/contract.md, "History store").

SQLite by default (results/history.sqlite: one box, no server), PostgreSQL for a fleet
(`--db postgresql://...`), both through SQLAlchemy Core. The schema is versioned by a
`schema_version` table and the ordered MIGRATIONS below, applied in one transaction: two
backends and a handful of tables do not need Alembic's configuration folder and revision
files, and a store opened by an older tool is refused rather than guessed at.

A run is one RESULTS argument (a run folder, a nightly variant's folder, or one file): its
identity is the hash of its process files, so ingesting it twice changes nothing. One
ingest is one transaction: a failure, or a kill, leaves nothing of it behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics

from .load import SIM_DEVICE, BadInput, Process, Record, host_key, load_set, parse_label, parse_name

# The default store, beside the run folders (results/<run-id>/).
DEFAULT_DB = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                          "results", "history.sqlite")
DB_ENV = "MODEBENCH_HISTORY_DB"  # the URL (the fleet's from a secret): never on a command line
# The result files' Google Benchmark JSON schema this tool reads (files without the key
# predate it and are read as this one).
RESULT_SCHEMA = 1
# The nightly's baseline from history: at least this many earlier runs of the host and build
# (7 processes each by default: 35, the ~50 a side this box needs for +10 % is 7 nights).
HISTORY_MIN_RUNS = 5
NOT_ENOUGH_HISTORY = "not enough history"

# Migrations: MIGRATIONS[i] takes a store from schema i to i + 1. Never edit a released one.
_V1 = [
    """CREATE TABLE runs (
        id INTEGER PRIMARY KEY {autoinc},
        run_key VARCHAR(64) NOT NULL UNIQUE,
        source TEXT NOT NULL,
        host TEXT NOT NULL,
        build TEXT NOT NULL,
        device VARCHAR(8) NOT NULL,
        git_sha TEXT NOT NULL,
        toolkit TEXT NOT NULL,
        driver TEXT NOT NULL,
        torch TEXT NOT NULL,
        run_time VARCHAR(40) NOT NULL,
        ingested_at VARCHAR(40) NOT NULL)""",
    """CREATE TABLE processes (
        id INTEGER PRIMARY KEY {autoinc},
        run_id INTEGER NOT NULL REFERENCES runs(id),
        name TEXT NOT NULL,
        context TEXT NOT NULL)""",
    """CREATE TABLE series (
        id INTEGER PRIMARY KEY {autoinc},
        host TEXT NOT NULL,
        build TEXT NOT NULL,
        device VARCHAR(8) NOT NULL,
        name TEXT NOT NULL,
        UNIQUE (host, build, device, name))""",
    """CREATE TABLE entries (
        process_id INTEGER NOT NULL REFERENCES processes(id),
        series_id INTEGER NOT NULL REFERENCES series(id),
        status TEXT NOT NULL,
        label TEXT NOT NULL,
        value DOUBLE PRECISION,
        times TEXT NOT NULL)""",
    # Covering: one series' history is read from the index alone, not from rows spread over every run.
    "CREATE INDEX entries_series ON entries (series_id, status, process_id, value)",
    "CREATE INDEX processes_run ON processes (run_id)",
]
_V2 = [  # acknowledged change points; the contention figures of a run where recorded; each run's
    # median per series, kept at ingest (the history page reads 1 row per run and series)
    """CREATE TABLE run_values (
        run_id INTEGER NOT NULL REFERENCES runs(id),
        series_id INTEGER NOT NULL REFERENCES series(id),
        value DOUBLE PRECISION NOT NULL,
        processes INTEGER NOT NULL)""",
    "CREATE INDEX run_values_series ON run_values (series_id)",
    lambda c: _backfill_run_values(c),  # the runs a schema-1 store holds
    """CREATE TABLE acknowledgements (
        id INTEGER PRIMARY KEY {autoinc},
        series_id INTEGER REFERENCES series(id),
        through_run INTEGER NOT NULL,
        note TEXT NOT NULL,
        at VARCHAR(40) NOT NULL)""",
    "ALTER TABLE runs ADD COLUMN contention TEXT",
]
_V3 = [  # each series' change points as last found (history.py): the page finds them again only
    # where the series' runs are no longer those (`runs`, `last_run`, `run_ids`: a hash of their ids
    # in order) or the method changed
    """CREATE TABLE series_points (
        series_id INTEGER NOT NULL PRIMARY KEY REFERENCES series(id),
        runs INTEGER NOT NULL,
        last_run INTEGER NOT NULL,
        run_ids VARCHAR(64) NOT NULL,
        method TEXT NOT NULL,
        points TEXT NOT NULL)""",
]
MIGRATIONS = [_V1, _V2, _V3]
SCHEMA_VERSION = len(MIGRATIONS)


def _sa():
    import sqlalchemy  # only the store's commands need it

    return sqlalchemy


def redact(url: str) -> str:
    """The URL as it may be printed: never its password."""
    sa = _sa()
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL: print none of it
        return "(unparsable database URL)"


def resolve_url(db) -> str:
    """--db, else $MODEBENCH_HISTORY_DB, else the default file; a plain path is a SQLite file."""
    db = db or os.environ.get(DB_ENV) or DEFAULT_DB
    if "://" not in db:
        return "sqlite:///" + os.path.abspath(db)
    if db.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + db.split("://", 1)[1]
    return db


class Store:
    """An open store, migrated to SCHEMA_VERSION (write) or checked (read)."""

    def __init__(self, db=None, write: bool = True):
        sa = _sa()
        self.url = resolve_url(db)
        self.shown = redact(self.url)
        try:
            parsed = sa.engine.make_url(self.url)
        except Exception:  # noqa: BLE001
            raise BadInput("--db", "not a database URL (sqlite:///PATH, postgresql://USER@HOST/DB, or a file path)") from None
        self.sqlite = parsed.get_backend_name() == "sqlite"
        if parsed.get_backend_name() not in ("sqlite", "postgresql"):
            raise BadInput(self.shown, "unsupported database: SQLite or PostgreSQL only")
        if self.sqlite:
            path = parsed.database or ""
            if not path or path == ":memory:":
                raise BadInput(self.shown, "a SQLite store needs a file")
            if not write and not os.path.exists(path.removeprefix("file:").split("?")[0]):
                raise BadInput(self.shown, "no such store (ingest a run first)")
            if write:
                os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
            # Waits for another writer instead of failing (concurrent runners).
            self.engine = sa.create_engine(self.url, connect_args={"timeout": 60}, poolclass=sa.pool.NullPool)
            sa.event.listen(self.engine, "connect", _sqlite_connect)
            sa.event.listen(self.engine, "begin", _sqlite_begin)
        else:
            # One connection kept for the Store's life: a new one per query cost more than the query
            # (the connection, and a new server process's cold catalog caches).
            self.engine = sa.create_engine(
                self.url, pool_size=1, max_overflow=4,
                connect_args={"connect_timeout": 10, "application_name": "modebench-report"})
        self._open(write)

    def _fail(self, e) -> BadInput:
        """One line for a database error: cannot connect, read-only, or what the server said."""
        text = str(getattr(e, "orig", e) or e).strip().splitlines()
        first = text[0] if text else type(e).__name__
        if "readonly" in first or "read-only" in first or "read only" in first:
            return BadInput(self.shown, "the store is read-only: nothing was written")
        if "unable to open" in first or "connection" in first.lower() or "could not" in first.lower():
            return BadInput(self.shown, f"cannot connect: {first}")
        return BadInput(self.shown, f"database error: {first}")

    def _open(self, write: bool) -> None:
        sa = _sa()
        try:
            with self.engine.begin() as c:
                if not self.sqlite and write:  # one migrating runner at a time
                    c.execute(sa.text("SELECT pg_advisory_xact_lock(26026)"))
                version = self._version(c)
                if version > SCHEMA_VERSION:
                    raise BadInput(self.shown, f"store schema {version} is newer than this tool's ({SCHEMA_VERSION}): update modebench")
                if version < SCHEMA_VERSION:
                    if not write:
                        raise BadInput(self.shown, f"store schema {version} is older than {SCHEMA_VERSION}: ingest once to migrate it")
                    self._migrate(c, version)
        except sa.exc.SQLAlchemyError as e:
            raise self._fail(e) from None

    def _version(self, c) -> int:
        sa = _sa()
        if not sa.inspect(c).has_table("schema_version"):
            return 0
        return int(c.execute(sa.text("SELECT version FROM schema_version")).scalar_one())

    def _migrate(self, c, version: int) -> None:
        sa = _sa()
        autoinc = "AUTOINCREMENT" if self.sqlite else ""
        for statements in MIGRATIONS[version:]:
            for s in statements:
                if callable(s):
                    s(c)
                    continue
                s = s.format(autoinc=autoinc)
                if not self.sqlite:
                    s = s.replace("INTEGER PRIMARY KEY ", "SERIAL PRIMARY KEY ")
                c.execute(sa.text(s))
        if version == 0:
            c.execute(sa.text("CREATE TABLE schema_version (version INTEGER NOT NULL)"))
            c.execute(sa.text("INSERT INTO schema_version VALUES (:v)"), {"v": SCHEMA_VERSION})
        else:
            c.execute(sa.text("UPDATE schema_version SET version = :v"), {"v": SCHEMA_VERSION})

    # ------------------------------------------------------------ ingest
    def ingest(self, runs) -> list:
        """Stores loaded runs [(source, processes)] in one transaction: [(source, stored?)]."""
        sa = _sa()
        out = []
        try:
            with self.engine.begin() as c:
                if not self.sqlite:  # one ingest at a time, as SQLite's BEGIN IMMEDIATE: no deadlock
                    c.execute(sa.text("SELECT pg_advisory_xact_lock(26026)"))
                for source, procs in runs:
                    out.append((source, self._ingest_run(c, source, procs)))
        except sa.exc.SQLAlchemyError as e:
            raise self._fail(e) from None
        return out

    def _insert_ignore(self, c, table: str, row: dict, conflict: list):
        """INSERT ... ON CONFLICT DO NOTHING; the new id, or None where the row was there."""
        sa = _sa()
        cols = ", ".join(row)
        names = ", ".join(f":{k}" for k in row)
        r = c.execute(sa.text(f"INSERT INTO {table} ({cols}) VALUES ({names}) "
                              f"ON CONFLICT ({', '.join(conflict)}) DO NOTHING RETURNING id"), row).first()
        return r[0] if r else None

    def _ingest_run(self, c, source: str, procs) -> bool:
        sa = _sa()
        first = procs[0]
        ctx = first.context
        device = SIM_DEVICE if first.simulated else "real"
        host = host_key(ctx)
        # What other processes did to each process of the run (the contention_* context facts).
        contention = {os.path.basename(p.path): {k: v for k, v in p.context.items() if k.startswith("contention")}
                      for p in procs if any(k.startswith("contention") for k in p.context)} or None
        run_id = self._insert_ignore(c, "runs", {
            "run_key": run_key(procs),
            "source": source,
            "host": host,
            "build": "; ".join(sorted({p.build for p in procs})),
            "device": device,
            "git_sha": str(ctx.get("git_sha", "unknown")),
            "toolkit": first.toolkit,
            "driver": str(ctx.get("nvidia_driver", ctx.get("cuda_driver", "none"))),
            "torch": str(ctx.get("torch_version", "none")),
            "run_time": str(ctx.get("date", "")),
            "ingested_at": _now(),
            "contention": json.dumps(contention) if contention is not None else None,
        }, ["run_key"])
        if run_id is None:
            return False  # stored before (or by a runner beside us): nothing changes
        # A series is one host, build (toolkit, torch) and device: a main-job run's torch files
        # carry a torch build its other files do not.
        series_ids = {}
        for build in sorted({p.build for p in procs}):
            names = sorted({r.name for p in procs if p.build == build for r in p.records.values()})
            series_ids[build] = self._series_ids(c, host, build, device, names)
        entries = []
        for p in procs:
            pid = c.execute(sa.text("INSERT INTO processes (run_id, name, context) VALUES (:r, :n, :c) RETURNING id"),
                            {"r": run_id, "n": os.path.basename(p.path), "c": json.dumps(p.context, sort_keys=True)}).scalar_one()
            for rec in p.records.values():
                # A contended entry keeps its times but no value: run values and baselines set it aside.
                value = statistics.median(rec.times) if rec.times and not rec.contended else None
                entries.append({"p": pid, "s": series_ids[p.build][rec.name], "st": rec.status_text, "l": rec.label_text,
                                "v": value, "t": json.dumps(rec.times)})
        c.execute(sa.text("INSERT INTO entries (process_id, series_id, status, label, value, times) "
                          "VALUES (:p, :s, :st, :l, :v, :t)"), entries)
        per_series: dict = {}
        for e in entries:
            if e["v"] is not None:
                per_series.setdefault(e["s"], []).append(e["v"])
        if per_series:
            c.execute(sa.text("INSERT INTO run_values (run_id, series_id, value, processes) VALUES (:r, :s, :v, :n)"),
                      [{"r": run_id, "s": sid, "v": statistics.median(v), "n": len(v)} for sid, v in per_series.items()])
        return True

    def _series_ids(self, c, host, build, device, names) -> dict:
        sa = _sa()
        c.execute(sa.text("INSERT INTO series (host, build, device, name) VALUES (:h, :b, :d, :n) "
                          "ON CONFLICT (host, build, device, name) DO NOTHING"),
                  [{"h": host, "b": build, "d": device, "n": n} for n in names])
        rows = c.execute(sa.text("SELECT name, id FROM series WHERE host = :h AND build = :b AND device = :d"),
                         {"h": host, "b": build, "d": device})
        return dict(rows.all())

    def forget_connections(self) -> None:
        """Closes the kept connections: before forking workers, which must not share them."""
        self.engine.dispose()

    # ------------------------------------------------------------ queries
    def _read(self, sql: str, **params):
        sa = _sa()
        try:
            with self.engine.connect() as c:
                return c.execute(sa.text(sql), params).all()
        except sa.exc.SQLAlchemyError as e:
            raise self._fail(e) from None

    def counts(self) -> dict:
        return {t: self._read(f"SELECT COUNT(*) FROM {t}")[0][0] for t in ("runs", "processes", "series", "entries")}

    def series_list(self, host=None, device="real"):
        """[(id, host, build, name)], hosts and names sorted; simulated series only with device='sim'."""
        rows = self._read("SELECT id, host, build, name FROM series WHERE device = :d ORDER BY host, build, name", d=device)
        return [r for r in rows if host is None or r[1] == host or host in r[1]]

    def series_history(self, series_id: int):
        """[(run id, run time, git, toolkit, driver, torch, process value)] of one series, oldest run first."""
        return self._read(
            "SELECT r.id, r.run_time, r.git_sha, r.toolkit, r.driver, r.torch, e.value "
            "FROM entries e JOIN processes p ON p.id = e.process_id JOIN runs r ON r.id = p.run_id "
            "WHERE e.series_id = :s AND e.status = 'ok' ORDER BY r.run_time, r.id, p.id", s=series_id)

    def all_history(self, device="real"):
        """({run id: (run id, run time, git, toolkit, driver, torch)}, {series id: ([run ids], [medians])}),
        runs oldest first: the history page's input, one row per run and series."""
        runs = {r[0]: tuple(r) for r in self._read(
            "SELECT id, run_time, git_sha, toolkit, driver, torch FROM runs WHERE device = :d", d=device)}
        # Ordered here, not by SQL: sorting the 500 000 joined rows of 1 000 runs x 500 series took
        # SQLite 3 times as long as one pass over run_values and a sort per series (codepoint order
        # of run times, as SQLite's; the same on PostgreSQL whatever its collation).
        rank = {rid: k for k, rid in enumerate(sorted(runs, key=lambda i: (runs[i][1], i)))}
        per: dict = {}
        for sid, rid, value in self._read("SELECT series_id, run_id, value FROM run_values"):
            k = rank.get(rid)
            if k is not None:
                (per.get(sid) or per.setdefault(sid, [])).append((k, rid, value))
        out: dict = {}
        for sid, rows in per.items():
            rows.sort()
            out[sid] = ([r[1] for r in rows], [r[2] for r in rows])
        return runs, out

    def cached_points(self) -> dict:
        """{series id: (runs, last run id, run ids hash, method, points JSON)} (history.py)."""
        return {r[0]: tuple(r[1:]) for r in self._read(
            "SELECT series_id, runs, last_run, run_ids, method, points FROM series_points")}

    def cache_points(self, rows) -> None:
        """Keeps [(series id, runs, last run id, run ids hash, method, points JSON)]."""
        sa = _sa()
        keys = ("s", "n", "l", "h", "m", "p")
        try:
            with self.engine.begin() as c:
                c.execute(sa.text(
                    "INSERT INTO series_points (series_id, runs, last_run, run_ids, method, points) "
                    "VALUES (:s, :n, :l, :h, :m, :p) ON CONFLICT (series_id) DO UPDATE SET runs = excluded.runs, "
                    "last_run = excluded.last_run, run_ids = excluded.run_ids, method = excluded.method, "
                    "points = excluded.points"), [dict(zip(keys, r)) for r in rows])
        except sa.exc.SQLAlchemyError as e:
            raise self._fail(e) from None

    def acknowledged(self) -> dict:
        """{series id or None (every series): the newest run acknowledged}."""
        out: dict = {}
        for sid, through in self._read("SELECT series_id, MAX(through_run) FROM acknowledgements GROUP BY series_id"):
            out[sid] = through
        return out

    def acknowledge(self, series_ids, through_run: int, note: str) -> None:
        sa = _sa()
        try:
            with self.engine.begin() as c:
                c.execute(sa.text("INSERT INTO acknowledgements (series_id, through_run, note, at) VALUES (:s, :t, :n, :a)"),
                          [{"s": s, "t": through_run, "n": note, "a": _now()} for s in series_ids])
        except sa.exc.SQLAlchemyError as e:
            raise self._fail(e) from None

    def latest_run(self):
        rows = self._read("SELECT MAX(id) FROM runs")
        return rows[0][0]

    def baseline_processes(self, host: str, build: str, before_key: str, runs: int):
        """load.Process objects of the newest `runs` real runs of this host and build other than
        the run `before_key` (compare --history): path `run<id>/<process file>`."""
        out = []
        for run_id, name, context, entries in self.earlier_processes(host, build, before_key, runs):
            records = {}
            for series, status, label, times, value in entries:
                key = parse_name(series)
                rec = Record(*key)
                rec.status, _, rest = status.partition(":")
                rec.error_class = rest if rec.status == "failed" else ""
                rec.label_text, rec.label = label, parse_label(label)
                rec.times = json.loads(times)
                if rec.status == "ok" and value is None:  # stored contended: set aside again
                    rec.counters = {"other_cores": [float("inf")]}
                records[key] = rec
            out.append(Process(path=f"run{run_id}/{name}", context=json.loads(context), records=records))
        return out

    def earlier_processes(self, host: str, build: str, before_key: str, runs: int):
        """[(run id, process name, context JSON, [(series name, status, label, times JSON, value)])] of the
        newest `runs` real runs of this host and build other than `before_key` (nightly baseline)."""
        ids = [r[0] for r in self._read(
            "SELECT id FROM runs WHERE host = :h AND build = :b AND device = 'real' AND run_key <> :k "
            "ORDER BY run_time DESC, id DESC", h=host, b=build, k=before_key)[:runs]]
        if not ids:
            return []
        marks = ", ".join(str(int(i)) for i in ids)
        procs = self._read(f"SELECT id, run_id, name, context FROM processes WHERE run_id IN ({marks}) ORDER BY id")
        if not procs:
            return []
        entries: dict = {}
        pmarks = ", ".join(str(int(p[0])) for p in procs)
        for pid, name, status, label, times, value in self._read(
                f"SELECT e.process_id, s.name, e.status, e.label, e.times, e.value FROM entries e "
                f"JOIN series s ON s.id = e.series_id WHERE e.process_id IN ({pmarks})"):
            entries.setdefault(pid, []).append((name, status, label, times, value))
        return [(p[1], p[2], p[3], entries.get(p[0], [])) for p in procs]


def _backfill_run_values(c) -> None:
    """run_values of the runs stored before schema 2 (SQL has no portable median)."""
    sa = _sa()
    per: dict = {}
    for rid, sid, value in c.execute(sa.text(
            "SELECT p.run_id, e.series_id, e.value FROM entries e JOIN processes p ON p.id = e.process_id "
            "WHERE e.status = 'ok'")):
        per.setdefault((rid, sid), []).append(value)
    if per:
        c.execute(sa.text("INSERT INTO run_values (run_id, series_id, value, processes) VALUES (:r, :s, :v, :n)"),
                  [{"r": r, "s": s, "v": statistics.median(v), "n": len(v)} for (r, s), v in per.items()])


def _sqlite_connect(dbapi_connection, _record):
    dbapi_connection.isolation_level = None  # SQLAlchemy's begin event issues BEGIN itself


def _sqlite_begin(conn):
    # Take the write lock at the start: two writers wait in turn instead of deadlocking on upgrade.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _now() -> str:
    import datetime

    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_key(procs) -> str:
    """A run's identity: the hash of its process files' contents, in order."""
    h = hashlib.sha256()
    for p in sorted(procs, key=lambda p: os.path.basename(p.path)):
        with open(p.path, "rb") as f:
            h.update(hashlib.sha256(f.read()).digest())
    return h.hexdigest()


def load_run(arg: str, allow_test_device: bool = False):
    """(source, processes) of one RESULTS argument, validated before anything is written:
    one host, one build, all real or all simulated, a result schema this tool reads."""
    procs = load_set(arg, allow_test_device).processes
    for p in procs:
        version = p.context.get("json_schema_version", RESULT_SCHEMA)
        if version != RESULT_SCHEMA:
            raise BadInput(p.path, f"result schema version {version!r}, this tool reads {RESULT_SCHEMA}: not stored")
    kinds = {(p.host, p.simulated) for p in procs}
    if len(kinds) > 1:
        raise BadInput(arg, "a run holds one host and one device; this folder mixes "
                       + "; ".join(sorted(f"{h}{' | device=sim' if s else ''}" for h, s in kinds)))
    return os.path.abspath(arg), procs
