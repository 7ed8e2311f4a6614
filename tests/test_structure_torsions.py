"""Rotatable bonds of a molecule (the torsions a rigid-molecule DoF count leaves out)."""

import numpy as np
import pytest
from ase.build import molecule
from ase.data import covalent_radii

from latentcsp.structure.crystal import rotatable_bonds
from latentcsp.structure.kernels import molecule_bonds


def _rotatable(atoms):
    bonds = molecule_bonds(np.ascontiguousarray(atoms.positions), covalent_radii[atoms.numbers], 0.4)
    return rotatable_bonds(atoms.numbers, atoms.positions, bonds)


@pytest.mark.parametrize("name,count", [
    ("trans-butane", 1),   # the central C-C; the methyl ends do not count
    ("butadiene", 1),      # the acyclic C-C between two heavy-atom ends (no bond orders: counted)
    ("cyclobutane", 0),    # ring bonds
    ("isobutane", 0),      # every C-C ends in a methyl
    ("H2CCHCN", 0),        # the bond to a nitrile carbon: the carbon is linear
    ("CH3CH2OH", 0),       # C-O ends in a hydroxyl H
])
def test_rotatable_bonds_of_small_molecules(name, count):
    assert len(_rotatable(molecule(name))) == count


def test_a_bent_atom_is_not_linear():
    atoms = molecule("H2CCHCN")
    nitrile_c = [i for i in range(len(atoms)) if atoms[i].symbol == "C"][-1]
    # bend the nitrile: the C-C(N) bond now twists something, and counts
    n = [i for i in range(len(atoms)) if atoms[i].symbol == "N"][0]
    axis = atoms.positions[n] - atoms.positions[nitrile_c]
    perp = np.cross(axis, [0.0, 0.0, 1.0])
    atoms.positions[n] = atoms.positions[nitrile_c] + np.linalg.norm(axis) * (
        np.cos(np.radians(30)) * axis / np.linalg.norm(axis) + np.sin(np.radians(30)) * perp / np.linalg.norm(perp))
    assert len(_rotatable(atoms)) == 1


def test_roy_has_three_torsions(shared_data):
    import bz2

    from ase.io import read

    from latentcsp.structure.crystal import find_molecules

    path = shared_data / "roy-beran2022" / "beran_roy_structures.xyz.bz2"
    with bz2.open(path, "rt") as fh:
        crystal = read(fh, index=0, format="extxyz")
    mol_ids, unwrapped, _ = find_molecules(crystal.cell[:], crystal.positions, crystal.numbers)
    first = np.flatnonzero(mol_ids == mol_ids[0])
    atoms = crystal[first]
    atoms.positions = unwrapped[first]
    pairs = _rotatable(atoms)
    symbols = sorted("".join(sorted(atoms.symbols[p])) for p in pairs)
    assert symbols == ["CN", "CN", "CN"]  # thiophene-NH, NH-phenyl, phenyl-NO2
