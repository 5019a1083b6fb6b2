"""Helpers of the ci/tests: where the scripts are, and running the nightly (real or on the fake toolchain)."""

import contextlib
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
    if fake:
        full_env["PATH"] = f"{FAKE_TOOLCHAIN}{os.pathsep}{full_env['PATH']}"
    # never the repository's store: a fresh one per run, removed after it (they piled up in /tmp)
    given = (env or {}).get("MODEBENCH_HISTORY_DB")
    with contextlib.nullcontext() if given else tempfile.TemporaryDirectory(prefix="nightly-history-") as store:
        if store:
            full_env["MODEBENCH_HISTORY_DB"] = os.path.join(store, "history.sqlite")
        return subprocess.run(["bash", str(NIGHTLY), *map(str, args)], capture_output=True, text=True, cwd=ROOT,
                              env=full_env, **kw)
