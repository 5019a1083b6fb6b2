"""A throwaway PostgreSQL cluster: made with initdb/pg_ctl in a temporary folder, reachable
only by its unix socket, stopped and removed at the end. The store's tests and the store's
benchmark (ci/history_study.py --perf --postgres) both use it. As root, initdb refuses to run:
the cluster then belongs to Debian's `postgres` user."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile


def _pg_bin():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


def missing():
    """Why no cluster can be made here (None where one can)."""
    why = "PostgreSQL (initdb, a postgres user as root) or psycopg not installed (ci/setup.sh installs them)"
    if not _pg_bin():
        return why
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return why
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return why
    return None


@contextlib.contextmanager
def throwaway_cluster(port=5439):
    """(URL of its database `history`, createdb(name), folder)."""
    bindir = _pg_bin()
    folder = tempfile.mkdtemp(prefix="modebench-pg-")
    as_user = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data = os.path.join(folder, "data")

    def pg(*args):
        return subprocess.run(as_user + list(args), check=True, capture_output=True, text=True, timeout=60)

    try:
        pg(os.path.join(bindir, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync")
        opts = f"-c listen_addresses='' -c unix_socket_directories={folder} -c fsync=off -p {port}"
        pg(os.path.join(bindir, "pg_ctl"), "-D", data, "-o", opts, "-w", "-l", os.path.join(folder, "log"), "start")
        try:
            pg(os.path.join(bindir, "createdb"), "-h", folder, "-p", str(port), "-U", "postgres", "history")
            yield f"postgresql://postgres@/history?host={folder}&port={port}", (lambda name: pg(
                os.path.join(bindir, "createdb"), "-h", folder, "-p", str(port), "-U", "postgres", name)), folder
        finally:
            pg(os.path.join(bindir, "pg_ctl"), "-D", data, "-m", "immediate", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
