"""atheris target: the report stage's loader (report/modebench_report/load.py) on any bytes as a
result file (issue 23). Every input must load or raise BadInput (one line, exit 2 in the CLI); any
other exception is a finding. A loaded process goes on through what every report command does with
it next: host keys, series, their statuses. Run by ci/fuzz.sh (libFuzzer's flags: -max_total_time=...)."""

import os
import sys

import atheris

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "report"))

with atheris.instrument_imports():
    from modebench_report import load

# The input as a file (the readers take a path): an in-memory one, rewritten per input.
_FD = os.memfd_create("report_fuzz")
_PATH = f"/proc/self/fd/{_FD}"


def test_one_input(data: bytes) -> None:
    os.ftruncate(_FD, 0)
    os.pwrite(_FD, data, 0)
    try:
        p = load.load_process(_PATH)
    except load.BadInput as e:
        if "\n" in str(e) or not str(e).startswith(_PATH):
            raise AssertionError(f"not one line naming the file: {e!r}") from None
        return
    load.host_slug(p.host)
    str(p.build)
    for rec in p.records.values():
        load.label_facts(rec.label)
        load.own_image(rec.label)
        str(rec.name), rec.status_text
    for series in load.group_series([p]).values():
        for s in series.values():
            s.status, s.measured_status, s.ok_records
        load.by_case(series)


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
