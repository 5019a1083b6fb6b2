#!/usr/bin/env python3
"""Exit 0 when every requirement of a pip requirements file is installed at a version it
accepts, 1 otherwise (naming what is missing): lets ci/setup.sh skip pip when nothing is."""
import sys
from importlib import metadata

from pip._vendor.packaging.requirements import Requirement


def unmet(path):
    out = []
    for line in open(path, encoding="utf-8"):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        req = Requirement(line)
        try:
            version = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            out.append(f"{req.name} (not installed)")
            continue
        if req.specifier and not req.specifier.contains(version, prereleases=True):
            out.append(f"{req.name} {version} (want {req.specifier})")
    return out


if __name__ == "__main__":
    missing = unmet(sys.argv[1])
    if missing:
        print("setup: python requirements not met: " + ", ".join(missing))
    sys.exit(1 if missing else 0)
