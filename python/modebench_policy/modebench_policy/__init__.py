"""modebench_policy: read a modebench fallback policy (modebench-policy/1 and /2) and
choose a mode per call. See reader.py; the C++ twin is include/modebench/policy.hpp."""

from .features import ShapeError, features, normalize
from .host import HostFacts
from .reader import (DEFAULT, MEASURED, MODEL, SAFE_IMPL, SAFE_MODE, SCHEMA_V1, SCHEMA_V2, SCHEMAS, Decision,
                     HostMismatch, Piece, Plan, Policy, PolicyError)

__all__ = [
    "Decision", "Piece", "Plan", "Policy", "PolicyError", "HostMismatch", "HostFacts", "ShapeError", "features", "normalize",
    "SAFE_MODE", "SAFE_IMPL", "SCHEMA_V1", "SCHEMA_V2", "SCHEMAS", "MEASURED", "MODEL", "DEFAULT",
]
