"""A small quasi-random CSP generator for rigid molecules, for landscapes whose true
dimensionality is known by construction.

* :func:`generate` — Sobol trial structures of one molecule in one space group (Z' = 1,
  general position), rigid-body minimised with an exp-6 force field, written as
  CSPy-style .res files with the DoF vector of every structure alongside;
* :func:`true_dof` — the group's degrees of freedom (from :mod:`latentcsp.symmetry`);
* :class:`CrystalModel` — DoF vector -> crystal, lattice energy and analytic gradient.

Command line: ``latentcsp synth --help`` and ``latentcsp synth-merge`` (see :mod:`latentcsp.synth_cli`).
"""

from .generate import DOF_COLUMNS, generate, merge_dof_tables, true_dof
from .minimise import MinimiseOptions
from .model import CrystalModel
from .molecule import Molecule, read_xyz
from .sampling import SamplingOptions
from .spacegroup import get_spacegroup

__all__ = [
    "DOF_COLUMNS",
    "CrystalModel",
    "MinimiseOptions",
    "Molecule",
    "SamplingOptions",
    "generate",
    "get_spacegroup",
    "merge_dof_tables",
    "read_xyz",
    "true_dof",
]
