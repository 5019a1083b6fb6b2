"""Helpers of the ci/tests: where the scripts are, and running the nightly (real or on the fake toolchain)."""

import os
import pathlib
import subprocess
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
NIGHTLY = ROOT / "ci" / "nightly.sh"
FAKE_TOOLCHAIN = pathlib.Path(__file__).resolve().parent / "fake_toolchain"


def run_nightly(args, fake=False, env=None, **kw):
    """ci/nightly.sh ARGS; fake: with the fake cmake and modebench of fake_toolchain/ (the
    script's own logic, in seconds, without building the C++)."""
    full_env = dict(os.environ, **(env or {}))
    if not (env or {}).get("MODEBENCH_HISTORY_DB"):  # never the repository's store: a fresh one per run
        full_env["MODEBENCH_HISTORY_DB"] = os.path.join(tempfile.mkdtemp(prefix="nightly-history-"), "history.sqlite")
    if fake:
        full_env["PATH"] = f"{FAKE_TOOLCHAIN}{os.pathsep}{full_env['PATH']}"
    return subprocess.run(["bash", str(NIGHTLY), *map(str, args)], capture_output=True, text=True, cwd=ROOT,
                          env=full_env, **kw)
