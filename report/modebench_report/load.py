"""Validate and parse modebench (Google Benchmark >= 1.7) JSON into series.

A *set* is one command-line argument: a file, or a folder whose *.json files
are one process each. Every file is one process; the statistical unit of the
report stage is the process (design.md "Measuring").
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field

STATUSES = ("ok", "unavailable", "failed", "wrong")
# Worst first: a series' status over several processes is the worst one seen.
_SEVERITY = {"ok": 0, "unavailable": 1, "failed": 2, "wrong": 3}
FAILED_CLASSES = (
    "no_kernel_image",
    "unsupported_ptx",
    "insufficient_driver",
    "out_of_memory",
    "launch_failure",
    "library_error",
    "timeout",
    "other",
)
COUNTERS = (
    "FLOPS",
    "bytes_per_second",
    "items_per_second",
    "max_err",
    "tolerance",
    "transfer_fraction",
    "first_call_ms",
    "setup_ms",  # gpu/ptx-jit; older files lack it
    # hybrid only, ms per call (older files lack them): where the call's time goes.
    "copy_in_ms",
    "compute_ms",
    "copy_out_ms",
)
# Context keys that identify the machine (never the hostname alone).
# The machine, not the build: host_gpus/nvidia_driver come from the driver's /proc
# files, so CPU-only and CUDA builds on one box share a key (toolkit view, nightly).
# Files without them (older runs) fall back to what the CUDA runtime reported.
HOST_KEYS = ("cpu_model", "blas", "host_gpus", "nvidia_driver")
_HOST_KEYS_FROM_RUNTIME = ("cpu_model", "blas", "device_name", "cuda_driver")
_TIME_UNIT = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
_NAME = re.compile(r"^(?P<op>[^/]+)/(?P<case>[^/]+)/mode:(?P<mode>[^/]+)/impl:(?P<impl>[^/]+)/batch:(?P<batch>\d+)$")
_SUFFIXES = ("/manual_time", "/real_time", "/process_time")
_AGG_SUFFIX = re.compile(r"_(mean|median|stddev|cv)$")


class BadInput(Exception):
    """Unusable input; str() is the one line printed before exit 2."""

    def __init__(self, path: str, why: str):
        super().__init__(f"{path}: {why}")
        self.path = path


@dataclass
class Record:
    """One benchmark of one process (repetitions folded into `times`)."""

    op: str
    case: str
    mode: str
    impl: str
    batch: int
    status: str = "ok"
    error_class: str = ""
    message: str = ""
    times: list = field(default_factory=list)  # seconds per call, one per repetition
    counters: dict = field(default_factory=dict)
    label: dict = field(default_factory=dict)
    label_text: str = ""

    @property
    def line(self):
        return (self.mode, self.impl)

    @property
    def status_text(self):
        return f"failed:{self.error_class}" if self.status == "failed" else self.status


@dataclass
class Process:
    path: str
    context: dict
    records: dict  # (op, case, mode, impl, batch) -> Record

    @property
    def host(self) -> str:
        return host_key(self.context)

    @property
    def toolkit(self) -> str:
        return str(self.context.get("cuda_toolkit", "none"))


@dataclass
class SampleSet:
    name: str  # the argument as given
    processes: list


def host_key(context: dict) -> str:
    keys = HOST_KEYS if "host_gpus" in context else _HOST_KEYS_FROM_RUNTIME
    parts = [str(context.get(k, "")).strip() for k in keys]
    parts = [p for p in parts if p and p not in ("none", "unknown")]
    return " | ".join(parts) if parts else "unknown host"


def host_slug(key: str) -> str:
    """A folder name for results/baselines/<host-key>/: readable, plus a short hash
    of the whole key so two hosts whose readable parts collide stay apart."""
    import hashlib
    import re

    readable = re.sub(r"[^a-z0-9]+", "-", key.lower()).strip("-")[:80] or "unknown-host"
    return f"{readable}-{hashlib.sha1(key.encode()).hexdigest()[:8]}"


def parse_name(name: str):
    for s in _SUFFIXES:
        if name.endswith(s):
            name = name[: -len(s)]
    m = _NAME.match(name)
    if not m:
        return None
    return m["op"], m["case"], m["mode"], m["impl"], int(m["batch"])


def parse_label(text: str) -> dict:
    out = {}
    for part in (text or "").split(";"):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def parse_status(message: str):
    """(status, error_class) from an error/skip message (contract.md)."""
    if message.startswith("unavailable: "):
        return "unavailable", ""
    if message.startswith("wrong: "):
        return "wrong", ""
    if message.startswith("failed: "):
        cls = message[len("failed: ") :].split(":", 1)[0].strip()
        return "failed", cls if cls in FAILED_CLASSES else "other"
    # Not one of ours (a harness or Google Benchmark error): a failure of unknown class.
    return "failed", "other"


def _finite(path, bench, key, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadInput(path, f"benchmark '{bench}': '{key}' is not a number")
    if not math.isfinite(value):
        raise BadInput(path, f"benchmark '{bench}': '{key}' is {value} (non-finite)")
    return float(value)


def load_process(path: str, allow_test_device: bool = False) -> Process:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise BadInput(path, f"cannot read: {e.strerror}") from None
    if not raw.strip():
        raise BadInput(path, "empty file")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadInput(path, "not UTF-8 text") from None
    except json.JSONDecodeError as e:
        at_end = e.pos >= len(raw.rstrip()) - 1
        why = "truncated JSON" if at_end else "not JSON"
        raise BadInput(path, f"{why} ({e.msg} at line {e.lineno} column {e.colno})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
        raise BadInput(path, "wrong schema: expected a Google Benchmark JSON object with a 'benchmarks' list")
    context = doc.get("context", {})
    if not isinstance(context, dict):
        raise BadInput(path, "wrong schema: 'context' is not an object")
    if not doc["benchmarks"]:
        raise BadInput(path, "no benchmarks in file")

    records: dict = {}
    aggregates: dict = {}  # key -> {aggregate_name: seconds}, used only without iteration entries
    for i, b in enumerate(doc["benchmarks"]):
        if not isinstance(b, dict) or not isinstance(b.get("name"), str):
            raise BadInput(path, f"wrong schema: benchmarks[{i}] has no 'name'")
        run_type = b.get("run_type", "iteration")
        base = b.get("run_name", b["name"])
        if run_type == "aggregate" and "run_name" not in b:
            base = _AGG_SUFFIX.sub("", base)
        parsed = parse_name(base) if isinstance(base, str) else None
        if parsed is None:
            raise BadInput(
                path, f"wrong schema: benchmark name '{b['name']}' is not <op>/<case>/mode:<m>/impl:<i>/batch:<n>"
            )
        rec = records.get(parsed)
        if rec is None:
            rec = records[parsed] = Record(*parsed)
        label = b.get("label", "")
        if label:
            if not isinstance(label, str):
                raise BadInput(path, f"benchmark '{b['name']}': 'label' is not a string")
            rec.label_text, rec.label = label, parse_label(label)
            if rec.label.get("device") == "test" and not allow_test_device:
                raise BadInput(
                    path,
                    f"benchmark '{b['name']}' comes from the test device (label device=test); "
                    "test-device results never enter a real report",
                )

        error = None
        if b.get("error_occurred"):
            error = str(b.get("error_message", ""))
        elif b.get("skipped") and b.get("skipped") not in ("false", "0"):
            error = str(b.get("skip_message", ""))
        if error is not None:
            status, cls = parse_status(error)
            if _SEVERITY[status] >= _SEVERITY[rec.status]:
                rec.status, rec.error_class, rec.message = status, cls, error
            continue

        unit = b.get("time_unit", "ns")
        if unit not in _TIME_UNIT:
            raise BadInput(path, f"benchmark '{b['name']}': unknown time_unit '{unit}'")
        if "real_time" not in b:
            raise BadInput(path, f"wrong schema: benchmark '{b['name']}' has no 'real_time'")
        seconds = _finite(path, b["name"], "real_time", b["real_time"]) * _TIME_UNIT[unit]
        counters = {k: _finite(path, b["name"], k, b[k]) for k in COUNTERS if k in b}
        if run_type == "aggregate":
            if b.get("aggregate_unit", "time") == "time":
                agg = b.get("aggregate_name") or _AGG_SUFFIX.search(b["name"]).group(1)
                aggregates.setdefault(parsed, {})[agg] = (seconds, counters)
            continue
        if seconds <= 0:
            raise BadInput(path, f"benchmark '{b['name']}': real_time {b['real_time']} is not positive")
        rec.times.append(seconds)
        for k, v in counters.items():
            rec.counters.setdefault(k, []).append(v)

    # Files written with --benchmark_report_aggregates_only have no iteration entries.
    for key, aggs in aggregates.items():
        rec = records[key]
        if not rec.times and rec.status == "ok":
            pick = aggs.get("median") or aggs.get("mean")
            if pick:
                rec.times.append(pick[0])
                for k, v in pick[1].items():
                    rec.counters.setdefault(k, []).append(v)
    for key, rec in records.items():
        if rec.status == "ok" and not rec.times:
            raise BadInput(path, f"benchmark '{'/'.join(map(str, key))}' has neither a timing nor a status")
        if rec.status != "ok":
            rec.times, rec.counters = [], {}
    return Process(path=path, context={k: v for k, v in context.items()}, records=records)


def load_set(arg: str, allow_test_device: bool = False) -> SampleSet:
    if os.path.isdir(arg):
        files = sorted(
            os.path.join(arg, f)
            for f in os.listdir(arg)
            if f.endswith(".json") and os.path.isfile(os.path.join(arg, f))
        )
        if not files:
            raise BadInput(arg, "folder holds no .json result files")
    elif os.path.exists(arg):
        files = [arg]
    else:
        raise BadInput(arg, "no such file or folder")
    return SampleSet(name=arg, processes=[load_process(f, allow_test_device) for f in files])


def load_sets(args, allow_test_device: bool = False):
    if not args:
        raise BadInput("(arguments)", "no result files given")
    return [load_set(a, allow_test_device) for a in args]


@dataclass
class Series:
    """One (op, case, mode, impl, batch) on one host/toolkit group across processes."""

    key: tuple
    records: list  # one Record per process that has it

    @property
    def status(self) -> str:
        return max((r.status for r in self.records), key=_SEVERITY.__getitem__)

    @property
    def worst(self) -> Record:
        return max(self.records, key=lambda r: _SEVERITY[r.status])

    @property
    def ok_records(self):
        return [r for r in self.records if r.status == "ok"]


def group_series(processes, group_of=lambda p: p.host):
    """{group: {(op, case, mode, impl, batch): Series}}; group defaults to the host key."""
    out: dict = {}
    for p in processes:
        g = group_of(p)
        for key, rec in p.records.items():
            out.setdefault(g, {}).setdefault(key, Series(key, [])).records.append(rec)
    return out


def host_and_toolkit(p: Process) -> str:
    return f"{p.host} | toolkit {p.toolkit}"


def by_case(series_map: dict) -> dict:
    """{(op, case): {(mode, impl): {batch: Series}}} of one group."""
    out: dict = {}
    for (op, case, mode, impl, batch), s in series_map.items():
        out.setdefault((op, case), {}).setdefault((mode, impl), {})[batch] = s
    return out
