"""PNG/SVG charts: time and throughput per op/case against batch, one column per group."""

from __future__ import annotations

import io
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from . import modes  # noqa: E402
from .limits import limits_for  # noqa: E402
from .lines import BAND_PROCESSES, BAND_WITHIN, crossings_of, line_points  # noqa: E402
from .policy import excluded_lines  # noqa: E402
from .statistical_units import not_enough_runs  # noqa: E402

matplotlib.rcParams["svg.hashsalt"] = "modebench"  # reproducible SVG ids
matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: searchable, smaller


def _mpl(s) -> str:
    """matplotlib text: '$' would start mathtext."""
    return str(s).replace("$", r"\$")


# How a line's band is drawn: a range over processes filled, a within-process spread
# (not an interval over runs) only hatched.
_BAND_STYLE = {BAND_PROCESSES: {"alpha": 0.2}, BAND_WITHIN: {"alpha": 0.25, "hatch": "////", "facecolor": "none"}}


def _shade(ax, x, lo, hi, pts, colour):
    for band, style in _BAND_STYLE.items():
        where = [p["band"] == band for p in pts]
        if any(where):
            kw = dict(style)
            kw.update({"edgecolor": colour, "linewidth": 0} if "hatch" in kw else {"color": colour, "linewidth": 0})
            ax.fill_between(x, lo, hi, where=where, **kw)


def _draw_line(time_ax, rate_ax, ln, pts, line_style, bad):
    """One mode/impl: time per call and throughput, with its band shaded.
    Returns the throughput unit (GFLOP/s when every point has a flop count)."""
    colour, marker, dashes = line_style
    # Ever wrong/failed: drawn thin and faded, never trusted.
    style = dict(marker=marker, ls=dashes, color=colour, lw=0.8 if bad else 1.6, alpha=0.5 if bad else 1.0)
    x = [p["batch"] for p in pts]
    med = np.array([p["median"] for p in pts]) * 1e3
    lo = np.array([p["lo"] if p["band"] else p["median"] for p in pts]) * 1e3
    hi = np.array([p["hi"] if p["band"] else p["median"] for p in pts]) * 1e3
    label = _mpl(f"{ln[0]}/{ln[1]}" + (" (wrong/failed)" if bad else ""))
    time_ax.plot(x, med, label=label, **style)
    _shade(time_ax, x, lo, hi, pts, colour)
    if all(p["flop"] for p in pts):
        work, unit = np.array([p["flop"] for p in pts]) / 1e9, "GFLOP/s"
    else:
        work, unit = np.array(x, float), "items/s"
    rate_ax.plot(x, work / (med / 1e3), label=label, **style)
    _shade(rate_ax, x, work / (hi / 1e3), work / (lo / 1e3), pts, colour)
    return unit


def _draw_limits(rate_ax, group, lines):
    """Peak and memory roofline of the host and of the device, for the modes present."""
    modes_here = {ln[0] for ln in lines}
    families = (("host", [m for m in modes_here if not modes.computes_on_device(m)]),
                ("gpu", [m for m in modes_here if modes.computes_on_device(m)]))
    for family, present in families:
        if not present:
            continue
        peak, bw = limits_for(group.limits, present[0])
        if peak:
            rate_ax.axhline(peak, color="k", ls="--", lw=1, label=f"{family} peak {peak:g} GFLOP/s")
        if bw:
            # Memory roofline: bandwidth x arithmetic intensity of the case at each batch.
            pts = [p for p in line_points(next(iter(lines.values()))) if p["flop"] and p["bytes"]]
            if pts:
                roof = [bw * p["flop"] / p["bytes"] for p in pts]
                roof = [min(x, peak) for x in roof] if peak else roof
                rate_ax.plot([p["batch"] for p in pts], roof, color="grey", ls=":", lw=1, label=f"{family} roofline {bw:g} GB/s")


def _draw_crossings(time_ax, crossings):
    """Each crossing with its 95 % CI over processes as a band, or, without enough runs
    for one, a dotted line marked so on the chart."""
    for c in crossings:
        x = c["x"]
        if x is None:
            continue
        if x.ci:
            time_ax.axvline(x.batch, color="k", lw=0.8, ls="--" if x.ambiguous else "-")
            time_ax.axvspan(x.ci[0], x.ci[1], color="k", alpha=0.08)
        else:
            time_ax.axvline(x.batch, color="k", lw=0.8, ls=":")
            time_ax.annotate(
                f"crossover {x.batch:.3g}: {not_enough_runs(x.processes)}",
                xy=(x.batch, 0.98), xycoords=("data", "axes fraction"), rotation=90,
                ha="right", va="top", fontsize=7,
            )


def _style_axes(time_ax, rate_ax, rate_unit):
    for ax, yl in ((time_ax, "time per call (ms)"), (rate_ax, rate_unit)):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("batch")
        ax.set_ylabel(yl)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)


DPI = 90
CHART_INCHES_PER_COLUMN = 9.0


def _encode(fig):
    out = {}
    for fmt in ("png", "svg"):
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=DPI, metadata={"Date": None} if fmt == "svg" else None)
        out[fmt] = buf.getvalue()
    plt.close(fig)
    return out


# One colour family per mode, by its place in the mode table; unknown modes grey.
_MODE_COLOURMAPS = ("Blues", "Greens", "Oranges", "Purples", "Reds")
_MARKERS = "osD^v<>"
# The impls of one mode share a colour family: their dash patterns tell them apart too.
_DASHES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3)), (0, (8, 3)))


def line_styles(groups):
    """{(mode, impl): (colour, marker, dashes)} for every line of the report, so a mode/impl
    looks the same in every chart: the mode's colour family, a shade, marker and dash pattern
    per impl."""
    lines = {ln for g in groups for ln in {(k[2], k[3]) for k in g.series}}
    styles = {}
    for mode in modes.ordered({m for m, _ in lines}):
        row = modes.NAMES.index(mode) if mode in modes.NAMES else None
        cmap = plt.get_cmap(_MODE_COLOURMAPS[row % len(_MODE_COLOURMAPS)] if row is not None else "Greys")
        impls = sorted(i for m, i in lines if m == mode)
        for j, impl in enumerate(impls):
            shade = 0.85 - 0.45 * (j / (len(impls) - 1) if len(impls) > 1 else 0.25)
            styles[(mode, impl)] = (matplotlib.colors.to_hex(cmap(shade)), _MARKERS[j % len(_MARKERS)], _DASHES[j % len(_DASHES)])
    return styles


def chart(groups, op, case, styles):
    """({"png": bytes, "svg": bytes}, {group label: crossings}) of one op/case; styles:
    line_styles() of the whole report."""
    present = [g for g in groups if (op, case) in g.cases]
    # At least 9 in x DPI (810 px) per column: legible in the page's 1 400 px.
    fig, axes = plt.subplots(2, len(present), figsize=(CHART_INCHES_PER_COLUMN * len(present), 8.5), squeeze=False)
    crossings = {}
    for col, g in enumerate(present):
        time_ax, rate_ax = axes[0][col], axes[1][col]
        lines = g.cases[(op, case)]
        bad = excluded_lines(g.cases, op)
        rate_unit = "GFLOP/s"
        for ln, by_batch in sorted(lines.items()):
            pts = line_points(by_batch)
            if pts and _draw_line(time_ax, rate_ax, ln, pts, styles[ln], ln in bad) != "GFLOP/s":
                rate_unit = "items/s"
        if rate_unit == "GFLOP/s":
            _draw_limits(rate_ax, g, lines)
        crossings[g.label] = crossings_of(g, op, case)
        _draw_crossings(time_ax, crossings[g.label])
        _style_axes(time_ax, rate_ax, rate_unit)
        time_ax.set_title(_mpl(f"{op}/{case}\n" + "\n".join(textwrap.wrap(g.label, 70))), fontsize=8)
    fig.tight_layout()
    return _encode(fig), crossings
