"""Orbits of the molecule's graph automorphisms, also when they are too many to list, and
their place in structures.h5."""

from pathlib import Path

import h5py
import networkx as nx
import numpy as np
import pytest
from ase.data import covalent_radii
from crystals import methanol_like

from latentcsp.ingest import _one_molecule
from latentcsp.io import RawStructure
from latentcsp.store import read_structures, write_structures
from latentcsp.structure import Options, Reference, analyse
from latentcsp.synth import read_xyz

ANTI = Path(__file__).resolve().parents[1] / "config" / "molecules" / "anti-BDT.xyz"


def bond_graph(numbers, positions) -> nx.Graph:
    """Bonds d < r_cov + r_cov + 0.4 Å; nodes carry 'element' and 'pos'."""
    g = nx.Graph()
    for k, z in enumerate(numbers):
        g.add_node(k, element=int(z), pos=positions[k])
    for a in range(len(numbers)):
        for b in range(a):
            if np.linalg.norm(positions[a] - positions[b]) < covalent_radii[numbers[a]] + covalent_radii[numbers[b]] + 0.4:
                g.add_edge(a, b)
    return g


def graph_automorphisms(numbers, positions) -> np.ndarray:
    """Every automorphism (k, n) networkx VF2 lists (independent of latentcsp.structure)."""
    g = bond_graph(numbers, positions)
    match = nx.algorithms.isomorphism.categorical_node_match("element", -1)
    autos = nx.algorithms.isomorphism.GraphMatcher(g, g, node_match=match).isomorphisms_iter()
    return np.array([[m[a] for a in range(len(numbers))] for m in autos])


def graph_orbits(numbers, positions) -> np.ndarray:
    """Least atom of each atom's orbit."""
    return graph_automorphisms(numbers, positions).min(axis=0)


def _ingest(raws):
    kept, bad = _one_molecule([analyse(r) for r in raws], Options())
    assert not bad
    return kept


def _store(tmp_path, crystals, name="s.h5"):
    write_structures(crystals, tmp_path / name)
    return read_structures(tmp_path / name)


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


def test_old_structures_files_are_refused(tmp_path):
    a = methanol_like(14)
    _store(tmp_path, _ingest([RawStructure("m", "t", a.cell[:], a.positions, a.numbers, 0.0)]))
    with h5py.File(tmp_path / "s.h5", "a") as h5:
        del h5["orbit"]
    with pytest.raises(ValueError, match="no atom orbits .* rerun the ingest"):
        read_structures(tmp_path / "s.h5")
