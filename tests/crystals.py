"""Small molecular crystals built by the tests themselves (no external files)."""

from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.spacegroup import crystal


def co_crystal(spacegroup: int = 14, cellpar=(6.0, 7.0, 8.0, 90, 100, 90), shift=(0.0, 0.0, 0.0)) -> Atoms:
    """A crystal of rigid CO molecules (C-O 1.13 Å) in a general position."""
    c_frac = np.array([0.11, 0.23, 0.31]) + shift
    probe = crystal(["C"], [c_frac], spacegroup=spacegroup, cellpar=cellpar)
    o_cart = probe.cell.cartesian_positions([c_frac])[0] + np.array([1.13, 0.0, 0.0])
    o_frac = probe.cell.scaled_positions(o_cart[None])[0]
    return crystal(["C", "O"], [c_frac, o_frac], spacegroup=spacegroup, cellpar=cellpar)


def methanol_like(spacegroup: int = 14, cellpar=(7.0, 6.5, 9.0, 90, 105, 90), methyl_turn: float = 0.0) -> Atoms:
    """A crystal of a rigid 6-atom CH3OH-like molecule in a general position (Z' = 1);
    ``methyl_turn``: the methyl H turned by this many degrees about the C-O bond."""
    mol = np.array([
        [0.0, 0.0, 0.0],      # C
        [1.43, 0.0, 0.0],     # O
        [-0.36, 1.03, 0.0],   # H
        [-0.36, -0.51, 0.89],  # H
        [-0.36, -0.51, -0.89],  # H
        [1.75, 0.9, 0.0],     # H (hydroxyl)
    ])
    t = np.radians(methyl_turn)
    mol[2:5, 1:] = mol[2:5, 1:] @ np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]])
    symbols = ["C", "O", "H", "H", "H", "H"]
    probe = Atoms(cell=crystal(["C"], [[0, 0, 0]], spacegroup=1, cellpar=cellpar).cell)
    origin = probe.cell.cartesian_positions([[0.2, 0.15, 0.27]])[0]
    frac = probe.cell.scaled_positions(mol + origin)
    return crystal(symbols, frac, spacegroup=spacegroup, cellpar=cellpar)


def to_extxyz_frame(atoms: Atoms, name: str, energy: float | None, spacegroup: str | None = None) -> Atoms:
    """A copy carrying the info keys our extxyz reader uses."""
    out = atoms.copy()
    out.info = {"name": name}
    if energy is not None:
        out.info["energy"] = energy
    if spacegroup:
        out.info["spacegroup"] = spacegroup
    return out


def same_sites(cell, pos_a, num_a, pos_b, num_b, tol=1e-4) -> bool:
    """Whether two atom sets are equal as sets under PBC (same elements on the same points, Å)."""
    if len(pos_a) != len(pos_b):
        return False
    fa = np.linalg.solve(np.asarray(cell).T, np.asarray(pos_a).T).T
    fb = np.linalg.solve(np.asarray(cell).T, np.asarray(pos_b).T).T
    d = fa[:, None, :] - fb[None, :, :]
    d -= np.round(d)
    dist = np.linalg.norm(d @ cell, axis=-1)
    j = dist.argmin(axis=1)
    return bool((dist.min(axis=1) < tol).all() and len(set(j)) == len(j)
                and (np.asarray(num_a) == np.asarray(num_b)[j]).all())


def substituted_benzene() -> tuple[list[str], np.ndarray, list[str]]:
    """A planar 4-amino-3-chloro-5-fluoro-nitrobenzene-like molecule (C6H4ClFN2O2) built from
    ideal bond lengths: symbols, positions (n, 3) Å and the W99/DREIDING type of each atom
    as chemistry assigns it (aromatic C, H on C, nitro N and O, amino N and H, F, Cl)."""
    def unit(deg):
        return np.array([np.cos(np.radians(deg)), np.sin(np.radians(deg)), 0.0])

    symbols, xyz, types = [], [], []

    def add(s, p, t):
        symbols.append(s)
        xyz.append(p)
        types.append(t)

    for k in range(6):
        add("C", 1.39 * unit(60 * k), "C_W3")
    n1 = unit(0) * (1.39 + 1.47)  # nitro on ring atom 0
    add("N", n1, "N_W2")
    add("O", n1 + 1.22 * unit(60), "O_W1")
    add("O", n1 + 1.22 * unit(-60), "O_W1")
    add("H", unit(60) * (1.39 + 1.08), "H_W1")
    add("Cl", unit(120) * (1.39 + 1.73), "Cl")
    n2 = unit(180) * (1.39 + 1.36)  # amino on ring atom 3
    add("N", n2, "N_W4")
    add("H", n2 + 1.01 * unit(240), "H_W4")
    add("H", n2 + 1.01 * unit(120), "H_W4")
    add("F", unit(240) * (1.39 + 1.35), "F_")
    add("H", unit(300) * (1.39 + 1.08), "H_W1")
    return symbols, np.array(xyz), types
