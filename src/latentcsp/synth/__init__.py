"""A small quasi-random CSP generator for rigid molecules, for landscapes whose true
dimensionality is known by construction.

* :func:`generate` — Sobol trial structures of one molecule in one space group (Z' = 1,
  general position), rigid-body minimised with an exp-6 force field, written as
  CSPy-style .res files with the DoF vector of every structure alongside;
* :func:`true_dof` — the group's degrees of freedom (from :mod:`latentcsp.structure.symmetry`);
* :class:`CrystalModel` — DoF vector -> crystal, lattice energy and analytic gradient;
* :func:`recover` — crystal -> canonical DoF vector (:func:`recover_landscape` for a whole
  ingested landscape, with the reason wherever recovery does not apply).

Command line: ``latentcsp synth --help`` and ``latentcsp synth-merge`` (see :mod:`latentcsp.cli.synth`).
"""

from .generate import DOF_COLUMNS, generate, merge_dof_tables, true_dof
from .minimise import MinimiseOptions
from .model import CrystalModel
from .molecule import Molecule, read_xyz
from .recover import NotRecoverable, Recovered, recover, recover_landscape, reference_molecule, theta_of
from .sampling import SamplingOptions
from .spacegroup import get_spacegroup

__all__ = [
    "DOF_COLUMNS",
    "CrystalModel",
    "MinimiseOptions",
    "Molecule",
    "NotRecoverable",
    "Recovered",
    "SamplingOptions",
    "generate",
    "get_spacegroup",
    "merge_dof_tables",
    "read_xyz",
    "recover",
    "recover_landscape",
    "reference_molecule",
    "theta_of",
    "true_dof",
]
