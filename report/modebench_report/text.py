"""Escaping for every string that comes from JSON (names, messages, context)."""

import html

# Host limits (cpu and hybrid compute) and device limits (gpu, ptx-jit).
LIMIT_KEYS = ("peak_gflops", "mem_gbps", "pcie_gbps", "gpu_peak_gflops", "gpu_mem_gbps")


def limits_for(limits: dict, mode: str):
    """(peak GFLOP/s, memory GB/s) that bound a mode's throughput, None where unknown."""
    if mode in ("gpu", "ptx-jit"):
        return limits.get("gpu_peak_gflops"), limits.get("gpu_mem_gbps")
    return limits.get("peak_gflops"), limits.get("mem_gbps")


def esc(s) -> str:
    """HTML text and attribute values."""
    return html.escape(str(s), quote=True)


def md(s) -> str:
    """Markdown table cell: no raw HTML, no column breaks."""
    s = html.escape(str(s), quote=False)
    return s.replace("|", "\\|").replace("`", "\\`").replace("\n", " ")
