"""The report's groups: one set on one host with one toolkit (a column of the charts)."""

from __future__ import annotations

from .limits import limits_from_context
from .load import by_case, group_series


class Group:
    def __init__(self, label, processes, limits):
        self.label = label
        self.processes = processes
        self.series = group_series(processes, lambda p: 0).get(0, {})
        self.cases = by_case(self.series)
        # The run context's limits win over --limits: they were measured with the run.
        self.limits = {**limits, **limits_from_context(processes[0].context)}


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
