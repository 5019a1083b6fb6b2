"""The report: a self-contained HTML page and a Markdown summary, built section by section."""

from __future__ import annotations

import base64
import re

from . import modes, tables
from .charts import chart
from .escape import esc, md
from .groups import make_groups  # noqa: F401  (the render subcommand's entry point)

_STATUS_COLOUR = {
    "ok": "#c8e6c9",
    "unavailable": "#e0e0e0",
    "busy": "#fff3c4",  # not measured: no evidence against the impl
    "not_run": "#fff3c4",
    "failed": "#ffcdd2",
    "wrong": "#ff8a80",
}
_CSS = """body{font-family:sans-serif;margin:1.5em;max-width:1400px}
table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #bbb;padding:3px 7px;font-size:13px}
th{background:#f0f0f0}img{max-width:100%}.cell{cursor:help}"""


def _slug(s) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(s))[:80] or "x"


class Page:
    """The HTML (h) and Markdown (m) being written, and the chart files beside them."""

    def __init__(self):
        self.h, self.m, self.files = [], [], {}

    def heading(self, level, title):
        self.h.append(f"<h{level}>{esc(title)}</h{level}>")
        self.m += [f"{'#' * level} {md(title)}", ""]

    def paragraph(self, text):
        self.h.append(f"<p>{esc(text)}</p>")
        self.m += [text, ""]

    def table(self, head, rows, empty_row=None):
        self.h.append("<table><tr>" + "".join(f"<th>{esc(c)}</th>" for c in head) + "</tr>")
        self.m += ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
        for r in rows:
            self.h.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>")
            self.m.append("| " + " | ".join(md(c) for c in r) + " |")
        if not rows and empty_row:
            self.m.append(empty_row)
        self.h.append("</table>")
        self.m.append("")


def _sets_section(page, groups):
    page.heading(2, "Sets")
    rows = []
    for g in groups:
        shas = sorted({str(p.context.get("git_sha", "?")) for p in g.processes})
        lim = ", ".join(f"{k}={v:g}" for k, v in sorted(g.limits.items())) or "unknown"
        rows.append((g.label, len(g.processes), " ".join(shas), lim))
    page.table(("set", "processes", "git", "limits"), rows)


def _matrix_section(page, groups):
    page.heading(2, "Compatibility matrix")
    for g in groups:
        mx = tables.matrix(g)
        cols = sorted({ln for row in mx.values() for ln in row})
        page.heading(3, g.label)
        page.h.append("<table><tr><th>op</th>" + "".join(f"<th>{esc(c[0])}<br>{esc(c[1])}</th>" for c in cols) + "</tr>")
        page.m += ["| op | " + " | ".join(md(f"{c[0]}/{c[1]}") for c in cols) + " |", "|---" * (len(cols) + 1) + "|"]
        for op in sorted(mx):
            page.h.append(f"<tr><td>{esc(op)}</td>")
            cells = []
            for c in cols:
                cell = mx[op].get(c)
                if cell is None:
                    page.h.append("<td>-</td>")
                    cells.append("-")
                    continue
                rec = cell["rec"]
                tip = "\n".join(cell["msgs"]) or "; ".join(["ok everywhere"] + cell["facts"])
                page.h.append(
                    f"<td class='cell' style='background:{_STATUS_COLOUR[rec.status]}' title='{esc(tip)}'>{esc(rec.status_text)}</td>"
                )
                cells.append(md(rec.status_text))
            page.h.append("</tr>")
            page.m.append(f"| {md(op)} | " + " | ".join(cells) + " |")
        page.h.append("</table>")
        page.m.append("")


def _charts_section(page, groups):
    """One chart per op/case; returns the crossing rows of every group."""
    page.h.append("<h2>Charts</h2>")
    cross_rows = []
    for i, (op, case) in enumerate(sorted({oc for g in groups for oc in g.cases})):
        imgs, crossings = chart(groups, op, case)
        stem = f"charts/{i:02d}_{_slug(op)}_{_slug(case)}"
        page.files[stem + ".png"], page.files[stem + ".svg"] = imgs["png"], imgs["svg"]
        for label, cs in crossings.items():
            cross_rows += tables.crossing_rows(label, op, case, cs)
        b64 = base64.b64encode(imgs["png"]).decode()
        page.h.append(f"<h3>{esc(op)}/{esc(case)}</h3><img alt='{esc(op)}/{esc(case)}' src='data:image/png;base64,{b64}'>")
        page.m.append(f"![{md(op)}/{md(case)}]({stem}.png)")
    page.m.append("")
    return cross_rows


def _crossovers_section(page, cross_rows):
    page.heading(2, "Crossovers")
    page.table(tables.CROSSING_HEAD, cross_rows, empty_row="| none |" + " |" * (len(tables.CROSSING_HEAD) - 1))


def _per_group_section(page, groups, title, rows_of, head, note=None, none_note=None):
    """One table per group. With none_note: rows that only newer result files can give; a
    group without rows is left out, and none_note is said when no group has any."""
    page.heading(2, title)
    shown = [(g, rows) for g in groups for rows in [rows_of(g)] if rows or none_note is None]
    line = note if shown else none_note
    if line:
        page.paragraph(line)
    for g, rows in shown:
        page.heading(3, g.label)
        page.table(head, rows)


def build(groups):
    """Returns (html, markdown, {filename: bytes})."""
    page = Page()
    page.h.append(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>modebench report</title><style>{_CSS}</style></head><body>")
    page.heading(1, "modebench report")
    _sets_section(page, groups)
    _matrix_section(page, groups)
    cross_rows = _charts_section(page, groups)
    _crossovers_section(page, cross_rows)
    _per_group_section(
        page, groups, "Fastest per batch", tables.best_rows,
        tables.BEST_HEAD,
    )
    _per_group_section(
        page, groups, "Hybrid: where the time goes", tables.hybrid_rows,
        ("op/case", "impl", "batch", "copy-in (ms)", "compute (ms)", "copy-out (ms)", "transfers (% of the call)", "cpu mode (ms)"),
        "Medians over processes, ms per call; cpu mode: the fastest ok cpu impl's median time at that batch.",
        "No hybrid results carry the time split (copy_in_ms, compute_ms, copy_out_ms).",
    )
    default, forced = modes.device_modes_by_loading()
    _per_group_section(
        page, groups, "First call: module load and JIT", tables.first_call_rows,
        ("op/case", "impl", f"{default} cold start (ms)", f"{forced} cold start (ms)", "JIT cost (ms)", "steady call (ms)"),
        "Cold: the first entry of the impl in its process, whose set-up and first call load (ptx-jit: JIT-compile) "
        "its kernels; later entries reuse them and are left out. Cold start = setup_ms + first_call_ms. Medians over "
        "processes and batches; steady call: gpu time per call at the smallest cold batch.",
        "No gpu or ptx-jit results with a cold first call (first_call=cold in the label).",
    )
    page.h.append("</body></html>")
    return "".join(page.h) + "\n", "\n".join(page.m) + "\n", page.files
