"""Self-contained HTML page, Markdown summary and PNG/SVG charts."""

from __future__ import annotations

import base64
import io
import re
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from . import samples as S  # noqa: E402
from .crossover import find_crossings  # noqa: E402
from .load import Series, by_case  # noqa: E402
from .stats import rng_for  # noqa: E402

from .text import LIMIT_KEYS, esc, limits_for, md  # noqa: E402

matplotlib.rcParams["svg.hashsalt"] = "modebench"  # reproducible SVG ids
_STATUS_COLOUR = {"ok": "#c8e6c9", "unavailable": "#e0e0e0", "failed": "#ffcdd2", "wrong": "#ff8a80"}


def _mpl(s) -> str:
    """matplotlib text: '$' would start mathtext."""
    return str(s).replace("$", r"\$")


def _slug(s) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(s))[:80] or "x"


# ---------------------------------------------------------------- data model
class Group:
    """One column of the report: one set on one host with one toolkit."""

    def __init__(self, label, processes, limits):
        from .load import group_series

        self.label = label
        self.processes = processes
        self.series = group_series(processes, lambda p: 0).get(0, {})
        self.cases = by_case(self.series)
        ctx = processes[0].context
        self.limits = dict(limits)
        for k in LIMIT_KEYS:
            try:
                v = float(ctx[k])
                if np.isfinite(v) and v > 0:
                    self.limits[k] = v
            except (KeyError, TypeError, ValueError):
                pass


def make_groups(sets, limits):
    groups = []
    for s in sets:
        by: dict = {}
        for p in s.processes:
            by.setdefault((p.host, p.toolkit), []).append(p)
        for (host, tk), procs in sorted(by.items()):
            label = f"{host} | toolkit {tk}"
            if len(sets) > 1 or len(by) > 1:
                label = f"{s.name}: {label}"
            groups.append(Group(label, procs, limits))
    return groups


def line_points(by_batch: dict):
    """Per batch: median, low, high (s) of the units, and work per call (flop or items)."""
    pts = []
    for b in sorted(by_batch):
        s = by_batch[b]
        if s.status != "ok":
            continue
        v, _ = S.units(s)
        flops = [np.median(np.asarray(r.counters["FLOPS"]) * np.asarray(r.times)) for r in s.ok_records if "FLOPS" in r.counters]
        byts = [
            np.median(np.asarray(r.counters["bytes_per_second"]) * np.asarray(r.times))
            for r in s.ok_records
            if "bytes_per_second" in r.counters
        ]
        pts.append(
            {
                "batch": b,
                "median": float(np.median(v)),
                "lo": float(np.min(v)),
                "hi": float(np.max(v)),
                "flop": float(np.median(flops)) if flops else None,
                "bytes": float(np.median(byts)) if byts else None,
            }
        )
    return pts


def crossings_of(group, op, case):
    lines = group.cases[(op, case)]
    ok = {ln: {b: S.units(s)[0] for b, s in bb.items() if s.status == "ok"} for ln, bb in lines.items()}
    ok = {ln: v for ln, v in ok.items() if len(v) >= 2}
    names = sorted(ok)
    single_mode = len({ln[0] for ln in names}) <= 1
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if a[0] == b[0] and not single_mode:
                continue  # between modes; impls of one mode are compared when it is the only mode
            xs, agreement = find_crossings(ok[a], ok[b], rng_for(group.label, op, case, a, b))
            for x in xs:
                out.append({"a": a, "b": b, "x": x})
            if not xs and agreement < 0.9:
                out.append({"a": a, "b": b, "x": None, "agreement": agreement})
    return out


# ---------------------------------------------------------------- charts
def chart(groups, op, case):
    present = [g for g in groups if (op, case) in g.cases]
    fig, axes = plt.subplots(2, len(present), figsize=(5.2 * len(present), 7.5), squeeze=False)
    cmap = plt.get_cmap("tab10")
    all_lines = sorted({ln for g in present for ln in g.cases[(op, case)]})
    colour = {ln: cmap(i % 10) for i, ln in enumerate(all_lines)}
    crossings = {}
    for col, g in enumerate(present):
        at, ar = axes[0][col], axes[1][col]
        unit_name = "GFLOP/s"
        from .policy import excluded_lines

        bad = excluded_lines(g.cases, op)
        for ln, by_batch in sorted(g.cases[(op, case)].items()):
            pts = line_points(by_batch)
            if not pts:
                continue
            style = "o--" if ln in bad else "o-"  # ever wrong/failed: drawn, never trusted
            x = [p["batch"] for p in pts]
            med = np.array([p["median"] for p in pts]) * 1e3
            lo = np.array([p["lo"] for p in pts]) * 1e3
            hi = np.array([p["hi"] for p in pts]) * 1e3
            label = _mpl(f"{ln[0]}/{ln[1]}" + (" (wrong/failed)" if ln in bad else ""))
            at.plot(x, med, style, color=colour[ln], label=label)
            at.fill_between(x, lo, hi, color=colour[ln], alpha=0.2, linewidth=0)
            if all(p["flop"] for p in pts):
                work = np.array([p["flop"] for p in pts]) / 1e9
            else:
                work, unit_name = np.array(x, float), "items/s"
            ar.plot(x, work / (med / 1e3), style, color=colour[ln], label=label)
            ar.fill_between(x, work / (hi / 1e3), work / (lo / 1e3), color=colour[ln], alpha=0.2, linewidth=0)
        modes_here = {ln[0] for ln in g.cases[(op, case)]}
        for family, modes in (("host", ("cpu", "hybrid")), ("gpu", ("gpu", "ptx-jit"))):
            if unit_name != "GFLOP/s" or not modes_here & set(modes):
                continue
            peak, bw = limits_for(g.limits, modes[0])
            if peak:
                ar.axhline(peak, color="k", ls="--", lw=1, label=f"{family} peak {peak:g} GFLOP/s")
            if bw:
                # Memory roofline: bandwidth x arithmetic intensity of the case at each batch.
                any_line = next(iter(g.cases[(op, case)].values()))
                pts = [p for p in line_points(any_line) if p["flop"] and p["bytes"]]
                if pts:
                    roof = [bw * p["flop"] / p["bytes"] for p in pts]
                    roof = [min(x, peak) for x in roof] if peak else roof
                    ar.plot([p["batch"] for p in pts], roof, color="grey", ls=":", lw=1, label=f"{family} roofline {bw:g} GB/s")
        crossings[g.label] = cs = crossings_of(g, op, case)
        for c in cs:
            x = c["x"]
            if x is None:
                continue
            at.axvline(x.batch, color="k", lw=0.8, ls="--" if x.ambiguous else "-")
            at.axvspan(x.ci[0], x.ci[1], color="k", alpha=0.08)
        for ax, yl in ((at, "time per call (ms)"), (ar, unit_name)):
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel("batch")
            ax.set_ylabel(yl)
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=7)
        at.set_title(_mpl(f"{op}/{case}\n" + "\n".join(textwrap.wrap(g.label, 70))), fontsize=8)
    fig.tight_layout()
    out = {}
    for fmt in ("png", "svg"):
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=90, metadata={"Date": None} if fmt == "svg" else None)
        out[fmt] = buf.getvalue()
    plt.close(fig)
    return out, crossings


# ---------------------------------------------------------------- tables
def matrix(group):
    """{op: {(mode, impl): (status_text, [messages])}} with the worst status."""
    from .load import _SEVERITY

    out: dict = {}
    for (op, case, mode, impl, batch), s in sorted(group.series.items(), key=lambda kv: tuple(map(str, kv[0]))):
        cell = out.setdefault(op, {}).setdefault((mode, impl), {"rec": None, "msgs": []})
        w = s.worst
        if cell["rec"] is None or _SEVERITY[w.status] > _SEVERITY[cell["rec"].status]:
            cell["rec"] = w
        if w.status != "ok":
            cell["msgs"].append(f"{case} batch {batch}: {w.message}")
    return out


def _fmt_time(s):
    return f"{s * 1e3:.3g} ms" if s >= 1e-3 else f"{s * 1e6:.3g} us"


def _crossing_rows(label, op, case, cs):
    rows = []
    for c in cs:
        a, b, x = c["a"], c["b"], c["x"]
        pair = f"{a[0]}/{a[1]} vs {b[0]}/{b[1]}"
        if x is None:
            rows.append((label, f"{op}/{case}", pair, "none measured", "-", f"ambiguous ({c['agreement']:.0%} agree)"))
            continue
        below = a if x.faster_below == "a" else b
        note = f"ambiguous ({x.agreement:.0%} agree)" if x.ambiguous else f"{x.agreement:.0%} agree"
        rows.append(
            (
                label,
                f"{op}/{case}",
                pair,
                f"{x.batch:.3g} ({below[0]}/{below[1]} faster below)",
                f"[{x.ci[0]:.3g}, {x.ci[1]:.3g}]",
                note,
            )
        )
    return rows


def best_rows(group):
    """Fastest correct line per op/case/batch (lines ever wrong/failed in the op are left out)."""
    from .policy import excluded_lines

    rows = []
    for (op, case), lines in sorted(group.cases.items()):
        bad = excluded_lines(group.cases, op)
        batches = sorted({b for bb in lines.values() for b in bb})
        for b in batches:
            cands = []
            for ln, bb in lines.items():
                if b in bb and bb[b].status == "ok" and ln not in bad:
                    p = line_points({b: bb[b]})[0]
                    cands.append((p["median"], ln, p))
            if not cands:
                continue
            t, ln, p = min(cands, key=lambda c: c[0])
            peak, bw = limits_for(group.limits, ln[0])
            gf = p["flop"] / t / 1e9 if p["flop"] else None
            gb = p["bytes"] / t / 1e9 if p["bytes"] else None
            rows.append(
                (
                    f"{op}/{case}",
                    b,
                    f"{ln[0]}/{ln[1]}",
                    _fmt_time(t),
                    f"{gf:.3g}" + (f" ({100 * gf / peak:.0f}% of peak)" if peak else "") if gf else "-",
                    f"{gb:.3g}" + (f" ({100 * gb / bw:.0f}% of bw)" if bw else "") if gb else "-",
                )
            )
    return rows


# Hybrid time split (ms per call); older result files lack it.
SPLIT = ("copy_in_ms", "compute_ms", "copy_out_ms")


def _g3(x):
    """3 significant digits without an exponent (1230, not 1.23e+03); "-" for none."""
    return "-" if x is None else f"{float(f'{x:.3g}'):.15g}"


def hybrid_rows(group):
    """Per ok hybrid series with the time split: median over processes of each part, the
    transfer share of their sum, and the fastest ok cpu impl's median time at that batch."""
    rows = []
    for (op, case, mode, impl, b), s in sorted(group.series.items(), key=lambda kv: kv[0][:2] + kv[0][3:]):
        parts = [S.process_medians(s, k) for k in SPLIT] if mode == "hybrid" and s.status == "ok" else []
        if not parts or not all(parts):
            continue
        cin, comp, cout = (float(np.median(v)) for v in parts)
        total = cin + comp + cout
        # The share of the medians shown, so the row adds up (not the median of transfer_fraction).
        pct = f"{100 * (cin + cout) / total:.1f}" if total > 0 else "-"
        cpu = [
            float(np.median(S.process_medians(bb[b])))
            for ln, bb in group.cases[(op, case)].items()
            if ln[0] == "cpu" and b in bb and bb[b].status == "ok"
        ]
        rows.append((f"{op}/{case}", impl, b, _g3(cin), _g3(comp), _g3(cout), pct, _g3(min(cpu) * 1e3) if cpu else "-"))
    return rows


def _cold(s):
    """The ok records of a series whose entry was the first of its impl in its process; files
    without first_call= in the label are unknown and give none."""
    return Series(s.key, [r for r in s.ok_records if r.label.get("first_call") == "cold"])


def _cold_start_ms(series):
    """Per process: setting the impl up (cudnnFind may load or JIT kernels there) plus its
    first call; files older than setup_ms give the first call alone."""
    def med(r, k):
        return float(np.median(r.counters[k])) if k in r.counters else 0.0

    return [med(r, "setup_ms") + med(r, "first_call_ms") for r in series.ok_records if "first_call_ms" in r.counters]


def first_call_rows(group):
    """Per (op/case, impl) with a cold gpu or ptx-jit record: the median cold start (setup +
    first call) of the cold records of each mode (over processes and batches), ptx-jit minus gpu
    (the JIT cost), and the gpu mode's median time per call (ms) at its smallest cold batch."""
    cold: dict = {}  # (op, case, impl) -> {mode: {batch: Series of the cold records}}
    for (op, case, mode, impl, b), s in group.series.items():
        if mode in ("gpu", "ptx-jit") and (c := _cold(s)).records:
            cold.setdefault((op, case, impl), {}).setdefault(mode, {})[b] = c
    rows = []
    for (op, case, impl), modes in sorted(cold.items()):
        med = {}
        for mode, bb in modes.items():
            v = [x for c in bb.values() for x in _cold_start_ms(c)]
            med[mode] = float(np.median(v)) if v else None
        gpu, jit = med.get("gpu"), med.get("ptx-jit")
        steady = None
        if "gpu" in modes:
            # All ok records of that series, warm or cold: time per call is steady state either way.
            steady = float(np.median(S.process_medians(group.series[(op, case, "gpu", impl, min(modes["gpu"]))]))) * 1e3
        cost = jit - gpu if gpu is not None and jit is not None else None
        rows.append((f"{op}/{case}", impl, _g3(gpu), _g3(jit), _g3(cost), _g3(steady)))
    return rows


# ---------------------------------------------------------------- documents
_CSS = """body{font-family:sans-serif;margin:1.5em;max-width:1400px}
table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #bbb;padding:3px 7px;font-size:13px}
th{background:#f0f0f0}img{max-width:100%}.cell{cursor:help}"""


def _group_table(h, m, label, head, rows):
    """One group's table, appended to the HTML (h) and markdown (m) lines."""
    h.append(f"<h3>{esc(label)}</h3><table><tr>" + "".join(f"<th>{esc(c)}</th>" for c in head) + "</tr>")
    m += [f"### {md(label)}", "", "| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for r in rows:
        h.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>")
        m.append("| " + " | ".join(md(c) for c in r) + " |")
    h.append("</table>")
    m.append("")


def _optional_section(h, m, groups, title, rows_of, head, note, none_note):
    """A section whose rows only newer result files can give: one table per group that has
    rows, and a line saying so when none has (older files still render)."""
    h.append(f"<h2>{esc(title)}</h2>")
    m += [f"## {title}", ""]
    shown = [(g, rows) for g in groups for rows in [rows_of(g)] if rows]
    line = note if shown else none_note
    h.append(f"<p>{esc(line)}</p>")
    m += [line, ""]
    for g, rows in shown:
        _group_table(h, m, g.label, head, rows)


def build(groups):
    """Returns (html, markdown, {filename: bytes})."""
    files = {}
    h = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>modebench report</title><style>{_CSS}</style></head><body>"]
    m = ["# modebench report", ""]
    h.append("<h1>modebench report</h1><h2>Sets</h2><table><tr><th>set</th><th>processes</th><th>git</th><th>limits</th></tr>")
    m += ["## Sets", "", "| set | processes | git | limits |", "|---|---|---|---|"]
    for g in groups:
        shas = sorted({str(p.context.get("git_sha", "?")) for p in g.processes})
        lim = ", ".join(f"{k}={v:g}" for k, v in sorted(g.limits.items())) or "unknown"
        h.append(f"<tr><td>{esc(g.label)}</td><td>{len(g.processes)}</td><td>{esc(' '.join(shas))}</td><td>{esc(lim)}</td></tr>")
        m.append(f"| {md(g.label)} | {len(g.processes)} | {md(' '.join(shas))} | {md(lim)} |")
    h.append("</table>")
    m.append("")

    h.append("<h2>Compatibility matrix</h2>")
    m += ["## Compatibility matrix", ""]
    for g in groups:
        mx = matrix(g)
        cols = sorted({ln for row in mx.values() for ln in row})
        h.append(f"<h3>{esc(g.label)}</h3><table><tr><th>op</th>" + "".join(f"<th>{esc(c[0])}<br>{esc(c[1])}</th>" for c in cols) + "</tr>")
        m += [f"### {md(g.label)}", "", "| op | " + " | ".join(md(f"{c[0]}/{c[1]}") for c in cols) + " |", "|---" * (len(cols) + 1) + "|"]
        for op in sorted(mx):
            h.append(f"<tr><td>{esc(op)}</td>")
            cells = []
            for c in cols:
                cell = mx[op].get(c)
                if cell is None:
                    h.append("<td>-</td>")
                    cells.append("-")
                    continue
                rec = cell["rec"]
                tip = "\n".join(cell["msgs"]) or "ok everywhere"
                h.append(
                    f"<td class='cell' style='background:{_STATUS_COLOUR[rec.status]}' title='{esc(tip)}'>{esc(rec.status_text)}</td>"
                )
                cells.append(md(rec.status_text))
            h.append("</tr>")
            m.append(f"| {md(op)} | " + " | ".join(cells) + " |")
        h.append("</table>")
        m.append("")

    all_cases = sorted({oc for g in groups for oc in g.cases})
    cross_rows = []
    h.append("<h2>Charts</h2>")
    for i, (op, case) in enumerate(all_cases):
        imgs, cs = chart(groups, op, case)
        stem = f"charts/{i:02d}_{_slug(op)}_{_slug(case)}"
        files[stem + ".png"], files[stem + ".svg"] = imgs["png"], imgs["svg"]
        for label, c in cs.items():
            cross_rows += _crossing_rows(label, op, case, c)
        b64 = base64.b64encode(imgs["png"]).decode()
        h.append(f"<h3>{esc(op)}/{esc(case)}</h3><img alt='{esc(op)}/{esc(case)}' src='data:image/png;base64,{b64}'>")
        m.append(f"![{md(op)}/{md(case)}]({stem}.png)")
    m.append("")

    head = ("set", "op/case", "pair", "crossover batch", "95% CI", "resamples")
    h.append("<h2>Crossovers</h2><table><tr>" + "".join(f"<th>{esc(c)}</th>" for c in head) + "</tr>")
    m += ["## Crossovers", "", "| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for r in cross_rows:
        h.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>")
        m.append("| " + " | ".join(md(c) for c in r) + " |")
    if not cross_rows:
        m.append("| none | | | | | |")
    h.append("</table>")
    m.append("")

    head = ("op/case", "batch", "fastest", "median time", "GFLOP/s", "GB/s")
    h.append("<h2>Fastest per batch</h2>")
    m += ["## Fastest per batch", ""]
    for g in groups:
        _group_table(h, m, g.label, head, best_rows(g))

    _optional_section(
        h, m, groups, "Hybrid: where the time goes", hybrid_rows,
        ("op/case", "impl", "batch", "copy-in (ms)", "compute (ms)", "copy-out (ms)", "transfers (% of the call)", "cpu mode (ms)"),
        "Medians over processes, ms per call; cpu mode: the fastest ok cpu impl's median time at that batch.",
        "No hybrid results carry the time split (copy_in_ms, compute_ms, copy_out_ms).",
    )
    _optional_section(
        h, m, groups, "First call: module load and JIT", first_call_rows,
        ("op/case", "impl", "gpu cold start (ms)", "ptx-jit cold start (ms)", "JIT cost (ms)", "steady call (ms)"),
        "Cold: the first entry of the impl in its process, whose set-up and first call load (ptx-jit: JIT-compile) "
        "its kernels; later entries reuse them and are left out. Cold start = setup_ms + first_call_ms. Medians over "
        "processes and batches; steady call: gpu time per call at the smallest cold batch.",
        "No gpu or ptx-jit results with a cold first call (first_call=cold in the label).",
    )
    h.append("</body></html>")
    return "".join(h) + "\n", "\n".join(m) + "\n", files
