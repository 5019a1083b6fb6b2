"""The report: a self-contained HTML page and a Markdown summary, built section by section."""

from __future__ import annotations

import base64
import os
import re

from . import contention, model_tables, modes, probe_view, profile_view, tables
from .charts import chart, line_styles
from .escape import esc, md
from .policy import SCHEMA as POLICY_SCHEMA, group_policy
from .statistical_units import MIN_PROCESSES
from .verdict import op_verdicts

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
th{background:#f0f0f0}img{max-width:100%}.cell{cursor:help}ol.notes{font-size:13px}"""


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


def _verdict_section(page, groups):
    page.h.append("<section id='verdict'>")
    page.heading(2, "Verdict: what to use on this box")
    page.paragraph(
        "Per op and case: the mode/impl that is fastest and correct at each batch size (the fallback policy, "
        f"{POLICY_SCHEMA}), and the modes/impls not to use here, with why. A range resting on fewer than "
        f"{MIN_PROCESSES} processes is provisional."
    )
    for g in groups:
        if len(groups) > 1:
            page.heading(3, g.label)
        for op, sentences in op_verdicts(g):
            page.h.append(f"<p><b>{esc(op)}</b></p><ul>" + "".join(f"<li>{esc(x)}</li>" for x in sentences) + "</ul>")
            page.m += [f"**{md(op)}**", ""] + [f"- {md(x)}" for x in sentences] + [""]
    page.h.append("</section>")


def _matrix_table(page, group):
    """Rows op x impl, a column per mode; colour by status, the message on hover and as a
    numbered footnote."""
    columns, rows = tables.matrix(group)
    notes = []
    page.h.append("<table class='matrix'><tr><th>op</th><th>impl</th>" + "".join(f"<th>{esc(c)}</th>" for c in columns) + "</tr>")
    page.m += ["| op | impl | " + " | ".join(md(c) for c in columns) + " |", "|---" * (len(columns) + 2) + "|"]
    for (op, impl), cells in sorted(rows.items()):
        html_cells, md_cells = [], []
        for mode in columns:
            cell = cells.get(mode)
            if cell is None:
                html_cells.append("<td>-</td>")
                md_cells.append("-")
                continue
            rec, note = cell["rec"], tables.cell_note(cell)
            mark = ""
            if rec.status != "ok":
                notes.append(f"{op}/{impl} in {mode}: {note}")
                mark = f" [{len(notes)}]"
            html_cells.append(
                f"<td class='cell' style='background:{_STATUS_COLOUR.get(rec.status, '#ffffff')}' title='{esc(note)}'>"
                f"{esc(rec.status_text)}{esc(mark)}</td>"
            )
            md_cells.append(md(rec.status_text + mark))
        page.h.append(f"<tr><td>{esc(op)}</td><td>{esc(impl)}</td>" + "".join(html_cells) + "</tr>")
        page.m.append(f"| {md(op)} | {md(impl)} | " + " | ".join(md_cells) + " |")
    page.h.append("</table>")
    page.m.append("")
    if notes:
        page.h.append("<ol class='notes'>" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ol>")
        page.m += [f"{i}. {md(n)}" for i, n in enumerate(notes, start=1)] + [""]


def _matrix_section(page, groups):
    page.h.append("<section id='matrix'>")
    page.heading(2, "Compatibility matrix")
    page.paragraph("The most severe status over cases and batches; hover a cell for its messages, also listed below.")
    for g in groups:
        page.heading(3, g.label)
        _matrix_table(page, g)
    page.h.append("</section>")


def _limits_rows(group):
    rows = []
    for src in group.limit_sources:
        used = "yes" if src.usable else "no (refused)"
        for k, v in sorted(src.values.items()):
            value = f"{v:g}" + (f" ({src.peak_note})" if k == "peak_gflops" and src.peak_note else "")
            rows.append((k, value, src.source, src.conditions(), used))
    return rows


def _sets_section(page, groups, limits=True):
    """The sets; with limits, also the machine limits that bound the figures."""
    page.heading(2, "Sets and machine limits" if limits else "Sets")
    rows = []
    for g in groups:
        shas = sorted({str(p.context.get("git_sha", "?")) for p in g.processes})
        fewest, most = g.processes_per_series()
        per_series = str(most) if fewest == most else f"{fewest}–{most}"
        rows.append((g.label, len(g.processes), per_series, " ".join(shas)))
    page.table(("set", "files", "processes per series", "git"), rows)
    if not limits:
        return
    page.paragraph(
        "Machine limits bound the throughput charts (peak, roofline) and the '% of peak' columns. Limits measured "
        "under load understate the machine and are refused; where it is not known whether the machine was quiet, "
        "they are used and marked so."
    )
    for g in groups:
        page.heading(3, g.label)
        rows = _limits_rows(g)
        if rows:
            page.table(("limit", "value", "from", "conditions", "used in figures"), rows)
        else:
            page.paragraph("No limits known (pass --limits with bench/overhead/machine_limits output).")


_CHART_CAPTION = (
    "Lines: median over processes; one colour per mode/impl in every chart. Filled band: range over processes "
    f"(where there are at least {MIN_PROCESSES}); hatched band: within-process spread of the repetitions (fewer "
    "processes: not an interval over runs). Vertical line with a grey band: a crossover and its 95% CI over "
    "processes; dotted line: a crossover without enough runs for an interval."
)


def _charts_section(page, groups):
    """The charts, grouped per op; returns the crossing rows of every group."""
    page.heading(2, "Charts")
    page.paragraph(_CHART_CAPTION)
    styles = line_styles(groups)
    cross_rows = []
    op_cases = sorted({oc for g in groups for oc in g.cases})
    for op in sorted({op for op, _ in op_cases}):
        page.heading(3, op)
        for i, (o, case) in enumerate(op_cases):
            if o != op:
                continue
            imgs, crossings = chart(groups, op, case, styles)
            stem = f"charts/{i:02d}_{_slug(op)}_{_slug(case)}"
            page.files[stem + ".png"], page.files[stem + ".svg"] = imgs["png"], imgs["svg"]
            for label, cs in crossings.items():
                cross_rows += tables.crossing_rows(label, op, case, cs)
            b64 = base64.b64encode(imgs["png"]).decode()
            page.h.append(f"<h4>{esc(op)}/{esc(case)}</h4><img alt='{esc(op)}/{esc(case)}' src='data:image/png;base64,{b64}'>")
            page.m += [f"![{md(op)}/{md(case)}]({stem}.png)", ""]
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


def _probe_section(page, probes):
    """The verdict tables of modebench probe --binary JSON files (render --probe)."""
    page.h.append("<section id='binaries'>")
    page.heading(2, "Will these binaries run? (modebench probe --binary)")
    page.paragraph(
        "Read from the binaries' ELF and fatbin headers, no GPU needed: native = SASS for the device (or an older "
        "minor of its major); jit = the driver compiles PTX at load; no image = the kernels cannot load there. "
        "Hover a cell for the reason; * = some modules carry no image for that device."
    )
    for probe in probes:
        names = probe_view.devices(probe)
        for p in probe.doc["paths"]:
            page.heading(3, f"{probe.path}: {p['path']}")
            page.paragraph(probe_view.path_summary(p))
            head = ["file", "SASS", "PTX"] + names + [f"{n}, CUDA_FORCE_PTX_JIT=1" for n in names]
            page.h.append("<table class='binaries'><tr>" + "".join(f"<th>{esc(c)}</th>" for c in head) + "</tr>")
            page.m += ["| " + " | ".join(md(c) for c in head) + " |", "|---" * len(head) + "|"]
            for name, sass, ptx, cells in probe_view.file_rows(probe, p):
                tds = "".join(
                    f"<td class='cell' style='background:{probe_view.VERDICT_COLOUR.get(v, probe_view.UNREADABLE_COLOUR)}'"
                    f" title='{esc(why)}'>{esc(cell)}</td>"
                    for cell, v, why in cells
                )
                page.h.append(f"<tr><td>{esc(name)}</td><td>{esc(sass)}</td><td>{esc(ptx)}</td>{tds}</tr>")
                page.m.append("| " + " | ".join(md(c) for c in [name, sass, ptx] + [c[0] for c in cells]) + " |")
            page.h.append("</table>")
            page.m.append("")
            lines = probe_view.arch_list_lines(probe.doc, p) + probe_view.weakest_lines(p)
            if lines:
                page.h.append("<ul>" + "".join(f"<li>{esc(x)}</li>" for x in lines) + "</ul>")
                page.m += [f"- {md(x)}" for x in lines] + [""]
    page.h.append("</section>")


def _profile_section(page, profiles):
    """Per model (render --profile): the layer table per batch and predicted against measured."""
    page.h.append("<section id='models'>")
    page.heading(2, "Models: a placement plan per layer (modebench_policy.profile)")
    page.paragraph(
        "Each layer's shape was measured as an ad-hoc case (modebench run --shape); per mode, the impls' times in ms, "
        "fastest first (the drop-in runs torch's op in the mode the plan gives). The plan is the fastest placement "
        "over the layers with the copies between host and device; the rest of the model (BatchNorm, activations, "
        "layers that could not be measured) is timed with the measured layers stubbed out. Predicted = rest + the "
        "plan's layers and copies; measured = the model patched with the plan's policy."
    )
    for prof in profiles:
        doc = prof.doc
        page.heading(3, f"{doc['model']} ({prof.path})")
        rows, single = profile_view.totals_rows(doc)
        page.table(["batch", "plan predicted (ms)", *[f"all {m} predicted (ms)" for m in single],
                    "measured, patched (ms)", "unpatched (ms)", "predicted vs measured"], rows)
        if doc["notes"]:
            page.h.append("<ul>" + "".join(f"<li>{esc(n)}</li>" for n in doc["notes"]) + "</ul>")
            page.m += [f"- {md(n)}" for n in doc["notes"]] + [""]
        for b in doc["batches"]:
            page.heading(4, f"{doc['model']}, batch {b['batch']}: layers")
            page.table(["#", "layer", "op", "shape", "op batch", *[f"{m} (ms)" for m in profile_view.modes_of(doc)],
                        "placement"], profile_view.layer_rows(doc, b))
    page.h.append("</section>")


_COST_MODEL_NOTE = (
    "For shapes that were not measured the policy predicts each mode/impl's time from the shape: a fixed cost "
    "per call plus terms in flop and bytes (linear, conv2d, ssim), points (knn) and, for hybrid, bytes copied; "
    "fitted per host, op, mode and impl on this run's medians. Held-out error: each case in turn is left out, "
    "the model fitted on the others predicts its batches; the median relative error over those predictions "
    "(and the worst one). The reader keeps a safer mode unless a riskier one is predicted faster by more than "
    "this error. A model fitted on one case has no held-out check."
)


def _cost_model_sections(page, groups):
    _per_group_section(page, groups, "Cost model: how well it predicts cases it did not see",
                       lambda g: model_tables.loco_rows(group_policy(g)), model_tables.LOCO_HEAD, _COST_MODEL_NOTE)
    _per_group_section(
        page, groups, "Crossovers predicted for a held-out case", model_tables.crossing_rows, model_tables.CROSS_HEAD,
        "Per case: the models fitted without that case predict where one line overtakes another, next to the "
        "crossover measured on that case; and at how many measured batches the predicted fastest line is the "
        "measured fastest.",
    )
    _per_group_section(
        page, groups, "What the policy would do", lambda g: model_tables.would_do_rows(group_policy(g)),
        model_tables.WOULD_DO_HEAD,
        "The policy's reader (python/modebench_policy, include/modebench/policy.hpp) asked about a few common shapes: "
        "a measured case answers from its measured ranges, any other shape from the cost model; the safe default "
        "(cpu) where neither can.",
    )


SIMULATED_BANNER = "Simulated device: correctness only — these are not GPU timings"


def _simulated_sections(page, groups, probes):
    """A simulated run (load.SIM_DEVICE): the banner, then what its statuses say. No timing at all,
    the cpu entries' included: they are real host timings, but every timing section compares modes
    (fastest, crossovers, verdict, cost model), and with the device modes' times withheld the cpu
    lines alone would read as cpu winning; a real run gives the same cpu timings without that."""
    page.h.append(
        "<p id='simulated' style='background:#ffe082;border:2px solid #f57f17;padding:0.6em 1em;font-size:1.2em;"
        f"font-weight:bold'>{esc(SIMULATED_BANNER)}</p>"
    )
    page.m += [f"> **{SIMULATED_BANNER}**", ""]
    page.paragraph(
        "The gpu, ptx-jit and hybrid entries ran our CUDA code on the CPU (a -DMODEBENCH_CUDA=SIM build, label "
        "device=sim) to check their results: the matrix says which are ok, wrong or failed. No time of this run is "
        "shown, and no policy or comparison is made from it."
    )
    _matrix_section(page, groups)
    if probes:
        _probe_section(page, probes)
    _sets_section(page, groups, limits=False)  # they bound figures this page does not have


CONTENDED_BANNER = "Contended processes: timings measured while other work ran were set aside"


def _contention_banner(page, groups):
    """The processes with contended entries (contention.py), what the contention did to them,
    and that no statistic below uses those entries. Nothing where every entry was quiet."""
    rows = []
    for g in groups:
        for path, bad, timed, load, median_ratio, worst_ratio in contention.banner_rows(g.processes, g.series):
            effect = "no quiet process to compare with"
            if median_ratio is not None:
                effect = f"{median_ratio:.2g}× the quiet processes' median (up to {worst_ratio:.2g}×)"
            rows.append((os.path.basename(path), f"{bad} of {timed}", f"{load:.2f}", effect))
    if not rows:
        return
    page.h.append(
        "<div id='contended' style='background:#ffe0b2;border:2px solid #e65100;padding:0.6em 1em'>"
        f"<p style='font-size:1.2em;font-weight:bold'>{esc(CONTENDED_BANNER)}</p>"
    )
    page.m += [f"> **{CONTENDED_BANNER}**", ""]
    page.paragraph(
        f"An entry is contended when other processes (and a hypervisor's steal) used more than "
        f"{contention.THRESHOLD_CORES:g} cores while it was timed. Its timing stays in the file and is set aside "
        "here: the verdict, crossovers, charts and tables below use the quiet processes only, and say \"not enough "
        "quiet runs\" where fewer than 3 are left."
    )
    page.table(("process", "contended entries", "others' load (cores, median)", "their time"), rows)
    page.h.append("</div>")


def _measured_sections(page, groups, probes, profiles=()):
    """A real run: the verdict, the statuses, then the timings."""
    _contention_banner(page, groups)
    _verdict_section(page, groups)
    _matrix_section(page, groups)
    if probes:
        _probe_section(page, probes)
    if profiles:
        _profile_section(page, profiles)
    _sets_section(page, groups)
    cross_rows = _charts_section(page, groups)
    _crossovers_section(page, cross_rows)
    _cost_model_sections(page, groups)
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


def build(groups, probes=(), profiles=()):
    """Returns (html, markdown, {filename: bytes}); probes: probe_view.Probe of render --probe;
    profiles: profile_view.Profile of render --profile (shown with a measured run)."""
    page = Page()
    page.h.append(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>modebench report</title><style>{_CSS}</style></head><body>")
    page.heading(1, "modebench report")
    if any(g.simulated for g in groups):
        _simulated_sections(page, groups, probes)
    else:
        _measured_sections(page, groups, probes, profiles)
    page.h.append("</body></html>")
    return "".join(page.h) + "\n", "\n".join(page.m) + "\n", page.files
