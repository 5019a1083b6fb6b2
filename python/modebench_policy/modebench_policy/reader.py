"""Read a modebench fallback policy and answer, per call: which mode?

    from modebench_policy import Policy
    policy = Policy.load("policy.json")              # PolicyError on a bad file or another host
    d = policy.choose("linear", {"in_features": 1280, "out_features": 1000}, batch=8)
    d.mode, d.impl, d.confidence, d.reason, d.source

`source` says where the answer comes from: "measured" (the batch ranges of a measured
case of that shape), "model" (the fitted cost model, for shapes that were not measured;
modebench-policy/2 only) or "default" (the safe default: the cpu mode, impl ""). A mode or
impl the policy excludes on this host (failed, wrong, unavailable, not measured) is never
chosen, and the reason names it. `Policy.load_or_default` never raises: a missing or bad
file gives the safe default, whose reason carries the error.

For a hot path, plan a shape once and look up per call:

    plan = policy.plan("linear", {"in_features": 1280, "out_features": 1000})
    d = plan.choose(8)                               # a binary search over the plan's pieces

A plan cuts the batches into pieces of one decision each (a measured case's ranges, or where
the cost model's choice changes) and gives choose()'s mode, impl, confidence and source at
every batch; a piece's reason names its batches. choose() answers from cached plans.

include/modebench/policy.hpp is the same reader in C++; both are tested against
tests/vectors/policy_decisions.json, and give the same outcome on every hostile or odd file
of tests/vectors/policy_hostile/: JSON nested deeper than MAX_DEPTH is refused before it is
parsed, a file's integers must fit int64 (features.MAX_DIMENSION for shape dimensions), and
what the C++ JSON parser refuses (lone surrogates, numbers beyond a double) is refused here.
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
import re
from dataclasses import dataclass

from . import host as _host
from .features import INT64_MAX, OPS, ShapeError, features, normalize, term_value

SCHEMA_V1 = "modebench-policy/1"
SCHEMA_V2 = "modebench-policy/2"
SCHEMAS = (SCHEMA_V1, SCHEMA_V2)
SAFE_MODE = "cpu"  # data and compute on the host: works wherever the application runs
SAFE_IMPL = ""  # no particular impl: whatever the application's own CPU path is
MEASURED, MODEL, DEFAULT = "measured", "model", "default"
# A policy nests 5 levels (document, rules, rule, ranges, range): deeper JSON is no policy.
# Refused before parsing: json.loads would raise RecursionError near 1 000 levels.
MAX_DEPTH = 64


# Text from the file (a key, a name) can hold any character: a message escapes the ASCII control
# characters (\n, \t, \x01), as policy.hpp does, so it stays one line.
_ONE_LINE = {**{i: f"\\x{i:02x}" for i in (*range(32), 127)}, 9: "\\t", 10: "\\n", 13: "\\r"}


class PolicyError(Exception):
    """A policy that cannot be used; str() is one line naming the file."""

    def __init__(self, message=""):
        super().__init__(str(message).translate(_ONE_LINE))


class HostMismatch(PolicyError):
    """The policy was measured on another host (load with allow_other_host=True to use it)."""


@dataclass(frozen=True)
class Decision:
    mode: str
    impl: str
    confidence: float  # share of bootstrap resamples in which the choice stays fastest; None: no such number
    reason: str
    source: str  # MEASURED, MODEL or DEFAULT


def _ms(seconds: float) -> str:
    return "%.3g ms" % (seconds * 1e3)


def _pct(x: float) -> str:
    return "%.0f%%" % (100 * x)


def _not_enough_runs(n) -> str:
    return f"not enough runs (n = {n})"


# ------------------------------------------------------------------ validation
class _Check:
    """Validates one document; every complaint names the file and the field."""

    def __init__(self, path):
        self.path = path

    def fail(self, where, why):
        raise PolicyError(f"{self.path}: not a usable modebench policy: {where} {why}")

    def obj(self, v, where):
        if not isinstance(v, dict):
            self.fail(where, "is not an object")
        return v

    def arr(self, v, where):
        if not isinstance(v, list):
            self.fail(where, "is not a list")
        return v

    def text(self, v, where):
        if not isinstance(v, str):
            self.fail(where, "is not a string")
        return v

    def integer(self, v, where, lo, null=False):
        """An int64 >= lo, as the C++ reader holds it."""
        if v is None and null:
            return v
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= INT64_MAX:
            self.fail(where, f"is not an integer in [{lo}, {INT64_MAX}]" + (" or null" if null else ""))
        return v

    def number(self, v, where, lo=None, hi=None, null=False):
        if v is None and null:
            return v
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(_as_float(v)):
            self.fail(where, "is not a finite number" + (" or null" if null else ""))
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            self.fail(where, f"= {v} is outside [{lo}, {hi if hi is not None else 'inf'}]")
        return float(v)

    def boolean(self, v, where):
        if not isinstance(v, bool):
            self.fail(where, "is not true/false")
        return v


def _as_float(v) -> float:
    """A JSON number as a double (inf beyond the range, where float() would raise)."""
    try:
        return float(v)
    except OverflowError:
        return math.inf


def _provisional(r) -> bool:
    """A range without enough runs: its mark, or (files without it) no confidence."""
    return r["provisional"] if "provisional" in r else r.get("confidence") is None


def _check_excluded(c, e, where, with_op=False):
    c.obj(e, where)
    for k in ("op",) * with_op + ("mode", "impl", "reason"):
        c.text(e.get(k), f"{where}.{k}")
    if "status" in e:
        c.text(e["status"], f"{where}.status")


def _check_rule(c, r, where, v2):
    c.obj(r, where)
    c.text(r.get("op"), f"{where}.op")
    c.text(r.get("case"), f"{where}.case")
    if r.get("shape") is not None:
        for k, v in c.obj(r["shape"], f"{where}.shape").items():
            c.integer(v, f"{where}.shape.{k}", lo=0)
    elif v2 and "shape" not in r:
        c.fail(f"{where}.shape", "is missing (null when the shape is not known)")
    prev = 0
    for j, x in enumerate(c.arr(r.get("ranges"), f"{where}.ranges")):
        w = f"{where}.ranges[{j}]"
        c.obj(x, w)
        lo = c.integer(x.get("batch_min"), f"{w}.batch_min", lo=1)
        hi = c.integer(x.get("batch_max"), f"{w}.batch_max", lo=lo, null=True)
        if lo != prev + 1:
            c.fail(f"{w}.batch_min", f"= {lo} does not follow the previous range (expected {prev + 1})")
        if hi is None and j != len(r["ranges"]) - 1:
            c.fail(f"{w}.batch_max", "is open (null) but the range is not the last")
        prev = hi if hi is not None else prev
        c.text(x.get("mode"), f"{w}.mode")
        c.text(x.get("impl"), f"{w}.impl")
        c.number(x.get("confidence"), f"{w}.confidence", 0, 1, null=True)
        if "provisional" in x or v2:
            c.boolean(x.get("provisional"), f"{w}.provisional")
        if x.get("processes") is not None or v2:
            c.integer(x.get("processes"), f"{w}.processes", lo=0)
        if not _provisional(x) and x.get("confidence") is None:
            c.fail(f"{w}.confidence", "is null but the range is not provisional")
    if r["ranges"] and r["ranges"][-1].get("batch_max") is not None:
        c.fail(f"{where}.ranges[-1].batch_max", "must be null (the last range is open)")
    for j, e in enumerate(c.arr(r.get("excluded", []), f"{where}.excluded")):
        _check_excluded(c, e, f"{where}.excluded[{j}]")
    for j, b in enumerate(c.arr(r.get("measured_batches", []), f"{where}.measured_batches")):
        c.integer(b, f"{where}.measured_batches[{j}]", lo=1)


def _check_model(c, m, where):
    c.obj(m, where)
    for k in ("op", "mode", "impl"):
        c.text(m.get(k), f"{where}.{k}")
    terms = c.obj(m.get("terms"), f"{where}.terms")
    if not terms:
        c.fail(f"{where}.terms", "is empty")
    for k, v in terms.items():
        if k not in ("call", "flop", "bytes", "points", "copied"):
            c.fail(f"{where}.terms.{k}", "is not a known term (call, flop, bytes, points, copied)")
        c.number(v, f"{where}.terms.{k}", lo=0)
    for j, k in enumerate(c.arr(m.get("kinds"), f"{where}.kinds")):
        c.text(k, f"{where}.kinds[{j}]")
    c.boolean(m.get("copies_weights"), f"{where}.copies_weights")
    c.number(m.get("margin"), f"{where}.margin", lo=0)
    if m.get("loco") is not None:
        lo = c.obj(m["loco"], f"{where}.loco")
        c.integer(lo.get("cases"), f"{where}.loco.cases", lo=2)
        c.number(lo.get("median_rel_error"), f"{where}.loco.median_rel_error", lo=0)


def validate(doc, path) -> dict:
    """The document if it is a modebench-policy/1 or /2; PolicyError otherwise."""
    c = _Check(path)
    c.obj(doc, "the document")
    schema = doc.get("schema")
    if schema not in SCHEMAS:
        raise PolicyError(f"{path}: schema is {schema!r}, expected one of {', '.join(SCHEMAS)}")
    v2 = schema == SCHEMA_V2
    c.obj(doc.get("host"), "host")
    for i, r in enumerate(c.arr(doc.get("rules"), "rules")):
        _check_rule(c, r, f"rules[{i}]", v2)
    if v2:
        ident = c.obj(doc.get("identity"), "identity")
        for k in ("cpu_model", "gpu_cc", "driver"):
            if ident.get(k) is not None:
                c.text(ident[k], f"identity.{k}")
        if ident.get("gpus") is not None:
            for j, g in enumerate(c.arr(ident["gpus"], "identity.gpus")):
                c.text(g, f"identity.gpus[{j}]")
        for i, m in enumerate(c.arr(doc.get("models"), "models")):
            _check_model(c, m, f"models[{i}]")
        for i, e in enumerate(c.arr(doc.get("excluded"), "excluded")):
            _check_excluded(c, e, f"excluded[{i}]", with_op=True)
        for k, v in c.obj(doc.get("risks"), "risks").items():
            c.integer(v, f"risks.{k}", lo=0)
    return doc


# A string (an unterminated one runs to the end, so no quote is scanned twice), and runs of
# anything but brackets: what nesting_depth strips before it counts.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_SURROGATE = re.compile("[\ud800-\udfff]")
# More digits than this is beyond a double (about 1.8e308): the C++ parser refuses it.
_MAX_INT_DIGITS = 310


def nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in JSON text (brackets in strings do not
    count): linear, no recursion; the C++ reader counts alike (policy_detail::nesting_depth)."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(itertools.accumulate(map(_STEP.__getitem__, brackets), initial=0))


def _not_a_number(text):
    raise ValueError(f"{text[:40]} is not a number")


def _parse_int(text):
    """An integer literal as the C++ parser takes it: any size a double holds (larger than
    int64 then fails validation where an integer is wanted), and no larger."""
    if len(text.lstrip("-")) <= _MAX_INT_DIGITS:
        value = int(text)
        try:
            float(value)
            return value
        except OverflowError:
            pass
    _not_a_number(f"{text[:20]}... ({len(text)} characters)")


def _parse_float(text):
    value = float(text)
    if not math.isfinite(value):  # 1e400: the C++ parser refuses it (number overflow)
        _not_a_number(text)
    return value


def _strings(doc):
    """Every string of a document, keys included (its depth is bounded: a plain walk)."""
    if isinstance(doc, str):
        yield doc
    elif isinstance(doc, dict):
        for k, v in doc.items():
            yield k
            yield from _strings(v)
    elif isinstance(doc, list):
        for v in doc:
            yield from _strings(v)


def read_document(path) -> dict:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise PolicyError(f"{path}: cannot read the policy: {e.strerror}") from None
    if not raw.strip(b" \t\r\n"):
        raise PolicyError(f"{path}: empty file, not a policy")
    try:
        text = raw.decode("utf-8-sig")  # a leading byte-order mark is skipped, as nlohmann does
    except UnicodeDecodeError:
        raise PolicyError(f"{path}: not UTF-8 text, not a policy") from None
    if nesting_depth(text) > MAX_DEPTH:
        raise PolicyError(f"{path}: not a usable modebench policy: nested deeper than {MAX_DEPTH} levels")
    try:
        doc = json.loads(text, parse_constant=_not_a_number, parse_int=_parse_int, parse_float=_parse_float)
    except json.JSONDecodeError as e:
        raise PolicyError(f"{path}: not JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
    except ValueError as e:
        raise PolicyError(f"{path}: not JSON ({e})") from None
    # json.loads takes "\\ud800" alone; UTF-8 (and the C++ parser) has no such character.
    if any(_SURROGATE.search(s) for s in _strings(doc)):
        raise PolicyError(f"{path}: not JSON (a string holds a lone surrogate)")
    return validate(doc, path)


# ------------------------------------------------------------------ plans
@dataclass(frozen=True)
class Piece:
    batch_min: int
    batch_max: int  # None: no upper bound
    decision: Decision  # its reason speaks of the piece's batches


class Plan:
    """One op and shape's decision for every batch (Policy.plan): the batches cut into pieces of
    one decision each; choose(batch) is a binary search over the pieces' first batches."""

    __slots__ = ("op", "pieces", "_starts", "_decisions", "_wording", "_from_rule")

    def __init__(self, op: str):
        self.op = op
        self.pieces = []
        self._starts = []
        self._decisions = []
        self._wording = []  # (head, tail, per_batch): how Policy.choose words a measured piece
        self._from_rule = False  # a measured case's ranges, not the cost model

    def choose(self, batch: int) -> Decision:
        """The decision at `batch`; ShapeError as Policy.choose."""
        if type(batch) is not int or not 0 < batch <= INT64_MAX:
            features(self.op, _SAMPLE_SHAPES[self.op], batch)  # raises as choose() does; passes an int subclass
        return self._decisions[self._index(batch)]

    def _index(self, batch) -> int:
        return bisect.bisect_right(self._starts, batch) - 1

    def _add(self, first: int, d: Decision, wording=None):
        if self.pieces:
            last = self.pieces[-1]
            self.pieces[-1] = Piece(last.batch_min, first - 1, last.decision)
        self.pieces.append(Piece(first, None, d))
        self._starts.append(first)
        self._decisions.append(d)
        self._wording.append(wording)


# A valid shape per op, to validate a batch the way features() does.
_SAMPLE_SHAPES = {
    "linear": {"in_features": 1, "out_features": 1},
    "conv2d": {"in_channels": 1, "out_channels": 1, "height": 1, "width": 1, "kernel_h": 1, "kernel_w": 1},
    "conv1d": {"in_channels": 1, "out_channels": 1, "length": 1, "kernel": 1},
    "ssim": {"height": 1, "width": 1},
    "knn": {},
}
# Plans cached per policy; an application with endless shapes starts again instead of growing.
MAX_CACHED_PLANS = 4096


# ------------------------------------------------------------------ the policy
class Policy:
    def __init__(self, doc: dict, path: str = "(policy)", host_note: str = "", error: str = None):
        """A validated document (see load); `error`: why this is the safe default instead."""
        self.doc, self.path, self.host_note, self.error = doc, path, host_note, error
        self.schema = doc.get("schema")
        self._plans = {}  # (op, case, normalized shape) -> Plan without model pieces, for choose()
        self._shapes = []  # the normalized shape of each rule, None where it has none or its op is unknown
        for i, r in enumerate(doc["rules"]):
            shape = None
            if r.get("shape") is not None and r["op"] in OPS:
                try:
                    shape = normalize(r["op"], r["shape"])
                except ShapeError as e:
                    raise PolicyError(f"{path}: not a usable modebench policy: rules[{i}].shape: {e}") from None
            self._shapes.append(shape)

    # ---- loading
    @classmethod
    def load(cls, path, host: _host.HostFacts = None, allow_other_host: bool = False) -> "Policy":
        """Reads and validates `path`, and compares its host identity with `host` (default:
        HostFacts.detect(), this machine). PolicyError (one line) on a bad file;
        HostMismatch when the hosts differ, unless allow_other_host."""
        doc = read_document(path)
        identity = _host.identity_of(doc["identity"]) if doc["schema"] == SCHEMA_V2 else _host.identity_of_v1(doc["host"])
        here = host if host is not None else _host.HostFacts.detect()
        diff, _unchecked = _host.differences(identity, here)
        note = ""
        if diff:
            what = "; ".join(f"{k}: here {_host.describe(a)}, policy {_host.describe(b)}" for k, a, b in diff)
            if not allow_other_host:
                raise HostMismatch(f"{path}: measured on another host ({what}); "
                                   "load with allow_other_host=True to use it anyway")
            note = f"policy from another host ({what})"
        return cls(doc, str(path), note)

    @classmethod
    def safe_default(cls, why: str) -> "Policy":
        """The safe default: every choice is the cpu mode, and says why."""
        return cls({"schema": None, "host": {}, "rules": []}, "(none)", error=why)

    @classmethod
    def load_or_default(cls, path, host: _host.HostFacts = None, allow_other_host: bool = False) -> "Policy":
        """As load, but a missing, bad or other-host file gives the safe default (cpu), whose
        decisions carry the error in their reason; `error` holds it too."""
        try:
            return cls.load(path, host, allow_other_host)
        except PolicyError as e:
            return cls.safe_default(str(e))
        except Exception as e:  # documented never to raise: a bug of ours is a bad file too
            return cls.safe_default(f"{path}: cannot use the policy: {type(e).__name__}: {e}")

    # ---- the decision
    def choose(self, op: str, shape, batch: int, case: str = None) -> Decision:
        """The mode (and impl) for one call of `op` on `shape` at `batch`. `case` (optional)
        names a measured case directly (knn's cases differ by point cloud, not shape).
        ShapeError (a ValueError) for an unknown op or an impossible shape or batch."""
        case = case or None  # "" names no case, as in C++
        s = normalize(op, shape)
        feats = features(op, s, batch)
        if self.error is not None:
            return self._decided(Decision(SAFE_MODE, SAFE_IMPL, None, f"safe default (cpu): {self.error}", DEFAULT))
        p = self._cached_plan(op, s, case)
        if not p._from_rule:
            return self._decided(self._modelled(op, feats, case))  # its reason gives this batch's predictions
        i = p._index(batch)
        d = p._decisions[i]
        head, tail, per_batch = p._wording[i]
        if per_batch:
            d = Decision(d.mode, d.impl, d.confidence, f"{head}batch {batch}{tail}", d.source)
        return d

    def plan(self, op: str, shape, case: str = None) -> Plan:
        """The decisions of `op` on `shape` (or on the measured case `case`) for every batch,
        resolved once; ShapeError as choose(). plan.choose(batch) gives choose()'s mode, impl,
        confidence and source at every batch."""
        return self._make_plan(op, normalize(op, shape), case or None, modelled=True)

    # ---- plans
    def _cached_plan(self, op, s, case) -> Plan:
        key = (op, case, tuple(sorted(s.items())))
        p = self._plans.get(key)
        if p is None:
            if len(self._plans) >= MAX_CACHED_PLANS:
                self._plans.clear()
            p = self._plans[key] = self._make_plan(op, s, case, modelled=False)
        return p

    def _make_plan(self, op, s, case, modelled) -> Plan:
        """`modelled`: also cut the cost model's choice into pieces (choose() words model
        decisions per batch and needs no pieces of them)."""
        features(op, s, 1)  # the same errors as choose()
        p = Plan(op)
        if self.error is not None:
            p._add(1, self._decided(Decision(SAFE_MODE, SAFE_IMPL, None, f"safe default (cpu): {self.error}", DEFAULT)))
            return p
        rule = self._rule(op, s, case)
        if rule is not None:
            p._from_rule = True
            self._plan_measured(rule, p)
        elif modelled:
            self._plan_modelled(op, s, case, p)
        return p

    def _plan_measured(self, rule, p: Plan):
        """A piece per range, cut again where "below/beyond the measured batches" starts."""
        starts = {1} | {r["batch_min"] for r in rule["ranges"]}
        batches = rule.get("measured_batches") or []
        if batches:
            starts.add(min(batches))
            if max(batches) < INT64_MAX:
                starts.add(max(batches) + 1)
        starts = sorted(starts)
        note = f" [{self.host_note}]" if self.host_note else ""
        for k, first in enumerate(starts):
            d, head, tail, per_batch = self._measured_at(rule, first)
            if per_batch:
                last = starts[k + 1] - 1 if k + 1 < len(starts) else "inf"
                d = Decision(d.mode, d.impl, d.confidence, f"{head}batches {first}..{last}{tail}", d.source)
                tail += note
            else:
                head += note
            p._add(first, self._decided(d), (head, tail, per_batch))

    def _plan_modelled(self, op, s, case, p: Plan):
        """Predicted times are affine in the batch (every feature is), so the cost model's choice
        can change only where two predictions (one scaled by a model's margin) cross. Each
        crossing is a candidate; where the choice differs across one, a binary search finds the
        first batch of the new choice."""
        def choice_at(b):
            return self._model_choice(op, features(op, s, b), case)

        first = choice_at(1)
        if first["pick"] is None:
            p._add(1, self._decided(first["fallback"]))
            return
        second = choice_at(2)
        times2 = {id(m): t for t, _, m in second["preds"]}
        alpha, beta, margins = [], [], {0.0}
        for t, _, m in first["preds"]:
            b = times2[id(m)] - t
            beta.append(b)
            alpha.append(t - b)
            margins.add(float(m["margin"]))
        candidates = set()
        for i, j in itertools.permutations(range(len(alpha)), 2):
            for m in margins:
                slope = beta[i] - (1 + m) * beta[j]
                if slope == 0:
                    continue
                root = -(alpha[i] - (1 + m) * alpha[j]) / slope
                if math.isfinite(root) and 1 <= root < 9.2e18:
                    candidates.add(int(root) + 1)
        candidates = sorted(candidates) + [INT64_MAX]
        start = checked = 1
        current = first
        pieces = []
        for c in candidates:
            if c <= checked:
                continue
            at_c = choice_at(c)
            while at_c["pick"] is not current["pick"]:
                lo, hi = checked, c  # current at lo, another choice at hi
                while hi - lo > 1:
                    mid = lo + (hi - lo) // 2
                    if choice_at(mid)["pick"] is current["pick"]:
                        lo = mid
                    else:
                        hi = mid
                pieces.append((start, current))
                start = checked = hi
                current = choice_at(hi)
                if hi == c:
                    break
            checked = c
        pieces.append((start, current))
        for k, (first_batch, mc) in enumerate(pieces):
            last = pieces[k + 1][0] - 1 if k + 1 < len(pieces) else "inf"
            chosen = mc["pick"]
            reason = (f"model: {mc['missing']}; {chosen['mode']}/{chosen['impl']} for batches {first_batch}..{last} "
                      "(a riskier mode only where predicted faster by more than its model's error)")
            lo = chosen.get("loco")
            reason += (f"; held-out error {_pct(lo['median_rel_error'])} over {lo['cases']} cases" if lo
                       else "; no held-out check (fitted on one case)")
            p._add(first_batch, self._decided(Decision(chosen["mode"], chosen["impl"], None, reason + mc["excl"], MODEL)))

    def _decided(self, d: Decision) -> Decision:
        if self.host_note:
            return Decision(d.mode, d.impl, d.confidence, f"{d.reason} [{self.host_note}]", d.source)
        return d

    def _rule(self, op, s, case):
        for r, shape in zip(self.doc["rules"], self._shapes):
            if r["op"] == op and (r["case"] == case if case is not None else shape == s):
                return r
        return None

    @staticmethod
    def _exclusions(entries) -> str:
        """'; never chosen here: gpu/cublas, gpu/cublas_tf32 (unavailable: ...); hybrid/naive
        (wrong ...)' (mode/impls sharing a reason together, in the policy's order) or ''."""
        by_reason = {}
        for e in entries:
            by_reason.setdefault(e["reason"], []).append(f"{e['mode']}/{e['impl']}")
        if not by_reason:
            return ""
        return "; never chosen here: " + "; ".join(f"{', '.join(lines)} ({why})" for why, lines in by_reason.items())

    def _measured_at(self, rule, batch):
        """(decision, head, tail, per_batch): the reason is head + "batch <n>" + tail, or head."""
        name = f"{rule['op']}/{rule['case']}"
        excl = self._exclusions(rule.get("excluded", []))
        if not rule["ranges"]:
            why = f"safe default (cpu): no mode gave a correct result on {name}{excl}"
            return Decision(SAFE_MODE, SAFE_IMPL, None, why, DEFAULT), why, "", False
        # A range without batch_max is open, as a null one (validation takes both, as C++ does).
        r = next((x for x in rule["ranges"]
                  if batch >= x["batch_min"] and (x.get("batch_max") is None or batch <= x["batch_max"])),
                 rule["ranges"][-1])
        span = f"{r['batch_min']}..{r['batch_max'] if r.get('batch_max') is not None else 'inf'}"
        provisional = _provisional(r)
        n = r.get("processes")
        n = "?" if n is None else n
        if provisional:
            certainty = f"provisional: {_not_enough_runs(n)}"
        else:
            certainty = f"confidence {r['confidence']:.2f} over {n} processes"
        where = ""
        batches = rule.get("measured_batches") or []
        if batches and batch > max(batches):
            where = f"; beyond the largest measured batch ({max(batches)})"
        elif batches and batch < min(batches):
            where = f"; below the smallest measured batch ({min(batches)})"
        confidence = None if provisional else r.get("confidence")
        head = f"measured: {name} "
        tail = f" in {span}: {r['mode']}/{r['impl']} fastest ({certainty}){where}{excl}"
        return Decision(r["mode"], r["impl"], confidence, f"{head}batch {batch}{tail}", MEASURED), head, tail, True

    def _model_choice(self, op, feats, case) -> dict:
        """The cost model's choice for `feats`: the predictions in order (time, risk, model),
        the fastest (best) and the one chosen (pick), or, with no model to ask, the safe default
        (fallback)."""
        missing = f"no measured case '{case}' of {op}" if case is not None else f"not a measured {op} shape"
        out = {"preds": [], "best": None, "pick": None, "t_pick": 0.0, "fallback": None, "missing": missing, "excl": ""}
        if self.schema != SCHEMA_V2:
            out["fallback"] = Decision(SAFE_MODE, SAFE_IMPL, None,
                                       f"safe default (cpu): {missing}, and a {self.schema} policy has no cost model", DEFAULT)
            return out
        excluded = [e for e in self.doc["excluded"] if e["op"] == op]
        barred = {(e["mode"], e["impl"]) for e in excluded}
        out["excl"] = excl = self._exclusions(excluded)
        risks = self.doc["risks"]
        unknown_risk = max(risks.values(), default=0) + 1
        preds = out["preds"]
        for m in self.doc["models"]:
            if m["op"] != op or (m["mode"], m["impl"]) in barred or feats["kind"] not in m["kinds"]:
                continue
            # Term by term in sorted order, as C++ (whose JSON objects are sorted) adds them up: a
            # file's order or sum()'s compensation (Python >= 3.12) would round differently.
            t = 0.0
            for k in sorted(m["terms"]):
                t += m["terms"][k] * term_value(k, feats, m["copies_weights"])
            preds.append((t, risks.get(m["mode"], unknown_risk), m))
        if not preds:
            out["fallback"] = Decision(SAFE_MODE, SAFE_IMPL, None,
                                       f"safe default (cpu): {missing}, and no cost model covers {op} shapes of kind '{feats['kind']}'{excl}", DEFAULT)
            return out
        preds.sort(key=lambda p: (p[0], p[1], p[2]["mode"], p[2]["impl"]))
        best_t, best_risk, best = preds[0]
        # A riskier mode must win by more than its model's held-out error.
        safer = [p for p in preds if p[1] < best_risk and p[0] <= best_t * (1 + best["margin"])]
        t, _, pick = min(safer, key=lambda p: (p[1], p[0])) if safer else preds[0]
        out.update(best=best, pick=pick, t_pick=t)
        return out

    def _modelled(self, op, feats, case) -> Decision:
        c = self._model_choice(op, feats, case)
        pick, best = c["pick"], c["best"]
        if pick is None:
            return c["fallback"]
        others = [p for p in c["preds"] if p[2] is not pick]
        reason = f"model: {c['missing']}; predicted {pick['mode']}/{pick['impl']} {_ms(c['t_pick'])}"
        if others:
            reason += ", next " + ", ".join(f"{p[2]['mode']}/{p[2]['impl']} {_ms(p[0])}" for p in others[:2])
        if pick is not best:
            reason += (f"; {best['mode']}/{best['impl']} predicted faster but within its model's error "
                       f"({_pct(best['margin'])}): the safer mode kept")
        lo = pick.get("loco")
        reason += (f"; held-out error {_pct(lo['median_rel_error'])} over {lo['cases']} cases" if lo
                   else "; no held-out check (fitted on one case)")
        return Decision(pick["mode"], pick["impl"], None, reason + c["excl"], MODEL)
