"""Write the test landscapes of .test/ (run once from the repository root; the files are committed).

    .venv/bin/python .test/make_data.py

Two landscapes of 24 methanol-like crystals in four space groups, built by the test
suite's own generator (tests/workflow_runs.py): ``methanol`` with energies and
``methanol-noenergy``, the same crystals without them.
"""

import sys
from pathlib import Path

from ase.io import write

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from crystals import to_extxyz_frame  # noqa: E402
from workflow_runs import structure  # noqa: E402

frames = [(structure(k), f"s{k:04d}") for k in range(24)]
write(HERE / "data" / "methanol.extxyz", [to_extxyz_frame(a, name, energy=e) for (a, e, _), name in frames],
      format="extxyz")
write(HERE / "data" / "methanol-noenergy.extxyz", [to_extxyz_frame(a, name, energy=None) for (a, _, _), name in frames],
      format="extxyz")
print(f"written {HERE / 'data'}")
