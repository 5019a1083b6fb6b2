"""Status texts of docs/contract.md, as tests/vectors/status_text.json lists them.

`ok`, `unavailable: <detail>`, `busy: <detail>`, `not_run: <detail>`,
`failed: <class>: <detail>`, `wrong: <detail>`; the detail is never empty. The C++
value type formats and parses the same texts; both test suites read the vectors.
"""

from __future__ import annotations

from dataclasses import dataclass

# In order of severity: a series' status over several processes is the most severe one seen.
STATUSES = ("ok", "unavailable", "busy", "not_run", "failed", "wrong")
SEVERITY = {s: i for i, s in enumerate(STATUSES)}
FAILED_CLASSES = (
    "no_kernel_image",
    "unsupported_ptx",
    "insufficient_driver",
    "out_of_memory",
    "launch_failure",
    "library_error",
    "timeout",
    "other",
)
# The device was refused (another process holds it) or lost before this entry ran:
# the entry never ran, which says nothing against its impl.
NOT_MEASURED = ("busy", "not_run")
# It ran and failed, or gave a wrong result: an impl with these is never chosen.
EVIDENCE_AGAINST = ("failed", "wrong")


@dataclass(frozen=True)
class StatusText:
    status: str
    error_class: str = ""
    detail: str = ""

    def format(self) -> str:
        if self.status == "ok":
            return "ok"
        if self.status == "failed":
            return f"failed: {self.error_class}: {self.detail}"
        return f"{self.status}: {self.detail}"


def parse(text: str):
    """The StatusText of one of our texts, or None for any other text."""
    if text == "ok":
        return StatusText("ok")
    status, sep, rest = text.partition(": ")
    if not sep or status not in STATUSES or status == "ok":
        return None
    error_class = ""
    if status == "failed":
        error_class, sep, rest = rest.partition(": ")
        if not sep or error_class not in FAILED_CLASSES:
            return None
    if not rest.strip():
        return None
    return StatusText(status, error_class, rest)


def parse_status(message: str):
    """(status, error_class) of an error/skip message. A message that is not one of our
    texts (a harness or Google Benchmark error of its own) is a failure of class other;
    so is a bare "ok", which cannot explain why an entry has no timing."""
    parsed = parse(message)
    if parsed is None or parsed.status == "ok":
        return "failed", "other"
    return parsed.status, parsed.error_class
