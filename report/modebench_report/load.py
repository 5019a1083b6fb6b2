"""Validate and parse modebench (Google Benchmark >= 1.7) JSON into series.

A *set* is one command-line argument: a file, or a folder whose *.json files
are one process each. Every file is one process; the statistical unit of the
report stage is the process (docs/contract.md, "`report/modebench-report`").
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import re
from dataclasses import dataclass, field

from . import modes
from .contention import is_contended
from .status import NOT_MEASURED, SEVERITY, parse_status

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
    # the timed span's contention (contention.py; older files lack them)
    "other_cores",
    "steal_cores",
    "other_cores_resolution",
    "involuntary_switches",
    "clock_ghz",
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
# A -DMODEBENCH_CUDA=SIM build runs the gpu, ptx-jit and hybrid entries' CUDA code on the
# CPU, for correctness only: its context says "device": "sim" and those entries' labels
# device=sim. Its statuses are evidence; its times are not GPU timings.
SIM_DEVICE = "sim"
SIMULATED = (
    "comes from the simulated device (device=sim): its timings are not GPU timings, so it is never "
    "compared, made a policy or a baseline (render shows its statuses)"
)
MAX_BATCH = 2**63 - 1  # the harness's batches are int64
# Result files nest 4 levels, our other JSON files (compare --json, probe --json) under 10:
# deeper is no file of ours, refused before json.loads would raise RecursionError (~1 000).
# The policy readers' limit too (python/modebench_policy reader.MAX_DEPTH).
MAX_DEPTH = 64
# A string (an unterminated one runs to the end: no quote is scanned twice), and runs of
# anything but brackets: what nesting_depth strips before it counts.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


# Control characters a file can put into a message (a name, a key): escaped, so the message
# stays one line (found by ci/fuzz.sh: a benchmark name with a newline).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def one_line(text: str) -> str:
    return _CONTROL.sub(lambda m: {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(m.group(), f"\\x{ord(m.group()):02x}"), text)


class BadInput(Exception):
    """Unusable input; str() is the one line printed before exit 2."""

    def __init__(self, path: str, why: str):
        super().__init__(one_line(f"{path}: {why}"))
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
    path: str = ""  # the file (process) it came from

    @property
    def contended(self) -> bool:
        """Timed while other processes kept the machine busy (contention.py): set aside."""
        return is_contended(self.counters)

    @property
    def name(self) -> str:
        return f"{self.op}/{self.case}/mode:{self.mode}/impl:{self.impl}/batch:{self.batch}"

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
    simulated: bool = False  # a run of the simulated device (SIM_DEVICE)

    @property
    def host(self) -> str:
        return host_key(self.context)

    @property
    def toolkit(self) -> str:
        return str(self.context.get("cuda_toolkit", "none"))

    @property
    def build(self) -> str:
        """The toolkit, and the torch build where torch impls ran (nightly --torch's variants)."""
        torch = self.context.get("torch_version")
        return f"{self.toolkit}, torch {torch}" if torch else self.toolkit


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
    readable = re.sub(r"[^a-z0-9]+", "-", key.lower()).strip("-")[:80] or "unknown-host"
    return f"{readable}-{hashlib.sha1(key.encode()).hexdigest()[:8]}"


def parse_name(name: str):
    for s in _SUFFIXES:
        if name.endswith(s):
            name = name[: -len(s)]
    m = _NAME.match(name)
    if not m:
        return None
    # Beyond int64 (or Python's int-from-text limit) is out of range: one past the largest.
    digits = m["batch"].lstrip("0")
    batch = int(digits or "0") if len(digits) <= len(str(MAX_BATCH)) else MAX_BATCH + 1
    return m["op"], m["case"], m["mode"], m["impl"], batch


def parse_label(text: str) -> dict:
    out = {}
    for part in (text or "").split(";"):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def own_image(label: dict):
    """Which image of our own kernels ran (`sass:<v>` or `ptx:<v>`), or None: label key
    `image_own=`, called `image=` in files written before the rename."""
    return label.get("image_own", label.get("image"))


def label_facts(label: dict) -> list:
    """The label facts a reader of the matrix wants: our kernels' image and the math that
    ran (`math=` is fp32, tf32, or tf32-allowed in newer files; shown as written)."""
    facts = []
    if own_image(label):
        facts.append(f"our kernels: {own_image(label)}")
    if label.get("math"):
        facts.append(f"math: {label['math']}")
    return facts


def _finite(path, bench, key, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadInput(path, f"benchmark '{bench}': '{key}' is not a number")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond a double
        raise BadInput(path, f"benchmark '{bench}': '{key}' is an integer too large for a number") from None
    if not math.isfinite(number):
        raise BadInput(path, f"benchmark '{bench}': '{key}' is {value} (non-finite)")
    return number


def nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in JSON text (brackets in strings do not
    count): linear in the text, no recursion."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(itertools.accumulate(map(_STEP.__getitem__, brackets), initial=0))


def _parse(path: str, text: str):
    """json.loads of a file's text, nesting bounded; BadInput names what is wrong."""
    if nesting_depth(text) > MAX_DEPTH:
        raise BadInput(path, f"not a file of ours: JSON nested deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except ValueError as e:  # an integer past Python's int-from-text limit (4300 digits)
        raise BadInput(path, f"not JSON ({str(e).split(';')[0]})") from None


def read_json(path: str):
    """A small JSON file of ours (limits, an earlier compare); BadInput when unreadable or not JSON."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise BadInput(path, f"cannot read: {e.strerror}") from None
    try:
        return _parse(path, raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadInput(path, "not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise BadInput(path, f"not JSON ({e.msg})") from None


def _read_document(path: str):
    """The file's JSON object; BadInput for unreadable, empty, non-UTF-8, non-JSON text."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise BadInput(path, f"cannot read: {e.strerror}") from None
    if not raw.strip():
        raise BadInput(path, "empty file")
    try:
        return _parse(path, raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadInput(path, "not UTF-8 text") from None
    except json.JSONDecodeError as e:
        at_end = e.pos >= len(raw.rstrip()) - 1
        why = "truncated JSON" if at_end else "not JSON"
        raise BadInput(path, f"{why} ({e.msg} at line {e.lineno} column {e.colno})") from None


def _check_schema(path: str, doc) -> dict:
    """The context of a Google Benchmark document with at least one benchmark."""
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
        raise BadInput(path, "wrong schema: expected a Google Benchmark JSON object with a 'benchmarks' list")
    context = doc.get("context", {})
    if not isinstance(context, dict):
        raise BadInput(path, "wrong schema: 'context' is not an object")
    if not doc["benchmarks"]:
        raise BadInput(path, "no benchmarks in file")
    return context


def _entry_key(path: str, i: int, entry) -> tuple:
    """(op, case, mode, impl, batch) of one benchmarks[] entry, aggregates included."""
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise BadInput(path, f"wrong schema: benchmarks[{i}] has no 'name'")
    base = entry.get("run_name", entry["name"])
    if entry.get("run_type", "iteration") == "aggregate" and "run_name" not in entry:
        base = _AGG_SUFFIX.sub("", base)
    parsed = parse_name(base) if isinstance(base, str) else None
    if parsed is None:
        raise BadInput(
            path, f"wrong schema: benchmark name '{entry['name']}' is not <op>/<case>/mode:<m>/impl:<i>/batch:<n>"
        )
    if not 1 <= parsed[4] <= MAX_BATCH:
        raise BadInput(path, f"benchmark name '{entry['name']}': the batch is not in [1, {MAX_BATCH}]")
    return parsed


def _take_label(path: str, entry: dict, rec: Record, allow_test_device: bool) -> None:
    label = entry.get("label", "")
    if not label:
        return
    if not isinstance(label, str):
        raise BadInput(path, f"benchmark '{entry['name']}': 'label' is not a string")
    rec.label_text, rec.label = label, parse_label(label)
    if rec.label.get("device") == "test" and not allow_test_device:
        raise BadInput(
            path,
            f"benchmark '{entry['name']}' comes from the test device (label device=test); "
            "test-device results never enter a real report",
        )


def _error_message(entry: dict):
    """Google Benchmark's error or skip message of an entry that produced no timing, else None."""
    if entry.get("error_occurred"):
        return str(entry.get("error_message", ""))
    if entry.get("skipped") and entry.get("skipped") not in ("false", "0"):
        return str(entry.get("skip_message", ""))
    return None


def _take_status(rec: Record, message: str) -> None:
    """The most severe status of the entry's repetitions wins."""
    status, cls = parse_status(message)
    if SEVERITY[status] >= SEVERITY[rec.status]:
        rec.status, rec.error_class, rec.message = status, cls, message


def _timing(path: str, entry: dict):
    """(seconds per call, {counter: value}) of a timed entry."""
    # Google Benchmark writes a time_unit beside every real_time and nothing gives it a default:
    # a file without one is not read as nanoseconds.
    if "time_unit" not in entry:
        raise BadInput(path, f"wrong schema: benchmark '{entry['name']}' has no 'time_unit'")
    unit = entry["time_unit"]
    if not isinstance(unit, str) or unit not in _TIME_UNIT:
        raise BadInput(path, f"benchmark '{entry['name']}': unknown time_unit '{unit}'")
    if "real_time" not in entry:
        raise BadInput(path, f"wrong schema: benchmark '{entry['name']}' has no 'real_time'")
    seconds = _finite(path, entry["name"], "real_time", entry["real_time"]) * _TIME_UNIT[unit]
    counters = {k: _finite(path, entry["name"], k, entry[k]) for k in COUNTERS if k in entry}
    return seconds, counters


def _aggregate_name(path: str, entry: dict) -> str:
    """median, mean, ...: its `aggregate_name`, or (older files) its name's suffix."""
    agg = entry.get("aggregate_name")
    if not agg:
        m = _AGG_SUFFIX.search(entry["name"])
        agg = m and m.group(1)
    if not isinstance(agg, str) or not agg:
        raise BadInput(path, f"benchmark '{entry['name']}': an aggregate without a usable 'aggregate_name'")
    return agg


def _add_sample(rec: Record, seconds: float, counters: dict) -> None:
    rec.times.append(seconds)
    for k, v in counters.items():
        rec.counters.setdefault(k, []).append(v)


def _use_aggregates(records: dict, aggregates: dict) -> None:
    """Files written with --benchmark_report_aggregates_only have no iteration entries:
    their median (else mean) is the one sample."""
    for key, aggs in aggregates.items():
        rec = records[key]
        if not rec.times and rec.status == "ok":
            pick = aggs.get("median") or aggs.get("mean")
            if pick:
                _add_sample(rec, *pick)


def _finish_records(path: str, records: dict) -> None:
    """Every record has a timing or a status; a record with a status keeps no timing."""
    for key, rec in records.items():
        if rec.status == "ok" and not rec.times:
            raise BadInput(path, f"benchmark '{'/'.join(map(str, key))}' has neither a timing nor a status")
        if rec.status != "ok":
            rec.times, rec.counters = [], {}


def _simulated(path: str, context: dict, records: dict) -> bool:
    """Whether the file is a run of the simulated device. Such a run holds no real device
    timing: a timed gpu/ptx-jit/hybrid entry without device=sim in it is a real one mixed in."""
    sim = context.get("device") == SIM_DEVICE or any(r.label.get("device") == SIM_DEVICE for r in records.values())
    if sim:
        for rec in records.values():
            if rec.status == "ok" and modes.uses_device(rec.mode) and rec.label.get("device") != SIM_DEVICE:
                raise BadInput(
                    path,
                    f"mixes simulated-device results (device=sim) with real ones: benchmark '{rec.name}' "
                    "has a timing but no device=sim label; a result set is either real or simulated, never both",
                )
    return sim


def refuse_simulated(processes) -> None:
    """For what uses timings as GPU timings (compare, policy, baselines): BadInput on a simulated run."""
    for p in processes:
        if p.simulated:
            raise BadInput(p.path, SIMULATED)


def load_process(path: str, allow_test_device: bool = False) -> Process:
    """One result file: one process."""
    doc = _read_document(path)
    context = _check_schema(path, doc)
    records: dict = {}
    aggregates: dict = {}  # key -> {aggregate_name: (seconds, counters)}, used only without iteration entries
    for i, entry in enumerate(doc["benchmarks"]):
        key = _entry_key(path, i, entry)
        rec = records.get(key)
        if rec is None:
            rec = records[key] = Record(*key, path=path)
        _take_label(path, entry, rec, allow_test_device)
        message = _error_message(entry)
        if message is not None:
            _take_status(rec, message)
            continue
        seconds, counters = _timing(path, entry)
        if entry.get("run_type", "iteration") == "aggregate":
            if entry.get("aggregate_unit", "time") == "time":
                aggregates.setdefault(key, {})[_aggregate_name(path, entry)] = (seconds, counters)
            continue
        if seconds <= 0:
            raise BadInput(path, f"benchmark '{entry['name']}': real_time {entry['real_time']} is not positive")
        _add_sample(rec, seconds, counters)
    _use_aggregates(records, aggregates)
    _finish_records(path, records)
    return Process(path=path, context=dict(context), records=records, simulated=_simulated(path, context, records))


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


def load_sets(args, allow_test_device: bool = False, allow_simulated: bool = False):
    """The sets of one command: all real, or (allow_simulated: render only) all simulated."""
    if not args:
        raise BadInput("(arguments)", "no result files given")
    sets = [load_set(a, allow_test_device) for a in args]
    procs = [p for s in sets for p in s.processes]
    if not allow_simulated:
        refuse_simulated(procs)
    sim = next((p for p in procs if p.simulated), None)
    real = next((p for p in procs if not p.simulated), None)
    if sim and real:
        raise BadInput(
            sim.path,
            f"a simulated-device run (device=sim), given with the real run {real.path}: a result set is either "
            "real or simulated, never both",
        )
    return sets


@dataclass
class Series:
    """One (op, case, mode, impl, batch) on one host/toolkit group across processes."""

    key: tuple
    records: list  # one Record per process that has it

    @property
    def status(self) -> str:
        return self.worst.status

    @property
    def worst(self) -> Record:
        """The record with the most severe status (the status the matrix shows)."""
        return max(self.records, key=lambda r: SEVERITY[r.status])

    @property
    def measured_worst(self) -> Record:
        """The most severe record among those that ran: a process where the device was busy
        or lost before this entry is no measurement. When none ran, the most severe one."""
        ran = [r for r in self.records if r.status not in NOT_MEASURED]
        return max(ran or self.records, key=lambda r: SEVERITY[r.status])

    @property
    def measured_status(self) -> str:
        """What decisions use: ok when every process that ran it was ok."""
        return self.measured_worst.status

    @property
    def ok_records(self):
        """The ok records the statistics use: contended ones are set aside (contention.py)."""
        return [r for r in self.records if r.status == "ok" and not r.contended]

    @property
    def timed(self) -> bool:
        """Whether statistics can use it: measured ok, with at least one quiet process."""
        return self.measured_status == "ok" and bool(self.ok_records)

    @property
    def contended_records(self):
        return [r for r in self.records if r.status == "ok" and r.contended]


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
