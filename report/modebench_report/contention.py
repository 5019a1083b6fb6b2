"""Contention: what other processes did to a timed entry (docs/contract.md, "Contention").

Each entry records, for its timed span, the CPU time other processes used (`other_cores`) and
the time a hypervisor gave its virtual CPUs to others (`steal_cores`), in cores. An entry
measured while they summed to more than THRESHOLD_CORES is *contended*: its timing is kept in
the file and shown in the report's banner, but set aside by every statistic (crossovers, the
policy, compare, the nightly, the charts' lines and bands), which use the quiet processes only.
"""

from __future__ import annotations

import statistics

# Cores of other work above which an entry's timing is set aside. The contention study
# (ci/contention_study.py, docs/contract.md "Contention"): a quiet machine's entries read 0.00-0.07;
# a quarter core of synthetic load read 0.16-0.25 and already slowed every threaded impl 1.1-1.3x.
THRESHOLD_CORES = 0.1


def load_of(counters: dict) -> float:
    """Other processes' cores plus stolen cores during the entry's timed span (the worst of
    its repetitions); 0 where the file does not record them (older files, other writers)."""
    other = counters.get("other_cores") or [0.0]
    steal = counters.get("steal_cores") or [0.0]
    return max(other) + max(steal)


def is_contended(counters: dict) -> bool:
    """Above the threshold, or above what the span's counters can resolve where that is more:
    /proc/stat's ticks make a 50 ms span on 2 CPUs read up to 0.4 cores of nothing
    (`other_cores_resolution`, harness/contention.hpp); in any repetition."""
    lists = [counters.get(k) or [0.0] for k in ("other_cores", "steal_cores", "other_cores_resolution")]
    n = max(map(len, lists))
    other, steal, floor = (xs + [0.0] * (n - len(xs)) for xs in lists)
    return any(o + s > max(THRESHOLD_CORES, r) for o, s, r in zip(other, steal, floor))


def banner_rows(processes, series_map) -> list:
    """One row per process with contended entries: (file, contended entries / entries, the
    others' median load during them in cores, the median slowdown of those entries against
    the median of the same entries in the quiet processes, or None where no quiet one has it)."""
    rows = []
    for p in processes:
        bad = [r for r in p.records.values() if r.status == "ok" and r.contended]
        if not bad:
            continue
        ratios = []
        for r in bad:
            s = series_map.get((r.op, r.case, r.mode, r.impl, r.batch))
            quiet = [statistics.median(q.times) for q in (s.ok_records if s else [])]
            if quiet:
                ratios.append(statistics.median(r.times) / statistics.median(quiet))
        load = statistics.median(load_of(r.counters) for r in bad)
        timed = sum(1 for r in p.records.values() if r.status == "ok")
        rows.append((p.path, len(bad), timed, load, statistics.median(ratios) if ratios else None, max(ratios, default=None)))
    return rows
