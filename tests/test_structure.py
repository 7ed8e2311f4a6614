"""Molecules under PBC, symmetry facts and the content hash of latentcsp.structure."""

import networkx as nx
import numpy as np
import pytest
from ase.build import make_supercell
from crystals import co_crystal, methanol_like

from latentcsp.io import RawStructure
from latentcsp.structure.canonical import assign_canonical_order, reference_graph
from latentcsp.structure.hashing import content_hash
from latentcsp.structure.crystal import BadStructure, Options, analyse, find_molecules, formula_of


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

    from latentcsp.structure.crystal import periodic_pairs

    rng = np.random.default_rng(7)
    cell = np.array([[2.1, 0.0, 0.0], [1.7, 2.6, 0.0], [-0.9, 0.8, 3.3]])
    positions = rng.uniform(-3, 6, size=(7, 3))  # unwrapped on purpose
    ours = periodic_pairs(cell, positions, 3.0)
    ref = primitive_neighbor_list("ijSd", (True,) * 3, cell, positions, 3.0)
    key = lambda i, j, S, d: sorted(zip(i.tolist(), j.tolist(), map(tuple, S.tolist()), np.round(d, 9).tolist()))
    assert key(*ours) == key(*ref)
    assert len(ours[0]) > 50  # many images of each atom


def _graph(atoms, tolerance=0.4):
    from ase.data import covalent_radii
    r = covalent_radii[atoms.numbers]
    d = np.linalg.norm(atoms.positions[:, None] - atoms.positions[None], axis=-1)
    return atoms.numbers, np.argwhere(np.triu(d < r[:, None] + r[None] + tolerance, 1))


def test_molecule_key_ignores_atom_and_bond_order_and_tells_isomers_apart():
    from ase.build import molecule

    from latentcsp.structure.crystal import molecule_key

    for name in ("CH3CH2OH", "isobutane", "CH3COOH"):
        numbers, bonds = _graph(molecule(name))
        perm = np.random.default_rng(0).permutation(len(numbers))
        inv = np.argsort(perm)
        shuffled = inv[bonds][::-1][:, ::-1]  # renamed atoms, bonds listed backwards and b -> a
        assert molecule_key(numbers[perm], shuffled) == molecule_key(numbers, bonds)
    for a, b in (("CH3CH2OH", "CH3OCH3"), ("isobutane", "trans-butane"), ("CH3COOH", "HCOOCH3")):
        key_a, key_b = molecule_key(*_graph(molecule(a))), molecule_key(*_graph(molecule(b)))
        assert key_a.split(":")[0] == key_b.split(":")[0]  # same formula
        assert key_a != key_b


def test_hash_from_the_analysis_equals_the_stand_alone_hash():
    atoms = methanol_like(61, (9, 10, 11, 90, 90, 90))
    c = analyse(raw(atoms))
    assert c.hash == content_hash(c.cell, c.positions, c.numbers)
    assert c.hash == content_hash(atoms.cell[:], atoms.positions, atoms.numbers)


def test_a_bond_to_two_images_of_one_atom_is_a_network():
    from ase import Atoms
    chain = Atoms("C2", positions=[[0, 0, 0], [1.5, 0, 0]], cell=[3.0, 8, 8], pbc=True)  # C0-C1-C0'-...
    with pytest.raises(BadStructure, match="infinite covalent network"):
        find_molecules(chain.cell[:], chain.positions, chain.numbers)


def test_contact_fingerprint_matches_a_slow_sum():
    from latentcsp.structure.canonical import contact_fingerprint

    c = analyse(raw(methanol_like()))
    atoms = np.flatnonzero(c.mol_ids < 2)
    cutoff = 5.0
    reach = np.ceil(cutoff * np.linalg.norm(np.linalg.inv(c.cell), axis=0)).astype(int)
    want = []
    for a in atoms:
        total = 0.0
        for S in np.ndindex(*(2 * reach + 1)):
            S = np.array(S) - reach
            d = np.linalg.norm(c.positions + S @ c.cell - c.positions[a], axis=1)
            other = (d < cutoff) & ((c.mol_ids != c.mol_ids[a]) | S.any())
            total += np.exp(-(d[other] - 3.0)).sum()
        want.append(total)
    assert np.allclose(contact_fingerprint(c, atoms), want, rtol=1e-12)
    assert np.allclose(contact_fingerprint(c, atoms[::-1]), want[::-1], rtol=1e-12)


@pytest.mark.parametrize("spacegroup", [14, 2, 61, 4])
def test_fast_and_vf2_labellings_choose_alike(spacegroup):
    """Without a tie inside one copy, the labelling kept does not depend on which isomorphism search runs."""
    from latentcsp.structure.canonical import _choose, _close_labellings

    cell = {14: (7.0, 6.5, 9.0, 90, 105, 90), 2: (7, 7.5, 9.0, 80, 95, 100), 61: (9, 10, 11, 90, 90, 90),
            4: (7.0, 6.5, 9.0, 90, 105, 90)}[spacegroup]
    atoms = methanol_like(spacegroup, cell)
    reference = reference_graph(analyse(raw(atoms)))
    perm = np.random.default_rng(spacegroup).permutation(len(atoms))
    c = analyse(raw(atoms[perm]))
    for copies in c.molecule_classes:
        picks = []
        for vf2 in (False, True):
            orders, owner = _close_labellings(reference, c, copies, Options(), 0.05, vf2)
            choice = _choose(c, orders, owner, by_order=vf2)
            picks.append(tuple(orders[choice]))
        assert picks[0] == picks[1]


def test_reference_automorphisms_are_the_vf2_set():
    from ase.build import molecule

    from latentcsp.structure.canonical import Reference

    for name in ("C6H6", "isobutane", "CH3COOH", "C4H4S"):
        atoms = molecule(name)
        g = nx.Graph()
        numbers, bonds = _graph(atoms)
        g.add_nodes_from((k, {"element": int(z), "pos": atoms.positions[k]}) for k, z in enumerate(numbers))
        g.add_edges_from(map(tuple, bonds))
        ref = Reference(g)
        assert ref.complete
        assert {tuple(a) for a in ref.automorphisms.tolist()} == {tuple(a) for a in ref.vf2_automorphisms.tolist()}


@pytest.mark.shared
@pytest.mark.parametrize("case", ["aspirin", "CL-20"])
def test_reference_automorphisms_of_real_molecules(shared_data, case):
    from latentcsp.io.cif import read_cif

    path = sorted((shared_data / "genarris3-cases" / case / "MACE").glob("*.cif"))[0]
    ref = reference_graph(analyse(next(iter(read_cif(str(path))))))
    autos = {tuple(a) for a in ref.automorphisms.tolist()}
    assert len(autos) == len(ref.automorphisms) > 1
    assert autos == {tuple(a) for a in ref.vf2_automorphisms.tolist()}


def test_a_tie_inside_one_copy_is_broken_by_vf2_order(monkeypatch):
    """C2H2 on an inversion centre: labellings swapped by the inversion tie; networkx VF2's order decides."""
    import latentcsp.structure.canonical as structure
    from ase.spacegroup import crystal as build

    cellpar = (6.0, 5.0, 6.0, 80, 95, 100)
    probe = build(["C"], [[0, 0, 0]], spacegroup=1, cellpar=cellpar)
    half = probe.cell.scaled_positions(np.array([[0.6, 0.0, 0.0], [1.65, 0.0, 0.0]]))
    atoms = build(["C", "H"], half, spacegroup=2, cellpar=cellpar)
    c = analyse(raw(atoms))
    reference = reference_graph(c)
    calls = []
    real = structure._close_labellings

    def spy(*args, **kwargs):
        calls.append(kwargs.get("vf2", args[-1]))
        return real(*args, **kwargs)

    monkeypatch.setattr(structure, "_close_labellings", spy)
    assign_canonical_order(c, reference)
    assert calls == [False, True]
    orders, owner = real(reference, c, c.molecule_classes[0], Options(), 0.05, True)
    choice = structure._choose(c, orders, owner, by_order=True)
    assert np.array_equal(np.flatnonzero(c.canonical >= 0), np.sort(orders[choice]))
    assert np.array_equal(c.canonical[orders[choice]], np.arange(4))
