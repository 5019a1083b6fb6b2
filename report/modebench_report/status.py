"""Status texts of contract.md: `ok`, `unavailable: …`, `failed: <class>: …`, `wrong: …`."""

from __future__ import annotations

STATUSES = ("ok", "unavailable", "failed", "wrong")
# Worst last: a series' status over several processes is the worst one seen.
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


def parse_status(message: str):
    """(status, error_class) from an error/skip message (contract.md)."""
    if message.startswith("unavailable: "):
        return "unavailable", ""
    if message.startswith("wrong: "):
        return "wrong", ""
    if message.startswith("failed: "):
        cls = message[len("failed: ") :].split(":", 1)[0].strip()
        return "failed", cls if cls in FAILED_CLASSES else "other"
    # Not one of ours (a harness or Google Benchmark error): a failure of unknown class.
    return "failed", "other"
