"""Exp-6 (Buckingham) repulsion-dispersion parameters for rigid-molecule lattice energies.

E_ij(r) = A_ij exp(-B_ij r) - C_ij / r^6, kJ/mol, r in Å, summed over pairs of atoms
in different molecules.

Every atom gets a force-field type from the molecule's bond graph (:func:`atom_types`;
bonds d < r_cov(i) + r_cov(j) + 0.4 Å, ASE covalent radii, as the ingest finds them).
Like-type parameters (A kJ/mol, B 1/Å, C kJ/mol Å^6):

* C, H, N, O: Williams' W99 force field, with W99's own atom types.
  D. E. Williams, J. Mol. Struct. 485-486, 321 (1999) and J. Comput. Chem. 22, 1 (2001)
  (H, C, O); J. Comput. Chem. 22, 1154 (2001) (N and H on N; its abstract defines the
  N types and H_W4). Numbers as distributed in the W99 parameter files of mol-CSPy
  (``w99.pots``) and soprano (``w99_parameters.json``), which agree to 1e-4 after their
  eV conversions.

  ====  ==========================================  ========  =====  =======
  type  atom                                        A         B      C
  ====  ==========================================  ========  =====  =======
  C_W4  C bonded to 4 atoms                         131571    3.60   978.36
  C_W3  C bonded to 3 atoms (aromatic, C=O, C=C)    270363    3.60   1701.73
  C_W2  C bonded to 2 atoms (nitrile, alkyne)       103235    3.60   1435.09
  H_W1  H bonded to C                               12680     3.56   278.37
  H_W2  H of a hydroxyl (O-H, not carboxyl)         361.3     3.56   0
  H_W3  H of a carboxyl group (O-H on C bonded      115.7     3.56   0
        to a one-bonded O)
  H_W4  H bonded to N                               764.9     3.56   0
  N_W1  N bonded to one atom (triple bond, nitrile) 96349     3.48   1407.57
  N_W2  N with no bonded H (otherwise; nitro,       102369    3.48   1398.15
        pyridine-like, tertiary amine)
  N_W3  N with one bonded H                         191935    3.48   2376.55
  N_W4  N with two or more bonded H                 405341    3.48   5629.82
  O_W1  O bonded to one atom (carbonyl, nitro)      241042    3.96   1260.73
  O_W2  O bonded to two atoms (hydroxyl, ether)     284623    3.96   1285.87
  ====  ==========================================  ========  =====  =======

* F, Cl, S and H on S (a thiol H): W99 has none. DREIDING's exp-6 types ``F_``, ``Cl``,
  ``S_3`` (one type per element) and ``H_``:
  S. L. Mayo, B. D. Olafson, W. A. Goddard III, J. Phys. Chem. 94, 8897 (1990), Table II
  (R0 Å, D0 kcal/mol, zeta: F 3.4720, 0.0725, 14.444; Cl 3.9503, 0.2833, 13.861;
  S 4.03, 0.344, 12.0; H 3.195, 0.0152, 12.382), converted by A = 6 D0 e^zeta / (zeta - 6),
  B = zeta / R0, C = zeta D0 R0^6 / (zeta - 6) (F: 404094, 4.160, 908.97; Cl: 946820, 3.509,
  7942.1; S: 234252, 2.978, 12331.3; H: 14258, 3.875, 131.25).

Unlike pairs use Williams' combining rules (as W99 does): A_ij = sqrt(A_i A_j),
B_ij = (B_i + B_j) / 2, C_ij = sqrt(C_i C_j).

This is a model potential for making landscapes of known dimension, not a validated CSP
force field: there are no electrostatics (W99 was fitted together with atomic charges;
without them its small polar-H repulsion neither favours nor forbids hydrogen bonds), W99
puts the H force centre 0.1 Å toward its bonded atom while the generator uses the H
nucleus of the molecule file, W99's N types were fitted to azahydrocarbons (C, H, N only:
no nitro group), and F, Cl, S and the thiol H come from a different parametrisation. Lattice energies are comparable within a
landscape, not with experiment. (Before this table the generator used C 369743, 3.60,
2439.8 and H 11971, 3.74, 136.4, labelled W99; they are the C and H of the older FIT set,
not W99.)
"""

from __future__ import annotations

import numpy as np
from ase.data import atomic_numbers, covalent_radii

from ..structure.kernels import molecule_bonds

KCAL = 4.184
#: bond criterion of :func:`atom_types`: d < r_cov(i) + r_cov(j) + BOND_TOLERANCE, Å
#: (the ingest's default, latentcsp.structure.crystal.Options.bond_tolerance).
BOND_TOLERANCE = 0.4


def dreiding_exp6(r0: float, d0_kcal: float, zeta: float) -> tuple[float, float, float]:
    """(A kJ/mol, B 1/Å, C kJ/mol Å^6) of DREIDING's exp-6 with R0 Å, D0 kcal/mol and zeta."""
    d0 = d0_kcal * KCAL
    return 6.0 * d0 * np.exp(zeta) / (zeta - 6.0), zeta / r0, zeta * d0 * r0**6 / (zeta - 6.0)


_W99 = "W99 H, C, O (Williams, J. Mol. Struct. 485-486, 321 (1999); J. Comput. Chem. 22, 1 (2001))"
_W99_N = "W99 N (Williams, J. Comput. Chem. 22, 1154 (2001))"
_DREIDING = "DREIDING (Mayo, Olafson, Goddard, J. Phys. Chem. 94, 8897 (1990))"

#: atom type -> ((A kJ/mol, B 1/Å, C kJ/mol Å^6), where it comes from)
PARAMETERS: dict[str, tuple[tuple[float, float, float], str]] = {
    "C_W4": ((131571.0, 3.60, 978.36), _W99),
    "C_W3": ((270363.0, 3.60, 1701.73), _W99),
    "C_W2": ((103235.0, 3.60, 1435.09), _W99),
    "H_W1": ((12680.0, 3.56, 278.37), _W99),
    "H_W2": ((361.3, 3.56, 0.0), _W99),
    "H_W3": ((115.7, 3.56, 0.0), _W99),
    "H_W4": ((764.9, 3.56, 0.0), _W99_N),
    "N_W1": ((96349.0, 3.48, 1407.57), _W99_N),
    "N_W2": ((102369.0, 3.48, 1398.15), _W99_N),
    "N_W3": ((191935.0, 3.48, 2376.55), _W99_N),
    "N_W4": ((405341.0, 3.48, 5629.82), _W99_N),
    "O_W1": ((241042.0, 3.96, 1260.73), _W99),
    "O_W2": ((284623.0, 3.96, 1285.87), _W99),
    "F_": (dreiding_exp6(3.4720, 0.0725, 14.444), _DREIDING),
    "Cl": (dreiding_exp6(3.9503, 0.2833, 13.861), _DREIDING),
    "S_3": (dreiding_exp6(4.03, 0.344, 12.0), _DREIDING),
    "H_": (dreiding_exp6(3.195, 0.0152, 12.382), _DREIDING),
}
ELEMENTS = ("C", "H", "N", "O", "F", "Cl", "S")


def _type_of(k: int, symbols: list[str], neighbours: list[list[int]]) -> str | None:
    """W99 / DREIDING type of atom k from its bonded neighbours, or None when none fits."""
    s, nb = symbols[k], neighbours[k]
    if s == "C":
        return {2: "C_W2", 3: "C_W3", 4: "C_W4"}.get(len(nb))
    if s == "H":
        if len(nb) != 1:
            return None
        x = nb[0]
        if symbols[x] == "O":  # carboxyl: the O's carbon also carries a one-bonded O (C=O)
            carboxyl = any(symbols[c] == "C" and any(symbols[o] == "O" and len(neighbours[o]) == 1
                                                     for o in neighbours[c]) for c in neighbours[x])
            return "H_W3" if carboxyl else "H_W2"
        return {"C": "H_W1", "N": "H_W4", "S": "H_"}.get(symbols[x])
    if s == "N":
        if len(nb) == 1:
            return "N_W1"
        n_h = sum(symbols[j] == "H" for j in nb)
        return ("N_W2", "N_W3", "N_W4")[min(n_h, 2)]
    if s == "O":
        return {1: "O_W1", 2: "O_W2"}.get(len(nb))
    return {"F": "F_", "Cl": "Cl", "S": "S_3"}.get(s)


def atom_types(symbols: list[str], positions: np.ndarray) -> list[str]:
    """The force-field type of every atom of one whole molecule (see the module docstring).

    symbols (n,), positions (n, 3) Å. Raises ValueError naming the atoms when an element
    has no parameters or an atom's bonding fits no type (a C with 5 neighbours, an H on F).
    """
    missing = sorted({s for s in symbols if s not in ELEMENTS})
    if missing:
        raise ValueError(f"no exp-6 parameters for element(s) {missing}; have {list(ELEMENTS)}")
    radii = covalent_radii[[atomic_numbers[s] for s in symbols]]
    bonds = molecule_bonds(np.ascontiguousarray(positions, dtype=float), radii, BOND_TOLERANCE)
    neighbours: list[list[int]] = [[] for _ in symbols]
    for a, b in bonds:
        neighbours[a].append(int(b))
        neighbours[b].append(int(a))
    types = [_type_of(k, symbols, neighbours) for k in range(len(symbols))]
    bad = [f"{symbols[k]}{k} bonded to {[symbols[j] for j in neighbours[k]]}" for k, t in enumerate(types)
           if t is None]
    if bad:
        raise ValueError(f"no W99/DREIDING atom type for: {'; '.join(bad)}")
    return types


def pair_tables(types: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Type index per atom and (T, T) tables of A, B, C for the types present (sorted)."""
    names = sorted(set(types))
    missing = [t for t in names if t not in PARAMETERS]
    if missing:
        raise ValueError(f"no exp-6 parameters for atom type(s) {missing}; have {sorted(PARAMETERS)}")
    p = np.array([PARAMETERS[t][0] for t in names])
    a = np.sqrt(np.outer(p[:, 0], p[:, 0]))
    b = 0.5 * (p[:, 1][:, None] + p[:, 1][None, :])
    c = np.sqrt(np.outer(p[:, 2], p[:, 2]))
    index = np.array([names.index(t) for t in types], dtype=np.int64)
    return index, a, b, c, names


def exp6_maximum(a: float, b: float, c: float) -> float:
    """Distance (Å) of the exp-6 maximum: inside it the potential falls to -inf.

    0.3 Å (the grid's start) for a purely repulsive pair (C = 0, W99's polar H).
    """
    r = np.linspace(0.3, 4.0, 3701)
    e = a * np.exp(-b * r) - c / r**6
    return float(r[np.argmax(e)])
