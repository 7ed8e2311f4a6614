"""The numba kernels of latentcsp.structure.kernels against slow reference implementations."""

import itertools

import networkx as nx
import numpy as np
import pytest
from ase.build import molecule
from ase.data import covalent_radii
from ase.neighborlist import primitive_neighbor_list

from latentcsp.structure.pbc import close_pairs
from latentcsp.structure.canonical import Matcher, kabsch_rmsd, kabsch_rmsd_batch
from latentcsp.structure.kernels import (
    adjacency, covalent_bonds, match_molecule, molecule_bonds, molecule_tree, smallest_table,
    wl_colours,
)

# --- slow references -------------------------------------------------------------------------


def pairs_reference(cell, positions, cutoff, centres):
    """Every (i, j, S) with |positions[j] + S @ cell - positions[i]| <= cutoff, by brute force over shifts."""
    frac = positions @ np.linalg.inv(cell)
    spread = np.ceil(np.ptp(frac, axis=0)).astype(int)  # the input is not wrapped into the cell
    reach = np.ceil(cutoff * np.linalg.norm(np.linalg.inv(cell), axis=0)).astype(int) + spread + 1
    out = set()
    for S in itertools.product(*[range(-r, r + 1) for r in reach]):
        for i in centres:
            d = np.linalg.norm(positions + np.array(S) @ cell - positions[i], axis=1)
            for j in np.flatnonzero(d <= cutoff):
                if j != i or any(S):
                    out.add((int(i), int(j), S))
    return out


def tree_reference(n, i, j, S):
    """Molecules and image shifts by a plain depth-first search; the network flag as a bool."""
    mol, image, network = np.full(n, -1), np.zeros((n, 3), int), False
    for seed in range(n):
        if mol[seed] >= 0:
            continue
        mol[seed] = mol.max() + 1
        stack = [seed]
        while stack:
            a = stack.pop()
            for k in np.flatnonzero(i == a):
                b = j[k]
                if mol[b] < 0:
                    mol[b], image[b] = mol[a], image[a] + S[k]
                    stack.append(b)
                elif not np.array_equal(image[b], image[a] + S[k]):
                    network = True
    return mol, image, network


def wl_reference(numbers, bonds, iterations):
    """The same Weisfeiler-Lehman colours with numpy's wrapping uint64 arithmetic."""
    gold, m1, m2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)

    def mix(x):
        z = x + gold
        z = (z ^ (z >> np.uint64(30))) * m1
        z = (z ^ (z >> np.uint64(27))) * m2
        return z ^ (z >> np.uint64(31))

    i = np.r_[bonds[:, 0], bonds[:, 1]]
    j = np.r_[bonds[:, 1], bonds[:, 0]]
    rows = [mix(np.asarray(numbers, np.uint64))]
    for _ in range(iterations):
        around = np.zeros(len(numbers), np.uint64)
        np.add.at(around, i, mix(rows[-1][j] ^ m1))
        rows.append(mix(rows[-1] ^ mix(around)))
    return np.stack(rows)


def graph_bonds(atoms, tolerance=0.4):
    """(m, 2) bonds a < b of an ASE molecule by the covalent-radius rule."""
    r = covalent_radii[atoms.numbers]
    d = np.linalg.norm(atoms.positions[:, None] - atoms.positions[None], axis=-1)
    return np.argwhere(np.triu(d < r[:, None] + r[None] + tolerance, 1))


def vf2_mappings(numbers, bonds, numbers2, bonds2):
    """Every isomorphism graph 1 -> graph 2 as tuples (networkx VF2), element-preserving."""
    g1, g2 = nx.Graph(), nx.Graph()
    for g, num, b in ((g1, numbers, bonds), (g2, numbers2, bonds2)):
        g.add_nodes_from((k, {"element": int(z)}) for k, z in enumerate(num))
        g.add_edges_from(map(tuple, b))
    match = nx.algorithms.isomorphism.categorical_node_match("element", -1)
    return {tuple(m[k] for k in range(len(numbers)))
            for m in nx.algorithms.isomorphism.GraphMatcher(g1, g2, node_match=match).isomorphisms_iter()}


def relabel(numbers, bonds, perm):
    """The same graph with atom k renamed inv[k]: numbers2[inv[k]] = numbers[k]."""
    inv = np.argsort(perm)
    return np.asarray(numbers)[perm], np.sort(inv[bonds], axis=1)


# --- tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_close_pairs_match_brute_force_on_skewed_cells(seed):
    rng = np.random.default_rng(seed)
    cell = np.diag(rng.uniform(2.0, 6.0, 3)) + np.triu(rng.uniform(-2.5, 2.5, (3, 3)), 1)
    positions = rng.uniform(-4, 9, size=(9, 3))  # outside the cell on purpose
    cutoff = rng.uniform(1.5, 4.0)
    centres = np.sort(rng.choice(9, size=5, replace=False))
    i, j, S, d = close_pairs(cell, np.linalg.inv(cell), positions, cutoff, centres)
    got = set(zip(i.tolist(), j.tolist(), map(tuple, S.tolist())))
    assert len(got) == len(i)  # no pair twice
    assert got == pairs_reference(cell, positions, cutoff, centres)
    assert np.allclose(d, np.linalg.norm(positions[j] + S @ cell - positions[i], axis=1))


def test_close_pairs_agree_with_ase():
    rng = np.random.default_rng(11)
    cell = np.array([[9.1, 0.0, 0.0], [-2.2, 7.4, 0.0], [1.3, 0.8, 12.6]])
    positions = rng.uniform(0, 9, size=(120, 3))
    i, j, S, d = close_pairs(cell, np.linalg.inv(cell), positions, 2.5, np.arange(120))
    ref = primitive_neighbor_list("ijS", (True,) * 3, cell, positions, 2.5)
    assert sorted(zip(i.tolist(), j.tolist(), map(tuple, S.tolist()))) == \
        sorted(zip(ref[0].tolist(), ref[1].tolist(), map(tuple, ref[2].tolist())))


def test_covalent_bonds_classify_close_pairs():
    rng = np.random.default_rng(8)
    cell = np.array([[7.5, 0.0, 0.0], [1.1, 6.8, 0.0], [-0.7, 0.4, 8.2]])
    positions = rng.uniform(-1, 8, size=(60, 3))
    numbers = rng.choice([1, 6, 8], size=60)
    radii = covalent_radii[numbers]
    inv = np.linalg.inv(cell)
    i, j, S, d = close_pairs(cell, inv, positions, 2 * radii.max() + 0.4, np.arange(60))
    rsum = radii[i] + radii[j]
    bonded = d < rsum + 0.4
    got = covalent_bonds(cell, inv, positions, radii, 0.4, 0.5)
    assert np.array_equal(got[0], i[bonded]) and np.array_equal(got[1], j[bonded]) and np.array_equal(got[2], S[bonded])
    clash = np.flatnonzero(d < 0.5 * rsum)
    assert len(clash) > 0  # random atoms: some overlap
    assert got[3] == clash[0] and (got[4], got[5], got[6]) == (i[clash[0]], j[clash[0]], d[clash[0]])
    assert covalent_bonds(cell, inv, positions, radii, 0.4, 0.0)[3] == -1


def test_molecule_tree_matches_depth_first_reference():
    rng = np.random.default_rng(5)
    # three chains of atoms with random image shifts, written in shuffled order
    n, edges = 12, []
    for chain in (range(0, 5), range(5, 9), range(9, 12)):
        chain = list(chain)
        for a, b in zip(chain, chain[1:]):
            s = rng.integers(-1, 2, 3)
            edges += [(a, b, s), (b, a, -s)]
    order = rng.permutation(len(edges))
    i = np.array([edges[k][0] for k in order])
    j = np.array([edges[k][1] for k in order])
    S = np.array([edges[k][2] for k in order])
    mol, image, bad = molecule_tree(n, i, j, S)
    ref_mol, ref_image, network = tree_reference(n, i, j, S)
    assert bad == -1 and not network
    assert mol.tolist() == ref_mol.tolist() == [0] * 5 + [1] * 4 + [2] * 3
    assert np.array_equal(image, ref_image)
    assert np.array_equal(image[j] - image[i], S)


def test_molecule_tree_flags_a_bond_to_two_images():
    # atom 1 bonds to atom 0 in the cell and to its image one cell along: duplicate (0, 1) edges
    i = np.array([0, 1, 0, 1])
    j = np.array([1, 0, 1, 0])
    S = np.array([[0, 0, 0], [0, 0, 0], [-1, 0, 0], [1, 0, 0]])
    mol, image, bad = molecule_tree(2, i, j, S)
    assert bad >= 0 and tree_reference(2, i, j, S)[2]
    assert not np.array_equal(image[j[bad]] - image[i[bad]], S[bad])
    assert mol.tolist() == [0, 0]


def test_wl_colours_match_numpy_reference_and_ignore_atom_order():
    atoms = molecule("CH3CH2OH")
    bonds = graph_bonds(atoms)
    got = wl_colours(atoms.numbers.astype(np.int64), *adjacency(len(atoms), bonds), 4)
    assert np.array_equal(got, wl_reference(atoms.numbers, bonds, 4))
    perm = np.random.default_rng(2).permutation(len(atoms))
    numbers2, bonds2 = relabel(atoms.numbers, bonds, perm)
    again = wl_colours(numbers2.astype(np.int64), *adjacency(len(atoms), bonds2), 4)
    assert np.array_equal(np.sort(again, axis=1), np.sort(got, axis=1))


def test_kabsch_batch_equals_scalar_kabsch():
    rng = np.random.default_rng(3)
    for t in range(40):
        n = int(rng.integers(3, 30))
        a = rng.normal(size=(n, 3)) * rng.uniform(0.5, 4)
        if t % 5 == 0:
            a[:, 2] = 0.0  # planar
        rot = np.linalg.qr(rng.normal(size=(3, 3)))[0]  # proper or improper
        b = a @ rot.T + rng.normal(scale=rng.choice([0.02, 0.3, 2.0]), size=a.shape) + rng.normal(size=3)
        perms = np.array([np.arange(n)] + [rng.permutation(n) for _ in range(6)])
        want = np.array([kabsch_rmsd(a, b[p]) for p in perms])
        assert np.allclose(kabsch_rmsd_batch(a, b, perms), want, rtol=1e-9, atol=1e-9)


def test_molecule_bonds_match_distance_matrix():
    atoms = molecule("C6H6")
    atoms.rattle(0.05, seed=1)
    radii = covalent_radii[atoms.numbers]
    got = molecule_bonds(atoms.positions, radii, 0.4)
    assert got.tolist() == graph_bonds(atoms).tolist()


@pytest.mark.parametrize("name", ["CH3CH2OH", "C6H6", "CH3COOH", "isobutane", "trans-butane", "C4H4S"])
def test_isomorphism_search_finds_what_vf2_finds(name):
    atoms = molecule(name)
    numbers, bonds = atoms.numbers, graph_bonds(atoms)
    perm = np.random.default_rng(len(name)).permutation(len(atoms))
    numbers2, bonds2 = relabel(numbers, bonds, perm)
    found = Matcher(numbers, bonds).isomorphisms(numbers2, bonds2, limit=10_000)
    assert {tuple(m) for m in found.tolist()} == vf2_mappings(numbers, bonds, numbers2, bonds2)
    assert len(found) == len({tuple(m) for m in found.tolist()}) >= 1


def test_isomorphism_search_says_no_for_same_formula_other_bonds():
    ethanol, ether = molecule("CH3CH2OH"), molecule("CH3OCH3")
    assert sorted(ethanol.numbers) == sorted(ether.numbers)
    matcher = Matcher(ethanol.numbers, graph_bonds(ethanol))
    assert len(matcher.isomorphisms(ether.numbers, graph_bonds(ether), limit=100)) == 0
    # a hexagon and two triangles: the same colours after any number of WL rounds, not isomorphic
    ring = np.array([[k, (k + 1) % 6] for k in range(6)])
    triangles = np.array([[0, 1], [1, 2], [0, 2], [3, 4], [4, 5], [3, 5]])
    carbons = np.full(6, 6)
    assert len(Matcher(carbons, ring).isomorphisms(carbons, triangles, limit=100)) == 0
    assert len(vf2_mappings(carbons, ring, carbons, triangles)) == 0
    assert len(Matcher(carbons, ring).isomorphisms(carbons, ring, limit=100)) == 12  # D6


def test_match_molecule_maps_elements_and_bonds():
    atoms = molecule("CH3COOH")
    matcher = Matcher(atoms.numbers, graph_bonds(atoms))
    perm = np.random.default_rng(0).permutation(len(atoms))
    shuffled = atoms[perm]
    mapping = matcher.match(shuffled.numbers, shuffled.positions, 0.4)
    assert mapping is not None
    assert tuple(mapping.tolist()) in vf2_mappings(atoms.numbers, graph_bonds(atoms), shuffled.numbers,
                                                   graph_bonds(shuffled))
    far = shuffled.positions.copy()
    far[0] += 5.0  # one atom pulled away: the bond graph differs
    assert matcher.match(shuffled.numbers, far, 0.4) is None
    args = (*matcher.plan, matcher.census, matcher.numbers, matcher.bonds, matcher.iterations)
    assert len(match_molecule(*args, shuffled.numbers[:-1].astype(np.int64), shuffled.positions[:-1],
                              covalent_radii[shuffled.numbers[:-1]], 0.4)) == 0


def test_smallest_table_is_the_lexicographic_minimum():
    rng = np.random.default_rng(4)
    grid = 100

    def brute(q, numbers, origins):  # the table with the origin on each atom: sorted (Z, x, y, z) codes
        tables = []
        for o in origins:
            shifted = (q - q[o]) % grid
            rows = sorted(zip(numbers.tolist(), *shifted.T.tolist()))
            tables.append([((z * grid + x) * grid + y) * grid + w for z, x, y, w in rows])
        return min(tables)

    q = rng.integers(0, grid, size=(40, 3))
    numbers = rng.choice([1, 6, 8], size=40)
    origins = np.flatnonzero(numbers == 8)
    assert smallest_table(q, numbers, origins, grid).tolist() == brute(q, numbers, origins)
    # a centred cell: every table comes twice, and origins tie on their first codes
    half = np.r_[q[:20], (q[:20] + grid // 2) % grid]
    twice = np.r_[numbers[:20], numbers[:20]]
    origins = np.flatnonzero(twice != 1)
    assert smallest_table(half, twice, origins, grid).tolist() == brute(half, twice, origins)
