"""Host identity: the facts an application can read cheaply, and their comparison.

A policy is measured on one host; used on another it would pick modes for a machine
that is not there. The policy stores (modebench-policy/2 `identity`):
  cpu_model  /proc/cpuinfo "model name"; on aarch64 "aarch64 implementer 0x41 part 0xd4f" (the harness's `cpu_model`)
  gpus       the GPU models the NVIDIA driver lists in /proc/driver/nvidia/gpus
             (the harness's `host_gpus`; [] on a box without the driver)
  gpu_cc     the measured device's compute capability ("8.6"), or null
  driver     the NVIDIA driver release ("580.65.06", /proc/driver/nvidia/version), or null
Not the BLAS core type: an application cannot read it cheaply. A fact either side does
not know (None) is not compared, and is listed as unchecked.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

FACTS = ("cpu_model", "gpus", "gpu_cc", "driver")
_DRIVER = re.compile(r"Kernel Module\s+(?:for \S+\s+)?([0-9]+\.[0-9]+(?:\.[0-9]+)?)")
_UNKNOWN = ("", "none", "unknown")
# ASCII only, as policy.hpp trims and lowers: str.strip() and str.lower() know more of Unicode
# ("UN\u212aNOWN".lower() is "unknown").
_BLANKS = " \t\r\n"
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class HostFacts:
    cpu_model: str = None
    gpus: tuple = None  # sorted GPU model names; () when there is no NVIDIA driver
    gpu_cc: str = None
    driver: str = None

    @classmethod
    def detect(cls, gpu_cc: str = None, proc: str = "/proc") -> "HostFacts":
        """This machine's facts from /proc (no CUDA needed). The compute capability is not
        there: pass it when the application knows it (torch.cuda.get_device_capability)."""
        return cls(cpu_model=_cpu_model(proc), gpus=_gpus(proc), gpu_cc=gpu_cc, driver=_driver(proc))

    def as_dict(self) -> dict:
        return {"cpu_model": self.cpu_model, "gpus": None if self.gpus is None else list(self.gpus),
                "gpu_cc": self.gpu_cc, "driver": self.driver}


def _cpu_model(proc):
    """"model name"; aarch64 kernels write none: there "aarch64 implementer 0x41 part 0xd4f" from
    the first CPU's fields (the C++ reader's HostFacts::cpu_model_of, the same rule)."""
    found = {}
    try:
        with open(os.path.join(proc, "cpuinfo")) as f:
            for line in f:
                value = line.split(":", 1)[1].strip() if ":" in line else line.strip()
                if line.startswith("model name"):
                    return value
                for key in ("CPU implementer", "CPU part"):
                    if line.startswith(key):
                        found.setdefault(key, value)
    except OSError:
        return None
    if found.get("CPU implementer") and found.get("CPU part"):
        return f"aarch64 implementer {found['CPU implementer']} part {found['CPU part']}"
    return "unknown"


def _gpus(proc):
    root = os.path.join(proc, "driver", "nvidia", "gpus")
    models = []
    try:
        entries = os.listdir(root)
    except OSError:
        return ()
    for e in entries:
        try:
            with open(os.path.join(root, e, "information")) as f:
                models += [line[6:].strip() for line in f if line.startswith("Model:")]
        except OSError:
            continue
    return tuple(sorted(models))


def _driver(proc):
    try:
        with open(os.path.join(proc, "driver", "nvidia", "version")) as f:
            m = _DRIVER.search(f.readline())
    except OSError:
        return None
    return m.group(1) if m else None


def known(value):
    """A context value, or None for none/unknown/empty, also with a note ("none (no CUDA driver)")."""
    text = "" if value is None else str(value).strip(_BLANKS)
    lower = text.translate(_ASCII_LOWER)
    if lower in _UNKNOWN or lower.startswith(("none (", "unknown (")):
        return None
    return text


def identity_from_context(context: dict) -> dict:
    """The identity a policy stores, from a result file's run context (the report's writer)."""
    gpus = known(context.get("host_gpus"))
    if "host_gpus" in context:
        gpu_list = sorted(g.strip() for g in gpus.split(", ")) if gpus else []
    else:  # files older than host_gpus: the runtime's device, when there was one
        name = known(context.get("device_name"))
        gpu_list = [name] if name else None
    return {
        "cpu_model": known(context.get("cpu_model")),
        "gpus": gpu_list,
        "gpu_cc": known(context.get("device_cc")),
        "driver": known(context.get("nvidia_driver")),
    }


def _known_text(value):
    """known() of a file's value; anything but a string is unknown (the C++ reader's rule)."""
    return known(value) if isinstance(value, str) else None


def identity_of(identity: dict) -> dict:
    """A modebench-policy/2 `identity` as compared: values none/unknown (or blank) are unknown."""
    return {"cpu_model": _known_text(identity.get("cpu_model")), "gpus": identity.get("gpus"),
            "gpu_cc": _known_text(identity.get("gpu_cc")), "driver": _known_text(identity.get("driver"))}


def identity_of_v1(host: dict) -> dict:
    """modebench-policy/1 files carry the run's host block only: its CPU model, and the
    measured device and its compute capability when there was one (the driver release is
    not there; the box's GPUs are unknown when no device was measured)."""
    name = _known_text(host.get("device_name"))
    return {"cpu_model": _known_text(host.get("cpu_model")), "gpus": [name] if name else None,
            "gpu_cc": _known_text(host.get("device_cc")), "driver": None}


def differences(identity: dict, here: HostFacts):
    """([(fact, here, in the policy)] that differ, [facts not compared])."""
    diff, unchecked = [], []
    for fact in FACTS:
        mine, theirs = getattr(here, fact), identity.get(fact)
        if fact == "gpus":
            mine = None if mine is None else sorted(mine)
            theirs = None if theirs is None else sorted(theirs)
        if mine is None or theirs is None:
            unchecked.append(fact)
        elif mine != theirs:
            diff.append((fact, mine, theirs))
    return diff, unchecked


def describe(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(value) + "]" if value else "no GPU"
    return f"'{value}'"
