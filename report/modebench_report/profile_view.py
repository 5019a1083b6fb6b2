"""`render --profile FILE`: a model's placement plan, from `modebench_policy.profile()`'s file
(schema modebench-profile/1, docs/contract.md): per model the layer table (shape, time per mode,
the chosen placement) per batch, and the whole-model time predicted per plan (the chosen one and
each single-mode one) against the measured time of the patched model.

Bad input (unreadable, not JSON, another schema, a missing field) is one line naming the file
(BadInput, exit 2), found before the report writes anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from .load import BadInput, read_json

SCHEMA = "modebench-profile/1"


@dataclass
class Profile:
    path: str
    doc: dict


def _need(path, obj, key, kinds, where):
    v = obj.get(key) if isinstance(obj, dict) else None
    if not isinstance(v, kinds) or isinstance(v, bool):
        raise BadInput(path, f"not a {SCHEMA} document: {where}.{key} is missing or of the wrong type")
    return v


def load_profile(path: str) -> Profile:
    doc = read_json(path)
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        got = doc.get("schema") if isinstance(doc, dict) else type(doc).__name__
        raise BadInput(path, f"not a {SCHEMA} document (schema {got!r}; modebench_policy.profile(..., out=FILE) "
                             "writes one)")
    num = (int, float)
    _need(path, doc, "model", str, "the document")
    _need(path, doc, "notes", list, "the document")
    for i, la in enumerate(_need(path, doc, "layers", list, "the document")):
        w = f"layers[{i}]"
        _need(path, la, "index", int, w)
        _need(path, la, "name", str, w)
        _need(path, la, "op", str, w)
        if la.get("why") is None:
            _need(path, la, "shape", dict, w)
    for i, b in enumerate(_need(path, doc, "batches", list, "the document")):
        w = f"batches[{i}]"
        _need(path, b, "batch", int, w)
        _need(path, b, "rest_ms", num, w)
        plan = _need(path, b, "plan", dict, w)
        _need(path, plan, "predicted_ms", num, w + ".plan")
        _need(path, b, "single_mode", dict, w)
        for j, la in enumerate(_need(path, b, "layers", list, w)):
            lw = f"{w}.layers[{j}]"
            idx = _need(path, la, "index", int, lw)
            if not 0 <= idx < len(doc["layers"]):
                raise BadInput(path, f"not a {SCHEMA} document: {lw}.index = {idx} names no layer")
            _need(path, la, "placement", str, lw)
            _need(path, la, "modes", dict, lw)
    return Profile(path, doc)


def shape_text(shape) -> str:
    return ",".join(f"{k}={v}" for k, v in shape.items()) if shape else "–"


def _ms(x) -> str:
    return "–" if x is None else f"{x:.3g}"


def modes_of(doc) -> list:
    return list(doc.get("modes") or ["cpu"])


def layer_rows(doc, entry) -> list:
    """[index, name, op, shape, op batch, per mode "ms (impl) / best own", placement] of one batch."""
    rows = []
    for la in entry["layers"]:
        meta = doc["layers"][la["index"]]
        cells = []
        for mode in modes_of(doc):
            cell = la["modes"].get(mode) or {}
            ms = cell.get("ms") or {}
            if not ms:
                status = next(iter((cell.get("status") or {}).values()), "not measured")
                cells.append(status.split(":")[0])
                continue
            shown = [f"{impl} {_ms(t)}" for impl, t in sorted(ms.items(), key=lambda kv: kv[1])]
            cells.append(", ".join(shown))
        rows.append([str(meta["index"]), meta["name"], meta["op"], shape_text(meta["shape"]), str(la.get("batch", "")),
                     *cells, f"{la['placement']}/{la.get('impl', '')}"])
    for meta in doc["layers"]:
        if meta.get("why"):
            rows.append([str(meta["index"]), meta["name"], meta["op"], shape_text(meta.get("shape")), "",
                         *(["–"] * len(modes_of(doc))), f"in the rest: {meta['why']}"])
    return rows


def totals_rows(doc) -> list:
    """[batch, chosen plan predicted, each single-mode predicted, measured patched, unpatched, error]."""
    rows = []
    single = sorted({m for b in doc["batches"] for m in b["single_mode"]})
    for b in doc["batches"]:
        p = b["plan"]
        err = b.get("error")
        rows.append([str(b["batch"]), f"{_ms(p['predicted_ms'])} (rest {_ms(b['rest_ms'])})",
                     *[_ms(b["single_mode"].get(m, {}).get("predicted_ms")) for m in single],
                     _ms(b.get("measured_ms")), _ms(b.get("unpatched_ms")),
                     "–" if err is None else f"{100 * err:+.0f} %"])
    return rows, single
