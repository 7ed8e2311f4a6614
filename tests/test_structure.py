"""Molecules under PBC, symmetry facts and the content hash of latentcsp.structure."""

import numpy as np
import pytest
from ase.build import make_supercell
from crystals import co_crystal, methanol_like

from latentcsp.io import RawStructure
from latentcsp.structure import (
    BadStructure, Options, analyse, assign_canonical_order, content_hash, find_molecules,
    formula_of, reference_graph,
)


def raw(atoms, ident="x", energy=0.0):
    return RawStructure(ident, "test", np.array(atoms.cell[:]), atoms.get_positions(), atoms.numbers, energy)


def test_molecules_are_found_and_made_whole():
    atoms = methanol_like()
    atoms.wrap()  # split molecules across cell faces
    mol_ids, unwrapped, _ = find_molecules(atoms.cell[:], atoms.positions, atoms.numbers)
    assert mol_ids.max() + 1 == 4
    for m in range(4):
        pos = unwrapped[mol_ids == m]
        span = np.linalg.norm(pos[:, None] - pos[None], axis=-1).max()
        assert span < 3.0, "molecule not made whole"
        assert formula_of(atoms.numbers[mol_ids == m]) == "CH4O"


def test_symmetry_z_zprime_density():
    c = analyse(raw(methanol_like(61, (9, 10, 11, 90, 90, 90))))
    assert (c.spacegroup_number, c.z, c.zprime, c.n_molecules) == (61, 8, 1.0, 8)
    assert len(c.representatives) == 1
    mass = 8 * (12.011 + 15.999 + 4 * 1.008)
    assert c.density == pytest.approx(mass / (9 * 10 * 11) * 1.66054, rel=1e-3)


def test_supercell_doubles_z_prime_not_z():
    atoms = co_crystal()
    big = make_supercell(atoms, np.diag([2, 1, 1]))
    c1, c2 = analyse(raw(atoms)), analyse(raw(big))
    assert c2.z == c1.z == 4
    assert c2.zprime == c1.zprime == 1.0  # spglib finds the lattice translation
    assert c2.hash == c1.hash


def test_overlapping_atoms_are_rejected():
    atoms = co_crystal()
    atoms.positions[1] = atoms.positions[0] + [0.3, 0, 0]
    with pytest.raises(BadStructure, match="overlapping atoms"):
        analyse(raw(atoms))


def test_infinite_network_is_rejected():
    from ase import Atoms
    chain = Atoms("C", positions=[[0, 0, 0]], cell=[1.5, 8, 8], pbc=True)
    with pytest.raises(BadStructure, match="infinite covalent network"):
        analyse(raw(chain))


def test_hash_ignores_atom_order_noise_origin_and_cell_choice():
    atoms = methanol_like()
    ref = content_hash(atoms.cell[:], atoms.positions, atoms.numbers)
    rng = np.random.default_rng(1)
    perm = rng.permutation(len(atoms))
    assert content_hash(atoms.cell[:], atoms.positions[perm], atoms.numbers[perm]) == ref
    noisy = atoms.positions + rng.normal(scale=1e-5, size=atoms.positions.shape)
    assert content_hash(atoms.cell[:], noisy, atoms.numbers) == ref
    shifted = atoms.positions + atoms.cell.cartesian_positions([[0.37, 0.11, 0.71]])[0]
    assert content_hash(atoms.cell[:], shifted, atoms.numbers) == ref
    skew = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 1]])  # c' = a + c, same lattice
    cell2 = skew @ atoms.cell[:]
    assert content_hash(cell2, atoms.positions, atoms.numbers) == ref


def test_hash_separates_different_crystals():
    a = methanol_like(14, (7.0, 6.5, 9.0, 90, 105, 90))
    b = methanol_like(14, (7.0, 6.5, 9.3, 90, 105, 90))
    assert content_hash(a.cell[:], a.positions, a.numbers) != content_hash(b.cell[:], b.positions, b.numbers)


def test_canonical_order_follows_the_bond_graph():
    atoms = methanol_like()
    ref_crystal = analyse(raw(atoms))
    reference = reference_graph(ref_crystal)
    perm = np.random.default_rng(3).permutation(len(atoms))
    other = analyse(raw(atoms[perm]))
    for c in (ref_crystal, other):
        assign_canonical_order(c, reference, Options())
    for c in (ref_crystal, other):
        mask = c.canonical >= 0
        assert mask.sum() == 6  # one independent molecule
        order = np.argsort(c.canonical[mask])
        elements = c.numbers[mask][order]
        ref_elements = [reference.graph.nodes[k]["element"] for k in range(6)]
        assert list(elements) == ref_elements


def test_site_symmetry_of_a_molecule_on_an_inversion_centre():
    """An ethane-like centrosymmetric C2H2 molecule on the inversion centre of P-1 (Z' = 0.5)."""
    from ase.spacegroup import crystal as build
    cellpar = (6.0, 5.0, 6.0, 80, 95, 100)
    probe = build(["C"], [[0, 0, 0]], spacegroup=1, cellpar=cellpar)
    half = probe.cell.scaled_positions(np.array([[0.6, 0.0, 0.0], [1.65, 0.0, 0.0]]))
    atoms = build(["C", "H"], half, spacegroup=2, cellpar=cellpar)
    c = analyse(raw(atoms))
    assert (c.spacegroup_number, c.zprime, c.n_molecules) == (2, 0.5, 1)
    assert c.site_symmetries == ["-1"]
    general = analyse(raw(methanol_like()))
    assert general.site_symmetries == ["1"]


def test_periodic_pairs_match_ase_on_a_narrow_skewed_cell():
    from ase.neighborlist import primitive_neighbor_list

    from latentcsp.structure import periodic_pairs

    rng = np.random.default_rng(7)
    cell = np.array([[2.1, 0.0, 0.0], [1.7, 2.6, 0.0], [-0.9, 0.8, 3.3]])
    positions = rng.uniform(-3, 6, size=(7, 3))  # unwrapped on purpose
    ours = periodic_pairs(cell, positions, 3.0)
    ref = primitive_neighbor_list("ijSd", (True,) * 3, cell, positions, 3.0)
    key = lambda i, j, S, d: sorted(zip(i.tolist(), j.tolist(), map(tuple, S.tolist()), np.round(d, 9).tolist()))
    assert key(*ours) == key(*ref)
    assert len(ours[0]) > 50  # many images of each atom
