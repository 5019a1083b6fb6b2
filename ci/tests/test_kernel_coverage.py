"""ci/kernel_coverage.py's .gcno patch: only OpenMP outlined bodies' artificial flags are cleared."""

import struct
import sys

from nightly_helpers import ROOT

sys.path.insert(0, str(ROOT / "ci"))
import kernel_coverage  # noqa: E402


def record(name: bytes, artificial: int) -> bytes:
    # GCC 12's function record: the name's length (with its NUL), the name, the artificial word
    return struct.pack("<I", len(name) + 1) + name + b"\x00" + struct.pack("<I", artificial)


def test_only_omp_bodies_lose_the_artificial_flag(tmp_path):
    parts = [record(b"_ZN2mb3cpu4PlaneEv._omp_fn.0", 1), record(b"_ZN2mb3cpu4stubEv", 1),
             record(b"_ZN2mb3cpu3RunEv._omp_fn.12", 0)]
    wrong_length = struct.pack("<I", 99) + b"x._omp_fn.3\x00" + struct.pack("<I", 1)
    path = tmp_path / "k.gcno"
    path.write_bytes(b"gcno" + b"".join(parts) + wrong_length)
    assert kernel_coverage.clear_artificial(str(path)) == 1
    data = path.read_bytes()
    assert data == b"gcno" + record(b"_ZN2mb3cpu4PlaneEv._omp_fn.0", 0) + b"".join(parts[1:]) + wrong_length
