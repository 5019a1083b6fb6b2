"""The history page: every stored series' trend over runs, change points, alerts.

Change points come from E-Divisive means as Apache Otava (formerly Hunter) runs it: a
sliding-window split by the energy statistic of Matteson and James, then a merge that keeps a
point only where Student's t-test between its two sides gives p < MAX_PVALUE and the step is
at least MIN_MAGNITUDE (Fleming et al., ICPE 2023). A point needs MIN_SIDE runs on each side:
one odd night at either end of a series is not a step (synthetic histories with this box's
heavy-tailed noise put every false point there; ci/history_study.py). The series a run contributes is its
processes' median (the process is the statistical unit); every process's value is drawn.
Each series' points are kept in the store and found again only where it has new runs (docs/ops.md
"History").
"""

from __future__ import annotations

import concurrent.futures
import html
import os
from dataclasses import dataclass, field

from .load import BadInput


MAX_PVALUE = 1e-5  # Otava's 0.001 alarmed on 2 % of step-free 30-night series here
MIN_SIDE = 3
MIN_MAGNITUDE = 0.03  # compare's minimum ratio: smaller steps are no regression
WINDOW = 50  # Otava's default window (runs)
MAX_CHARTS = 24  # charts drawn: series with change points first, then the chosen ones
PARALLEL_FROM = 100  # series: beyond this, every core analyses (the page for 500 series x 1 000 runs)


METHOD = f"otava e-divisive, t-test p < {MAX_PVALUE}, step >= {MIN_MAGNITUDE}, window {WINDOW}, {MIN_SIDE} a side"  # kept points of another are found again


def _otava(values):
    """Otava's E-Divisive means over the whole series."""
    from otava.analysis import compute_change_points

    return compute_change_points([float(v) for v in values], window_len=WINDOW, max_pvalue=MAX_PVALUE,
                                 min_magnitude=MIN_MAGNITUDE)[0]


def change_points(values):
    """[(index of the first run after the step, p-value, relative change)] of a run-value series."""
    if len(values) < 4:
        return []
    return [(int(c.index), float(c.stats.pvalue), float(c.stats.forward_rel_change())) for c in _otava(values)
            if MIN_SIDE <= c.index <= len(values) - MIN_SIDE]


@dataclass
class SeriesHistory:
    sid: int
    host: str
    build: str
    name: str
    runs: list = field(default_factory=list)  # run ids, oldest first
    values: list = field(default_factory=list)  # each run's median of its processes
    points: list = field(default_factory=list)  # change points, with what changed

    @property
    def label(self):
        return f"{self.host} | {self.build} | {self.name}"


def _runs(rows):
    out = []
    for run_id, time, git, toolkit, driver, torch, value in rows:
        if out and out[-1][0] == run_id:
            out[-1][6].append(value)
        else:
            out.append((run_id, time, git, toolkit, driver, torch, [value]))
    return out


def _what_changed(before, after) -> dict:
    keys = ("commit", "toolkit", "driver", "torch")
    return {k: [b, a] for k, b, a in zip(keys, before[2:6], after[2:6]) if b != a}


def _run_ids_hash(ids) -> str:
    import hashlib

    return hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()


def _kept(out, cached):
    """{index in out: points} of the series whose kept points cover exactly their runs now."""
    import json

    return {k: [tuple(p) for p in json.loads(c[4])] for k, s in enumerate(out)
            if (c := cached.get(s.sid)) and c[3] == METHOD and c[0] == len(s.runs) and s.runs and c[1] == s.runs[-1]
            and c[2] == _run_ids_hash(s.runs)}  # the same runs, in the same order


def analyse(db, host=None, series=None, device="real", stats=None):
    """[SeriesHistory] of the chosen series with their change points and alert flags. Each series'
    points are kept in the store (series_points) and found again, from scratch, only where its runs
    changed (Otava's incremental mode was tried: extended by a night, 47 of 445 points of the
    benchmark's 500 series differed from a fresh analysis)."""
    import json

    acks = db.acknowledged()
    runs, everything = db.all_history(device)
    out = [SeriesHistory(sid, h, build, name, *everything.get(sid, ([], [])))
           for sid, h, build, name in db.series_list(host, device) if not series or name in series]
    found = _kept(out, db.cached_points())
    keys = [k for k in range(len(out)) if k not in found]
    if len(keys) > PARALLEL_FROM and (os.cpu_count() or 1) > 1:
        db.forget_connections()
        with concurrent.futures.ProcessPoolExecutor(os.cpu_count()) as pool:
            results = list(pool.map(change_points, [out[k].values for k in keys], chunksize=16))
    else:
        results = [change_points(out[k].values) for k in keys]
    rows = []
    for k, points in zip(keys, results):
        found[k] = points
        s = out[k]
        if s.runs:
            rows.append((s.sid, len(s.runs), s.runs[-1], _run_ids_hash(s.runs), METHOD, json.dumps(points)))
    if rows:
        try:
            db.cache_points(rows)
        except BadInput:  # a read-only store still gets its page: the points are found again next time
            pass
    if stats is not None:
        stats.update(series=len(out), reused=len(out) - len(keys), analysed=len(keys))
    for k, s in enumerate(out):
        through = max(acks.get(s.sid) or 0, acks.get(None) or 0)
        for i, p, rel in found[k]:
            after, before = runs[s.runs[i]], runs[s.runs[i - 1]]
            s.points.append({"run": after[0], "time": after[1], "index": i, "p": p, "change": rel,
                             "changed": _what_changed(before, after), "alert": after[0] > through})
    return out


@dataclass
class Page:
    html: str
    files: dict
    doc: dict
    summary: str


_CSS = ("body{font-family:sans-serif;margin:1.5em;max-width:1300px}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}.alert{color:#b00;font-weight:bold}"
        "img{max-width:100%}")


def _chart(db, s: SeriesHistory):
    import io

    from .charts import _mpl, plt

    processes = {r[0]: r[6] for r in _runs(db.series_history(s.sid))}

    fig, ax = plt.subplots(figsize=(9, 3))
    xs = [i for i, r in enumerate(s.runs) for _ in processes.get(r, ())]
    # Rasterised points: an SVG of thousands of markers would be slow to write and to show.
    ax.scatter(xs, [v * 1e3 for r in s.runs for v in processes.get(r, ())], s=4, color="#8aa", zorder=2,
               label="process", rasterized=True)
    ax.plot(range(len(s.runs)), [v * 1e3 for v in s.values], color="#124", lw=1, zorder=3, label="run median")
    for p in s.points:
        ax.axvline(p["index"] - 0.5, color="#b00" if p["alert"] else "#e90", ls="--", lw=1)
        ax.annotate(f"{p['change']:+.1%}", (p["index"] - 0.5, ax.get_ylim()[1]), fontsize=8, va="top")
    ax.set_title(_mpl(s.label), fontsize=8)
    ax.set_xlabel("run (oldest first)")
    ax.set_ylabel("ms per call")
    fig.subplots_adjust(left=0.07, right=0.99, top=0.9, bottom=0.16)  # fixed: tight_layout cost a third of a chart
    out = {}
    for fmt in ("png", "svg"):
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=80, metadata={"Date": None} if fmt == "svg" else None)
        out[fmt] = buf.getvalue()
    plt.close(fig)
    return out


def build(db, host=None, series=None, device="real", stats=None) -> Page:
    hist = analyse(db, host, series, device, stats)
    e = html.escape
    alerts = [(s, p) for s in hist for p in s.points if p["alert"]]
    h = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>modebench history</title>"
         f"<style>{_CSS}</style></head><body><h1>modebench history</h1>"]
    runs = sorted({r for s in hist for r in s.runs})
    h.append(f"<p>{len(hist)} series over {len(runs)} stored runs ({'simulated device' if device == 'sim' else 'real devices'}). "
             f"Change points: E-Divisive means (Apache Otava), t-test p &lt; {MAX_PVALUE}, step &ge; {MIN_MAGNITUDE:.0%}.</p>")
    h.append(f"<h2>Alerts</h2><p class='alert'>{len(alerts)} change point(s) newer than the last acknowledged</p>"
             if alerts else "<h2>Alerts</h2><p>none: no change point newer than the last acknowledged</p>")
    rows = []
    for s in hist:
        for p in s.points:
            changed = "; ".join(f"{k} {e(str(v[0]))} &rarr; {e(str(v[1]))}" for k, v in p["changed"].items()) or "nothing recorded"
            rows.append(f"<tr><td>{e(s.label)}</td><td>{p['index']} (run {p['run']}, {e(str(p['time']))})</td>"
                        f"<td>{p['change']:+.1%}</td><td>{p['p']:.2g}</td><td>{changed}</td>"
                        f"<td{' class=alert' if p['alert'] else ''}>{'ALERT' if p['alert'] else 'acknowledged'}</td></tr>")
    h.append("<h2>Change points</h2><table><tr><th>series</th><th>at run # (id, time)</th><th>change</th>"
             "<th>p (t-test)</th><th>what changed</th><th>state</th></tr>" + "".join(rows) + "</table>"
             if rows else "<h2>Change points</h2><p>none found</p>")
    files = {}
    drawn = sorted(hist, key=lambda s: (not s.points, s.label))
    drawn = [s for s in drawn if s.points or series][:MAX_CHARTS]
    h.append("<h2>Trends</h2>")
    for k, s in enumerate(drawn):
        for fmt, data in _chart(db, s).items():
            files[f"history-{k}.{fmt}"] = data
        h.append(f"<figure><img src='history-{k}.png' alt='{e(s.label)}'>"
                 f"<figcaption>{e(s.label)} (<a href='history-{k}.svg'>SVG</a>)</figcaption></figure>")
    h.append("<h2>Every series</h2><table><tr><th>series</th><th>runs</th><th>latest median (ms)</th><th>change points</th></tr>")
    for s in hist:
        latest = f"{s.values[-1] * 1e3:.4g}" if s.values else "-"
        h.append(f"<tr><td>{e(s.label)}</td><td>{len(s.runs)}</td><td>{latest}</td><td>{len(s.points)}</td></tr>")
    h.append("</table></body></html>")
    doc = {"schema": "modebench-history/1", "device": device, "runs": len(runs), "series": len(hist),
           "alerts": len(alerts),
           "change_points": [dict(series=s.label, **p) for s in hist for p in s.points]}
    summary = f"{len(hist)} series, {len(runs)} runs, {len(doc['change_points'])} change point(s), {len(alerts)} alert(s)"
    return Page("\n".join(h), files, doc, summary)
