"""Exp-6 (Buckingham) repulsion-dispersion parameters for rigid-molecule lattice energies.

E_ij(r) = A_ij exp(-B_ij r) - C_ij / r^6, kJ/mol, r in Å, summed over pairs of atoms
in different molecules.

Parameters (per element, like-atom pairs):

* C and H: Williams' W99 types C_W3 (carbon bonded to three atoms, the aromatic C of
  BDT) and H_W1 (H bonded to C): D. E. Williams, "Improved intermolecular force field
  for molecules containing H, C, N, and O atoms, with application to nucleoside and
  peptide crystals", J. Mol. Struct. 485-486, 321-347 (1999).
  C_W3: A = 369743 kJ/mol, B = 3.60 Å^-1, C = 2439.8 kJ/mol Å^6;
  H_W1: A = 11971 kJ/mol,  B = 3.74 Å^-1, C = 136.4 kJ/mol Å^6.
* S: W99 has no sulfur. We take the DREIDING exp-6 sulfur S_3 (R0 = 4.03 Å,
  D0 = 0.344 kcal/mol, zeta = 12): S. L. Mayo, B. D. Olafson, W. A. Goddard III,
  "DREIDING: a generic force field for molecular simulations", J. Phys. Chem. 94,
  8897-8909 (1990), Table II; converted to the A, B, C form by
  A = 6 D0 e^zeta / (zeta - 6), B = zeta / R0, C = zeta D0 R0^6 / (zeta - 6).

Unlike pairs use Williams' combining rules (as W99 does): A_ij = sqrt(A_i A_j),
B_ij = (B_i + B_j) / 2, C_ij = sqrt(C_i C_j).

This is a model potential for making landscapes of known dimensionality, not a
validated CSP force field for thiophenes: there are no electrostatics by default (the
quadrupole-driven herringbone preference of aromatics is carried only by the exp-6
anisotropy of the atom arrangement), and the S parameters come from a different
parametrisation than C and H. Lattice energies are therefore comparable within a
landscape, not with experiment.
"""

from __future__ import annotations

import numpy as np

KCAL = 4.184


def _dreiding(r0: float, d0_kcal: float, zeta: float) -> tuple[float, float, float]:
    d0 = d0_kcal * KCAL
    return 6.0 * d0 * np.exp(zeta) / (zeta - 6.0), zeta / r0, zeta * d0 * r0**6 / (zeta - 6.0)


#: element -> (A kJ/mol, B 1/Å, C kJ/mol Å^6) and where it comes from
PARAMETERS: dict[str, tuple[tuple[float, float, float], str]] = {
    "C": ((369743.0, 3.60, 2439.8), "W99 C_W3 (Williams 1999)"),
    "H": ((11971.0, 3.74, 136.4), "W99 H_W1 (Williams 1999)"),
    "S": (_dreiding(4.03, 0.344, 12.0), "DREIDING S_3 (Mayo, Olafson, Goddard 1990)"),
}


def pair_tables(symbols: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Type index per atom and (T, T) tables of A, B, C for the elements present."""
    types = sorted(set(symbols))
    missing = [t for t in types if t not in PARAMETERS]
    if missing:
        raise ValueError(f"no exp-6 parameters for element(s) {missing}; have {sorted(PARAMETERS)}")
    p = np.array([PARAMETERS[t][0] for t in types])
    a = np.sqrt(np.outer(p[:, 0], p[:, 0]))
    b = 0.5 * (p[:, 1][:, None] + p[:, 1][None, :])
    c = np.sqrt(np.outer(p[:, 2], p[:, 2]))
    index = np.array([types.index(s) for s in symbols], dtype=np.int64)
    return index, a, b, c, types


def exp6_maximum(a: float, b: float, c: float) -> float:
    """Distance (Å) of the exp-6 maximum: inside it the potential falls to -inf."""
    r = np.linspace(0.3, 4.0, 3701)
    e = a * np.exp(-b * r) - c / r**6
    return float(r[np.argmax(e)])
