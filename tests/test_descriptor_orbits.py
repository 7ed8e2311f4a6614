"""Atoms pooling within the orbits of the molecule's graph automorphisms: the vector does
not depend on which equivalent labelling the ingest chose, keeps orbits apart, and is
continuous across a labelling flip; orbits from the automorphisms, also when they are too
many to list; the cache never serves rows pooled without orbits."""

import copy
from pathlib import Path

import h5py
import networkx as nx
import numpy as np
import pytest
from ase import Atoms
from ase.data import covalent_radii
from crystals import methanol_like

from latentcsp.descriptors import aev
from latentcsp.descriptors.stage import DescriptorSet, compute_group
from latentcsp.ingest import one_molecule
from latentcsp.io import RawStructure
from latentcsp.store import read_matrix, read_structures, write_structures
from latentcsp.structure.canonical import Reference
from latentcsp.structure.crystal import Options, analyse
from latentcsp.synth import CrystalModel, SamplingOptions, read_xyz
from latentcsp.synth.sampling import sample_trials

INTER = DescriptorSet("inter", "ani2x", "intermolecular", "atoms")
ANTI = Path(__file__).resolve().parents[1] / "config" / "molecules" / "anti-BDT.xyz"


def bond_graph(numbers, positions) -> nx.Graph:
    """Bonds d < r_cov + r_cov + 0.4 Å; nodes carry 'element' and 'pos'."""
    g = nx.Graph()
    for k, z in enumerate(numbers):
        g.add_node(k, element=int(z), pos=positions[k])
    for a in range(len(numbers)):
        for b in range(a):
            limit = covalent_radii[numbers[a]] + covalent_radii[numbers[b]] + 0.4
            if np.linalg.norm(positions[a] - positions[b]) < limit:
                g.add_edge(a, b)
    return g


def graph_automorphisms(numbers, positions) -> np.ndarray:
    """Every automorphism (k, n) networkx VF2 lists (independent of latentcsp.structure.crystal)."""
    g = bond_graph(numbers, positions)
    match = nx.algorithms.isomorphism.categorical_node_match("element", -1)
    autos = nx.algorithms.isomorphism.GraphMatcher(g, g, node_match=match).isomorphisms_iter()
    return np.array([[m[a] for a in range(len(numbers))] for m in autos])


def graph_orbits(numbers, positions) -> np.ndarray:
    """Least atom of each atom's orbit."""
    return graph_automorphisms(numbers, positions).min(axis=0)


def canonical_rows(structures, s):
    """Per-atom AEVs of structure s in canonical order, averaged over its independent molecules
    atom by atom (the pooling before orbits), from the public API."""
    part = structures.atoms_of(s)
    atoms = Atoms(numbers=structures.numbers[part], positions=structures.positions[part], cell=structures.cell[s],
                  pbc=True)
    every = aev(atoms, "ani2x", "intermolecular", mol_ids=structures.mol_id[part],
                mol_shifts=np.zeros((len(atoms), 3), dtype=int))
    canon, mol = structures.canonical[part], structures.mol_id[part]
    independent = np.unique(mol[canon >= 0])
    rows = np.zeros((len(independent), canon.max() + 1, every.shape[1]))
    for k, m in enumerate(independent):
        rows[k, canon[mol == m]] = every[mol == m]
    return rows.mean(axis=0)


def sorted_within(rows, least):
    out = rows.copy()
    for k in np.unique(least):
        members = np.flatnonzero(least == k)
        out[members] = np.sort(rows[members], axis=0)
    return out


def _ingest(raws):
    kept, bad = one_molecule([analyse(r) for r in raws], Options())
    assert not bad
    return kept


def _store(tmp_path, crystals, name="s.h5"):
    write_structures(crystals, tmp_path / name)
    return read_structures(tmp_path / name)


def _bdt_raw(k, sg="P21/c", seed=0):
    model = CrystalModel(read_xyz(ANTI), sg)
    theta = sample_trials(model, 1, seed, SamplingOptions())[0][0]
    s = model.build(theta)
    return RawStructure(f"bdt{k}", "t", s["cell"], s["x"], np.tile(model.molecule.numbers, model.sg.z), 0.0)


def _methanols(turns):
    """Methanol crystals (P21/c) with the methyl turned by each of ``turns`` degrees."""
    return [RawStructure(f"m{k}", "t", a.cell[:], a.positions, a.numbers, 0.0)
            for k, a in enumerate(methanol_like(14, methyl_turn=t) for t in turns)]


def _canonical_molecule(crystal):
    """numbers, positions (n, 3) of the crystal's first independent molecule in canonical order."""
    atoms = np.flatnonzero(crystal.mol_ids == crystal.representatives[0])
    atoms = atoms[np.argsort(crystal.canonical[atoms])]
    return crystal.numbers[atoms], crystal.positions[atoms]


def _relabel(crystal, perm, molecule=None):
    """A copy whose canonical labels k become perm[k] (on one independent molecule, or all); an
    automorphism perm keeps every atom's orbit."""
    out = copy.deepcopy(crystal)
    out.id += "-relabelled"
    on = out.canonical >= 0 if molecule is None else out.mol_ids == molecule
    out.canonical[on] = perm[out.canonical[on]]
    return out


def test_orbits_of_the_reference_molecule():
    for name, n_orbits in (("anti-BDT", 9), ("syn-BDT", 11)):  # C2h: all atoms paired; C2v: 2 C, 2 H on the mirror
        mol = read_xyz(ANTI.with_name(f"{name}.xyz"))
        ref = Reference(bond_graph(mol.numbers, mol.ref))
        assert ref.orbits.max() + 1 == n_orbits
        assert np.array_equal(ref.orbits, np.unique(graph_orbits(mol.numbers, mol.ref), return_inverse=True)[1])
    # C(CH3)4: 4! 6^4 = 31104 automorphisms, more than are listed: the orbits come from a search
    g = nx.Graph()
    g.add_node(0, element=6, pos=np.zeros(3))
    for i in range(4):
        c = 1 + 4 * i
        g.add_node(c, element=6, pos=np.zeros(3))
        g.add_edge(0, c)
        for h in range(c + 1, c + 4):
            g.add_node(h, element=1, pos=np.zeros(3))
            g.add_edge(c, h)
    ref = Reference(g)
    assert not ref.complete
    assert ref.orbits.tolist() == [0] + [1, 2, 2, 2] * 4


def test_atoms_pooling_sorts_within_orbits_and_keeps_orbits_apart(tmp_path):
    """Methanol: the methyl H form one orbit, C, O and the hydroxyl H one each; the expected
    vector comes from the public AEV API and networkx's automorphisms."""
    structures = _store(tmp_path, _ingest(_methanols([0, 17])))
    compute_group(structures, INTER, tmp_path / "d.h5")
    _, X, _ = read_matrix(tmp_path / "d.h5")
    part = structures.atoms_of(0)
    canon = structures.canonical[part]
    ref_numbers, ref_pos = np.zeros(6, int), np.zeros((6, 3))
    ref_numbers[canon[canon >= 0]] = structures.numbers[part][canon >= 0]
    ref_pos[canon[canon >= 0]] = structures.positions[part][canon >= 0]
    least = graph_orbits(ref_numbers, ref_pos)
    assert sorted(np.unique(least, return_counts=True)[1].tolist()) == [1, 1, 1, 3]
    for s in range(2):
        rows = canonical_rows(structures, s)
        assert np.allclose(X[s], sorted_within(rows, least).reshape(-1), atol=1e-6)
        assert not np.allclose(X[s], rows.reshape(-1), atol=1e-4)  # the sort did something
    # all H of one element pooled together would mix the hydroxyl H into the methyl orbit
    by_element = sorted_within(canonical_rows(structures, 0), np.where(ref_numbers == 1, -1, np.arange(6)))
    assert not np.allclose(X[0], by_element.reshape(-1), atol=1e-4)


def test_a_relabelled_copy_gives_the_same_vector(tmp_path):
    """anti-BDT (Z' = 1) relabelled by its two-fold graph automorphism, and a Z' = 2 crystal
    with only one of its two independent molecules relabelled."""
    [crystal] = _ingest([_bdt_raw(0)])
    numbers, pos = _canonical_molecule(crystal)
    autos = graph_automorphisms(numbers, pos)
    assert len(autos) == 2
    two_fold = autos[(autos != np.arange(18)).any(axis=1)][0]
    structures = _store(tmp_path, [crystal, _relabel(crystal, two_fold)])
    compute_group(structures, INTER, tmp_path / "d.h5")
    X = read_matrix(tmp_path / "d.h5")[1]
    assert np.array_equal(X[0], X[1])
    rows = canonical_rows(structures, 0)
    assert not np.allclose(rows, canonical_rows(structures, 1), atol=1e-3)  # a real relabelling
    assert np.allclose(X[0], sorted_within(rows, graph_orbits(numbers, pos)).reshape(-1), atol=1e-6)

    # Z' = 2: two molecules of a P21/c trial, the second turned by 12 degrees about its centre
    raw = _bdt_raw(1, seed=3)
    positions = raw.positions[:36].copy()
    c, t = positions[18:].mean(axis=0), np.radians(12)
    turn = np.array([[np.cos(t), -np.sin(t), 0], [np.sin(t), np.cos(t), 0], [0, 0, 1]])
    positions[18:] = (positions[18:] - c) @ turn.T + c
    [zp2] = _ingest([RawStructure("two", "t", raw.cell, positions, raw.numbers[:36], 0.0)])
    assert zp2.zprime == 2 and len(zp2.representatives) == 2
    autos = graph_automorphisms(*_canonical_molecule(zp2))
    two_fold = autos[(autos != np.arange(18)).any(axis=1)][0]
    structures = _store(tmp_path, [zp2, _relabel(zp2, two_fold, molecule=zp2.representatives[1])], "z2.h5")
    compute_group(structures, INTER, tmp_path / "z2-d.h5")
    X = read_matrix(tmp_path / "z2-d.h5")[1]
    assert np.array_equal(X[0], X[1])
    assert not np.allclose(canonical_rows(structures, 0), canonical_rows(structures, 1), atol=1e-3)


def test_the_vector_is_continuous_across_a_labelling_flip(tmp_path):
    """Methanol with its methyl turned in 2-degree steps: here and there the ingest's labelling of
    the methyl H flips (the canonical-order rows jump); the orbit-sorted vector does not."""
    crystals = _ingest(_methanols(range(0, 122, 2)))
    structures = _store(tmp_path, crystals)
    compute_group(structures, INTER, tmp_path / "d.h5")
    X = read_matrix(tmp_path / "d.h5")[1].astype(float)
    plain = np.array([canonical_rows(structures, s).reshape(-1) for s in range(len(crystals))])
    step_new = np.linalg.norm(np.diff(X, axis=0), axis=1)
    step_old = np.linalg.norm(np.diff(plain, axis=0), axis=1)
    flips = np.flatnonzero(step_old > 4 * np.median(step_old))
    assert len(flips), "no labelling flip in the scan: the test would prove nothing"
    for i in flips:
        assert not np.array_equal(crystals[i].canonical, crystals[i + 1].canonical)
        assert step_new[i] <= 2 * np.median(step_new), (i, step_new[i], np.median(step_new))


def test_cached_rows_are_keyed_by_the_orbits(tmp_path):
    """Rows cached under other orbits (or none, as before orbits were stored) are not reused."""
    structures = _store(tmp_path, _ingest(_methanols([0, 9])))
    cache = tmp_path / "cache"
    first = compute_group(structures, INTER, tmp_path / "a.h5", cache_dir=cache)
    again = compute_group(structures, INTER, tmp_path / "b.h5", cache_dir=cache)
    assert (first.n_computed, again.n_cached) == (2, 2)
    singletons = copy.copy(structures)
    singletons.orbit = structures.canonical.copy()  # every atom its own orbit
    other = compute_group(singletons, INTER, tmp_path / "c.h5", cache_dir=cache)
    assert (other.n_computed, other.n_cached) == (2, 0)
    assert not np.allclose(read_matrix(tmp_path / "a.h5")[1], read_matrix(tmp_path / "c.h5")[1], atol=1e-4)


def test_old_structures_files_are_refused(tmp_path):
    a = methanol_like(14)
    _store(tmp_path, _ingest([RawStructure("m", "t", a.cell[:], a.positions, a.numbers, 0.0)]))
    with h5py.File(tmp_path / "s.h5", "a") as h5:
        del h5["orbit"]
    with pytest.raises(ValueError, match="no atom orbits .* rerun the ingest"):
        read_structures(tmp_path / "s.h5")
