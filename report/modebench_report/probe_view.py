"""`render --probe FILE`: the verdict table of `modebench probe --binary … --json FILE`
(schema modebench-probe-binary/1): per binary, the SASS and PTX it carries and, per device
asked about, whether it runs native, JIT-compiles from PTX or has no image, normally and
under CUDA_FORCE_PTX_JIT=1; per PATH the weakest file, named.

Bad input (unreadable, not JSON, another schema, a missing field) is one line naming the
file (BadInput, exit 2), found before the report writes anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from .load import BadInput, read_json

SCHEMA = "modebench-probe-binary/1"
VERDICT_COLOUR = {"native": "#c8e6c9", "jit": "#fff3c4", "no image": "#ffcdd2"}
UNREADABLE_COLOUR = "#e0e0e0"


@dataclass
class Probe:
    path: str  # the file given to --probe
    doc: dict


def _need(path, obj, key, kind, where):
    v = obj.get(key) if isinstance(obj, dict) else None
    if not isinstance(v, kind):
        name = {list: "a list", dict: "an object", str: "a string"}.get(kind, "a value")
        raise BadInput(path, f"not a {SCHEMA} document: {where}.{key} is not {name}")
    return v


def _check_judgement(path, j, where):
    for k in ("verdict", "cell", "reason"):
        _need(path, j, k, str, where)


def load_probe(path: str) -> Probe:
    doc = read_json(path)
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        got = doc.get("schema") if isinstance(doc, dict) else type(doc).__name__
        raise BadInput(path, f"not a {SCHEMA} document (schema {got!r}; make one with modebench probe --binary PATH --json FILE)")
    devices = _need(path, doc, "devices", list, "the document")
    for i, d in enumerate(devices):
        _need(path, d, "name", str, f"devices[{i}]")
    for i, p in enumerate(_need(path, doc, "paths", list, "the document")):
        w = f"paths[{i}]"
        _need(path, p, "path", str, w)
        _need(path, p, "kind", str, w)
        _need(path, p, "counts", dict, w)
        for j, f in enumerate(_need(path, p, "files", list, w)):
            fw = f"{w}.files[{j}]"
            for k in ("relative", "status"):
                _need(path, f, k, str, fw)
            if f["status"] != "ok":
                continue
            _need(path, f, "sass", list, fw)
            _need(path, f, "ptx", list, fw)
            for k, v in enumerate(_need(path, f, "verdicts", list, fw)):
                _check_judgement(path, v, f"{fw}.verdicts[{k}]")
                _check_judgement(path, _need(path, v, "force_ptx_jit", dict, f"{fw}.verdicts[{k}]"),
                                 f"{fw}.verdicts[{k}].force_ptx_jit")
        for j, wk in enumerate(_need(path, p, "weakest", list, w)):
            _need(path, wk, "device", str, f"{w}.weakest[{j}]")
    return Probe(path, doc)


def devices(probe: Probe) -> list:
    return [d["name"] for d in probe.doc["devices"]]


def path_summary(p: dict) -> str:
    c = p["counts"]
    return (f"{p['path']} ({p['kind']}): {c.get('files', '?')} files, {c.get('with_cuda', '?')} with CUDA code, "
            f"{c.get('without_cuda', '?')} without (counted, not listed), {c.get('bad', 0)} unreadable")


def file_rows(probe: Probe, p: dict) -> list:
    """Per file with CUDA code (or a status): (name, SASS, PTX, [(cell, verdict, reason)] for each
    device normally, then for each device under CUDA_FORCE_PTX_JIT=1)."""
    names = devices(probe)
    rows = []
    for f in p["files"]:
        if f["status"] != "ok":
            note = f"{f['status']}: {f.get('message', '')}"
            rows.append((f["relative"], "-", "-", [(f["status"], None, note)] * (2 * len(names))))
            continue
        sass = " ".join(f["sass"]) or "none"
        ptx = " ".join(f"{x.get('arch', '?')} (ISA {x.get('ptx_isa', '?')})" for x in f["ptx"]) or "none"
        by_device = {v["device"]: v for v in f["verdicts"]}
        cells = []
        for forced in (False, True):
            for n in names:
                v = by_device.get(n)
                j = (v["force_ptx_jit"] if forced else v) if v else None
                cells.append((j["cell"], j["verdict"], j["reason"]) if j else ("-", None, "not judged"))
        rows.append((f["relative"], sass, ptx, cells))
    return rows


def arch_list_lines(doc: dict, p: dict) -> list:
    """Where the software's own arch list (probe --binary --arch-list, e.g. torch.cuda.get_arch_list())
    and the binaries disagree, one line per device: the binaries win."""
    if not doc.get("arch_list"):
        return []
    out = []
    for w in p["weakest"]:
        for key in ("normal", "force_ptx_jit"):
            claim = (w.get("arch_list") or {}).get(key) or {}
            if claim.get("agree") is False:
                out.append(f"arch list '{doc['arch_list']}' disagrees with the binaries – {claim.get('text', '')}")
    return out


def weakest_lines(p: dict) -> list:
    out = []
    for w in p["weakest"]:
        for key, how in (("normal", ""), ("force_ptx_jit", " under CUDA_FORCE_PTX_JIT=1")):
            j = w.get(key)
            if j:
                out.append(f"weakest on {w['device']}{how}: {j.get('file', '?')}: {j.get('cell', '?')} – {j.get('reason', '')}")
    return out
