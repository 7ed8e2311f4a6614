"""The canonical atom order: each independent molecule's atoms labelled as the landscape's reference molecule.

:func:`reference_graph` makes the reference (the first crystal's molecule, its
graph automorphisms and their orbits); :func:`assign_canonical_order` labels the
independent molecules of a :class:`~latentcsp.structure.crystal.Crystal` by graph
isomorphism (:class:`Matcher`), choosing among the automorphic labellings by
geometry (Kabsch RMSD, contact fingerprints), so that equivalent atoms of every
crystal line up in the descriptors.
"""

from __future__ import annotations

from functools import cached_property
from itertools import islice

import networkx as nx
import numpy as np
from ase.data import covalent_radii

from .pbc import cell_and_inverse
from .crystal import BadStructure, Crystal, Options, bond_array, formula_of
from .kernels import (
    adjacency, contact_sums, find_isomorphisms, kabsch_rmsd_permuted, match_molecule, molecule_bonds, wl_colours,
)


MAX_ISOMORPHISMS = 5000


class Matcher:
    """Isomorphism search from one molecular graph (the pattern) onto others.

    Colours are Weisfeiler-Lehman refinements of the elements, run until the
    pattern's partition is stable; the pattern's atoms are visited in
    breadth-first order from an atom of its rarest colour, and each is
    matched to an unused atom of the same colour bonded to the image of its
    tree parent, with the same bonds back to every atom matched so far
    (:func:`~latentcsp.structure.kernels.find_isomorphisms`).  numbers: (n,)
    atomic numbers; bonds: (m, 2) atom indices, each bond once.
    """

    def __init__(self, numbers: np.ndarray, bonds: np.ndarray):
        self.numbers = np.asarray(numbers, np.int64)
        self.bonds = bond_array(bonds, len(self.numbers))
        n = len(self.numbers)
        start, nbr = adjacency(n, self.bonds)
        colours = wl_colours(self.numbers, start, nbr, n)
        classes = [len(np.unique(row)) for row in colours]
        self.iterations = next(t for t in range(n + 1) if t == n or classes[t + 1] == classes[t])
        self.colours = colours[self.iterations]
        self.census = np.sort(self.colours)
        self.plan = self._plan(start, nbr)

    def _plan(self, start: np.ndarray, nbr: np.ndarray) -> tuple[np.ndarray, ...]:
        """order, parent, back_start, back, want: the pattern side of the search (see find_isomorphisms)."""
        n = len(self.numbers)
        neighbours = [nbr[start[a]:start[a + 1]].tolist() for a in range(n)]
        values, counts = np.unique(self.colours, return_counts=True)
        rarity = dict(zip(values.tolist(), counts.tolist()))
        seeds = sorted(range(n), key=lambda a: (rarity[int(self.colours[a])], a))
        order, parent, seen = [], [], set()
        for seed in seeds:
            if seed in seen:
                continue
            seen.add(seed)
            queue = [(seed, -1)]
            while queue:
                atom, up = queue.pop(0)
                order.append(atom)
                parent.append(up)
                for b in neighbours[atom]:
                    if b not in seen:
                        seen.add(b)
                        queue.append((b, atom))
        placed = {a: t for t, a in enumerate(order)}
        back = [[b for b in neighbours[a] if placed[b] < placed[a]] for a in order]
        back_start = np.cumsum([0] + [len(x) for x in back])
        flat = np.array([b for x in back for b in x], np.int64)
        return np.array(order, np.int64), np.array(parent, np.int64), back_start, flat, self.colours

    def match(self, numbers: np.ndarray, positions: np.ndarray, tolerance: float) -> np.ndarray | None:
        """One mapping (n,) onto a whole molecule whose bonds are d < r_cov + r_cov + tolerance Å, or None.

        numbers (n,), positions (n, 3) Å (the molecule made whole).
        """
        numbers = np.asarray(numbers, np.int64)
        found = match_molecule(*self.plan, self.census, self.numbers, self.bonds, self.iterations, numbers,
                               np.ascontiguousarray(positions, dtype=float), covalent_radii[numbers], float(tolerance))
        return found if len(found) else None

    def isomorphisms(self, numbers: np.ndarray, bonds: np.ndarray, limit: int = 1) -> np.ndarray:
        """Up to ``limit`` mappings (k, n): pattern atom p -> atom row[p] of the graph (numbers, bonds)."""
        numbers = np.asarray(numbers, np.int64)
        bonds = bond_array(bonds, len(numbers))
        n = len(numbers)
        if n != len(self.numbers) or len(bonds) != len(self.bonds) or n == 0:
            return np.zeros((0, n), np.int64)
        start, nbr = adjacency(n, bonds)
        colours = wl_colours(numbers, start, nbr, self.iterations)[-1]
        if not np.array_equal(np.sort(colours), self.census):
            return np.zeros((0, n), np.int64)
        found = find_isomorphisms(*self.plan, start, nbr, colours, limit)
        bonded = np.zeros((n, n), bool)
        bonded[bonds[:, 0], bonds[:, 1]] = bonded[bonds[:, 1], bonds[:, 0]] = True
        ok = bonded[found[:, self.bonds[:, 0]], found[:, self.bonds[:, 1]]].all(axis=1)
        ok &= (numbers[found] == self.numbers).all(axis=1)
        return found[ok]


class Reference:
    """The landscape's molecule: bond graph (nodes carry 'element' and 'pos', Å) and its automorphisms.

    automorphisms: (k, n) int, every relabelling that keeps the bond graph
    (at most MAX_ISOMORPHISMS; when there are more, networkx VF2's first ones,
    and ``complete`` is False).
    """

    def __init__(self, graph: nx.Graph):
        self.graph = graph
        n = len(graph)
        self.positions = np.array([graph.nodes[k]["pos"] for k in range(n)])
        self.centred = np.ascontiguousarray(self.positions - self.positions.mean(0))
        self.numbers = np.array([graph.nodes[k]["element"] for k in range(n)])
        self.bonds = np.array(sorted(tuple(sorted(e)) for e in graph.edges), np.int64).reshape(-1, 2)
        self.matcher = Matcher(self.numbers, self.bonds)
        autos = self.matcher.isomorphisms(self.numbers, self.bonds, MAX_ISOMORPHISMS)
        self.complete = len(autos) < MAX_ISOMORPHISMS
        self.automorphisms = autos if self.complete else self.vf2_automorphisms

    @cached_property
    def vf2_automorphisms(self) -> np.ndarray:
        """The automorphisms in networkx VF2's order (at most MAX_ISOMORPHISMS)."""
        matcher = nx.algorithms.isomorphism.GraphMatcher(self.graph, self.graph, node_match=_same_element)
        autos = islice(matcher.isomorphisms_iter(), MAX_ISOMORPHISMS)
        return np.array([[mapping[k] for k in range(len(self.graph))] for mapping in autos])

    @cached_property
    def orbits(self) -> np.ndarray:
        """Orbit of each atom under the automorphisms: (n,) int, 0, 1, ... in the order of each
        orbit's first atom; atoms that a graph symmetry maps onto each other share it."""
        if self.complete:  # a group: the orbit of atom a is {g(a)}, named by its least member
            least = self.automorphisms.min(axis=0)
        else:
            least = self._orbits_by_search()
        return np.unique(least, return_inverse=True)[1].astype(np.int64)

    def _orbits_by_search(self) -> np.ndarray:
        """Least orbit member of each atom, each pair of same-colour atoms decided by a VF2
        search for an automorphism taking one to the other (when there are too many to list)."""
        least = np.arange(len(self))
        match = nx.algorithms.isomorphism.categorical_node_match(["element", "mark"], [-1, 0])
        for a in range(len(self)):
            for r in np.unique(least[:a]):
                if self.matcher.colours[r] != self.matcher.colours[a]:
                    continue
                g1, g2 = self.graph.copy(), self.graph.copy()
                g1.nodes[int(r)]["mark"] = g2.nodes[a]["mark"] = 1
                if nx.algorithms.isomorphism.GraphMatcher(g1, g2, node_match=match).is_isomorphic():
                    least[a] = r
                    break
        return least

    def __len__(self) -> int:
        return len(self.graph)


_same_element = nx.algorithms.isomorphism.categorical_node_match("element", -1)


def reference_graph(crystal: Crystal, opts: Options | None = None) -> Reference:
    """The landscape's reference molecule: the crystal's first representative."""
    opts = opts or Options()
    atoms = np.flatnonzero(crystal.mol_ids == crystal.representatives[0])
    return Reference(_graph_of(crystal, atoms, opts))


def _intramolecular_bonds(crystal: Crystal, atoms: np.ndarray, opts: Options) -> np.ndarray:
    """(m, 2) local indices a < b of the bonded pairs among ``atoms`` (whole-molecule positions)."""
    numbers = crystal.numbers[atoms]
    return molecule_bonds(np.ascontiguousarray(crystal.positions[atoms]), covalent_radii[numbers], opts.bond_tolerance)


def _graph_of(crystal: Crystal, atoms: np.ndarray, opts: Options) -> nx.Graph:
    pos, num = crystal.positions[atoms], crystal.numbers[atoms]
    g = nx.Graph()
    for k, z in enumerate(num):
        g.add_node(k, element=int(z), pos=pos[k])
    g.add_edges_from(map(tuple, _intramolecular_bonds(crystal, atoms, opts)))
    return g


def kabsch_rmsd(a: np.ndarray, b: np.ndarray) -> float:
    """RMSD (Å) of two (n, 3) point sets after the best proper rotation and translation."""
    a, b = a - a.mean(0), b - b.mean(0)
    u, s, vt = np.linalg.svd(a.T @ b)
    s[-1] *= np.sign(np.linalg.det(u @ vt))
    return float(np.sqrt(max((a * a).sum() + (b * b).sum() - 2 * s.sum(), 0.0) / len(a)))


def kabsch_rmsd_batch(a: np.ndarray, b: np.ndarray, perms: np.ndarray) -> np.ndarray:
    """RMSD (Å) of (n, 3) ``a`` against ``b[perm]`` for each row of (k, n) ``perms``; shape (k,).

    The values of :func:`kabsch_rmsd` (best proper rotation and translation)
    for every permutation at once.
    """
    a = np.ascontiguousarray(a - a.mean(0), dtype=float)
    b = np.ascontiguousarray(b - b.mean(0), dtype=float)
    perms = np.ascontiguousarray(perms, dtype=np.int64)
    if a.shape != b.shape or a.ndim != 2 or a.shape[1] != 3 or perms.ndim != 2 or perms.shape[1] != len(a) \
            or (perms.size and (perms.min() < 0 or perms.max() >= len(b))):
        raise ValueError(f"kabsch_rmsd_batch needs two (n, 3) sets and (k, n) permutations of 0..n-1; "
                         f"got {a.shape}, {b.shape}, {perms.shape}")
    return kabsch_rmsd_permuted(a, b, perms)


def _labellings(reference: Reference, crystal: Crystal, atoms: np.ndarray, opts: Options, vf2: bool = False):
    """Every reference -> molecule isomorphism: rmsd (k,) and base (n,), labelling k being base[autos[k]].

    A labelling lists crystal atom indices in reference order.  One
    isomorphism (from the reference's :class:`Matcher`, or networkx VF2 with
    ``vf2``) is composed with the reference's automorphisms ``autos`` (its
    ``automorphisms``, or ``vf2_automorphisms`` with ``vf2``); the rigid
    geometry (Kabsch RMSD, proper rotations) tells the labellings apart.
    rmsd is empty when the molecule is not isomorphic to the reference.
    """
    if vf2:
        graph = _graph_of(crystal, atoms, opts)
        matcher = nx.algorithms.isomorphism.GraphMatcher(reference.graph, graph, node_match=_same_element)
        mapping = next(matcher.isomorphisms_iter(), None)
        first = None if mapping is None else np.array([mapping[k] for k in range(len(reference))])
        autos = reference.vf2_automorphisms
    else:
        first = reference.matcher.match(crystal.numbers[atoms], crystal.positions[atoms], opts.bond_tolerance)
        autos = reference.automorphisms
    if first is None:
        return np.zeros(0), None
    base = atoms[first]
    b = crystal.positions[base]
    return kabsch_rmsd_permuted(reference.centred, b - b.mean(0), autos), base


def contact_fingerprint(crystal: Crystal, atoms: np.ndarray, cutoff: float = 5.0) -> np.ndarray:
    """Per-atom sum of exp(-(d - 3 Å)) over atoms of other molecules within ``cutoff`` Å; shape (len(atoms),).

    Images are those of the whole-molecule positions at lattice shifts of at
    most ceil(cutoff / lattice-plane spacing) along each axis.
    """
    inv = cell_and_inverse(crystal.cell)[1]
    reach = np.ceil(cutoff * np.linalg.norm(inv, axis=0)).astype(np.int64)
    centres, back = np.unique(np.asarray(atoms, np.int64), return_inverse=True)
    sums = contact_sums(np.ascontiguousarray(crystal.cell, dtype=float), inv, crystal.positions,
                        np.asarray(crystal.mol_ids, np.int64), centres, float(cutoff), reach)
    return sums[back]


def _choose(crystal: Crystal, orders: np.ndarray, owner: np.ndarray, by_order: bool = False) -> int | None:
    """Index of the labelling (row of ``orders``) kept; None when two of one copy tie, unless ``by_order``.

    The one whose contact fingerprint, read in reference order, is
    lexicographically smallest; ties go to the earlier labelling, which is
    only the same for any isomorphism search when the tied labellings belong
    to different copies (``owner``: the copy of each labelling).
    """
    if len(orders) == 1:
        return 0
    every = np.unique(orders)
    fp = np.round(contact_fingerprint(crystal, every), 3)
    keys = fp[np.searchsorted(every, orders)]  # (k, n)
    rank = np.lexsort(keys.T[::-1])  # stable
    tied = rank[(keys[rank] == keys[rank[0]]).all(axis=1)]
    if not by_order and len(np.unique(owner[tied])) < len(tied):
        return None
    return int(rank[0])


def assign_canonical_order(crystal: Crystal, reference: Reference, opts: Options | None = None,
                           tol: float = 0.05) -> None:
    """Fill ``crystal.canonical`` and ``orbit`` (and choose ``representatives``) by matching to ``reference``.

    A rigid molecule's own symmetry (a mirror plane, a two-fold axis) leaves
    several labellings that fit the reference equally well (within ``tol`` Å
    RMSD), and a mirror-image copy in the cell offers its own.  The labelling
    kept is the one whose per-atom intermolecular contact fingerprint, read in
    reference order, is smallest: labellings of crystallographically
    equivalent atoms tie, so every copy and every file order of the same
    crystal gives the same labels.  Two labellings of one copy that still tie
    (a molecule on a special position) are told apart by their order in
    networkx VF2's enumeration, as before this search was written.  Raises
    BadStructure when a molecule is not isomorphic to the reference.
    """
    opts = opts or Options()
    canonical = np.full(crystal.n_atoms, -1, dtype=np.int64)
    reps = []
    for copies in crystal.molecule_classes:
        vf2 = not reference.complete
        orders, owner = _close_labellings(reference, crystal, copies, opts, tol, vf2)
        choice = _choose(crystal, orders, owner, by_order=vf2)
        if choice is None:  # the order of networkx VF2's labellings decides, as it always has
            orders, owner = _close_labellings(reference, crystal, copies, opts, tol, vf2=True)
            choice = _choose(crystal, orders, owner, by_order=True)
        reps.append(int(owner[choice]))
        canonical[orders[choice]] = np.arange(orders.shape[1])
    crystal.representatives = sorted(reps)
    crystal.canonical = canonical
    crystal.orbit = np.where(canonical >= 0, reference.orbits[canonical], -1)


def _close_labellings(reference: Reference, crystal: Crystal, copies: list[int], opts: Options, tol: float,
                      vf2: bool) -> tuple[np.ndarray, np.ndarray]:
    """orders (k, n) and owning molecule (k,) of the labellings of ``copies`` within ``tol`` Å of the best RMSD.

    Copy by copy, each in the order of the automorphisms.
    """
    found = []
    for m in copies:
        atoms = np.flatnonzero(crystal.mol_ids == m)
        rmsd, base = _labellings(reference, crystal, atoms, opts, vf2)
        if not len(rmsd):
            raise BadStructure(f"molecule {formula_of(crystal.numbers[atoms])} differs from the landscape's molecule")
        found.append((rmsd, base, m))
    best = min(rmsd.min() for rmsd, _, _ in found)
    autos = reference.vf2_automorphisms if vf2 else reference.automorphisms
    orders, owner = [], []
    for rmsd, base, m in found:
        close = np.flatnonzero(rmsd <= best + tol)
        orders.append(base[autos[close]])
        owner.append(np.full(len(close), m))
    return np.concatenate(orders), np.concatenate(owner)
