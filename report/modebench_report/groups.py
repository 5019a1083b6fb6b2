"""The report's groups: one set on one host with one toolkit (a column of the charts)."""

from __future__ import annotations

from .limits import LimitSource, limits_from_context
from .load import by_case, group_series


class Group:
    def __init__(self, label, processes, limit_file=None):
        self.label = label
        self.processes = processes
        self.simulated = any(p.simulated for p in processes)  # load_sets keeps a command's sets all one kind
        self.series = group_series(processes, lambda p: 0).get(0, {})
        self.cases = by_case(self.series)
        self.limit_sources = [limit_file] if limit_file else []
        from_context = limits_from_context(processes[0].context)
        if from_context:
            self.limit_sources.append(LimitSource(from_context, "the run context (how measured: not recorded)"))
        # What the figures use: limits of usable sources; the run context's win over
        # --limits (they were measured with the run).
        self.limits = {k: v for src in self.limit_sources if src.usable for k, v in src.values.items()}

    def processes_per_series(self):
        """(fewest, most) processes behind one series: every file is one process, but a
        file of the main job holds one op and mode only."""
        counts = [len(s.records) for s in self.series.values()]
        return min(counts), max(counts)


def make_groups(sets, limit_file=None):
    """One group per set and host/toolkit; limit_file: the LimitSource of --limits, or None."""
    groups = []
    for s in sets:
        by: dict = {}
        for p in s.processes:
            by.setdefault((p.host, p.toolkit), []).append(p)
        for (host, tk), procs in sorted(by.items()):
            label = f"{host} | toolkit {tk}"
            if len(sets) > 1 or len(by) > 1:
                label = f"{s.name}: {label}"
            groups.append(Group(label, procs, limit_file))
    return groups
