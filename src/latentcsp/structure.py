"""The canonical crystal record: molecules under PBC, symmetry, Z, Z', density, hash.

:func:`analyse` turns a :class:`~latentcsp.io.RawStructure` as a file states it
into a :class:`Crystal`, or raises :class:`BadStructure` with a reason that the
ingest writes to ``quarantine.csv``.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import spglib
from ase.data import atomic_masses, chemical_symbols, covalent_radii
from scipy.spatial import cKDTree

from .io import RawStructure

AMU_PER_A3_TO_G_PER_CM3 = 1.66053906660
spglib.error.OLD_ERROR_HANDLING = False  # spglib raises SpglibError instead of returning None


class BadStructure(ValueError):
    """A structure that cannot enter a landscape; the message is the reason."""


@dataclass
class Options:
    """Tolerances of the structure checks.

    symprec: spglib symmetry tolerance, Å.
    bond_tolerance: a bond is d < r_cov(i) + r_cov(j) + bond_tolerance, Å.
    overlap_fraction: atoms closer than this fraction of r_cov(i) + r_cov(j) overlap.
    hash_decimals: fractional coordinates are rounded to this many decimals in the hash.
    """

    symprec: float = 0.1
    bond_tolerance: float = 0.4
    overlap_fraction: float = 0.5
    hash_decimals: int = 2


@dataclass
class Crystal:
    """One validated crystal.

    positions: (n, 3) Å, Cartesian, every molecule made whole (atoms may lie
        outside the cell).
    mol_ids: (n,) int, molecule index of each atom, 0..n_molecules-1.
    canonical: (n,) int, for atoms of the symmetry-independent representative
        molecules, the atom's index in the landscape's reference molecule;
        -1 for every other atom (filled by :func:`assign_canonical_order`).
    representatives: molecule indices, one per symmetry-independent molecule.
    molecule_classes: for each independent molecule, the copies the canonical
        order is matched on: the first copy, and a copy related to it by an
        improper operation (inversion, mirror, glide) where the group has one.
    site_symmetries: point-group symbol of each independent molecule's site ('1': general).
    """

    id: str
    source: str
    cell: np.ndarray
    positions: np.ndarray
    numbers: np.ndarray
    mol_ids: np.ndarray
    representatives: list[int]
    molecule_classes: list[list[int]]
    site_symmetries: list[str]
    spacegroup_number: int
    spacegroup: str
    spacegroup_stated: str | None
    z: int
    zprime: float
    density: float
    formula: str
    molecule_key: str
    hash: str
    energy_raw: float | None = None
    energy: float | None = None
    properties: dict = field(default_factory=dict)
    canonical: np.ndarray | None = None

    @property
    def n_atoms(self) -> int:
        return len(self.numbers)

    @property
    def n_molecules(self) -> int:
        return int(self.mol_ids.max()) + 1


def formula_of(numbers: np.ndarray) -> str:
    """Hill formula (C, H first, then alphabetical) of a set of atoms."""
    counts = Counter(chemical_symbols[z] for z in numbers)
    order = [e for e in ("C", "H") if e in counts] if "C" in counts else []
    order += sorted(e for e in counts if e not in order)
    return "".join(f"{e}{counts[e] if counts[e] > 1 else ''}" for e in order)


def periodic_pairs(cell, positions, cutoff: float):
    """Every pair closer than ``cutoff`` Å under PBC, each direction once, images included.

    Returns i, j (m,) int, S (m, 3) int and d (m,) Å with
    d = |positions[j] + S @ cell - positions[i]|; a k-d tree over the periodic
    images that can reach the cell (from the reciprocal-vector norms), so any
    cell shape works.
    """
    cell = np.asarray(cell, float)
    frac = np.linalg.solve(cell.T, np.asarray(positions, float).T).T
    wrap = np.floor(frac).astype(np.int64)
    inside = (frac - wrap) @ cell
    reach = np.ceil(cutoff * np.linalg.norm(np.linalg.inv(cell), axis=0)).astype(int)
    shifts = np.stack(np.meshgrid(*[np.arange(-r, r + 1) for r in reach], indexing="ij"), -1).reshape(-1, 3)
    n = len(inside)
    images = (inside[None] + (shifts @ cell)[:, None]).reshape(-1, 3)
    pairs = cKDTree(inside).query_ball_tree(cKDTree(images), cutoff)
    i = np.repeat(np.arange(n), [len(p) for p in pairs])
    flat = np.fromiter((k for p in pairs for k in p), dtype=np.int64, count=len(i))
    j, S = flat % n, shifts[flat // n]
    S = S - wrap[j] + wrap[i]  # back to the frame of the given positions
    positions = np.asarray(positions, float)
    vec = positions[j] + S @ cell - positions[i]
    d = np.linalg.norm(vec, axis=1)
    keep = (i != j) | np.any(S != 0, axis=1)
    return i[keep], j[keep], S[keep], d[keep]


def _bonds(cell, positions, numbers, opts: Options):
    """Covalent contacts under PBC: i, j, integer image shift S, distance d."""
    radii = covalent_radii[numbers]
    cutoff = 2 * radii.max() + opts.bond_tolerance
    i, j, S, d = periodic_pairs(cell, positions, cutoff)
    rsum = radii[i] + radii[j]
    overlap = d < opts.overlap_fraction * rsum
    if overlap.any():
        k = int(np.argmax(overlap))
        raise BadStructure(
            f"overlapping atoms {chemical_symbols[numbers[i[k]]]}{i[k]} and "
            f"{chemical_symbols[numbers[j[k]]]}{j[k]} at {d[k]:.3f} Å "
            f"(< {opts.overlap_fraction} x covalent radii sum {rsum[k]:.2f} Å)"
        )
    bonded = d < rsum + opts.bond_tolerance
    return i[bonded], j[bonded], S[bonded]


def find_molecules(cell, positions, numbers, opts: Options | None = None):
    """Covalent molecules under PBC, each made whole.

    Returns (mol_ids (n,), unwrapped positions (n, 3) Å, bond list (m, 2)).
    Raises BadStructure for overlapping atoms or an infinite covalent network.
    """
    opts = opts or Options()
    cell = np.asarray(cell, float)
    i, j, S = _bonds(cell, positions, numbers, opts)
    n = len(numbers)
    order = np.argsort(i, kind="stable")
    i, j, S = i[order], j[order], S[order]
    start = np.searchsorted(i, np.arange(n + 1))
    mol_ids = np.full(n, -1, dtype=np.int64)
    image = np.zeros((n, 3), dtype=np.int64)
    n_mol = 0
    for seed in range(n):
        if mol_ids[seed] >= 0:
            continue
        mol_ids[seed] = n_mol
        stack = [seed]
        while stack:
            a = stack.pop()
            for k in range(start[a], start[a + 1]):
                b, shift = j[k], image[a] + S[k]
                if mol_ids[b] < 0:
                    mol_ids[b] = n_mol
                    image[b] = shift
                    stack.append(b)
                elif not np.array_equal(image[b], shift):
                    raise BadStructure(
                        f"atom {b} bonds to its own periodic image: an infinite covalent "
                        "network, not a molecular crystal (or bond tolerance too large)"
                    )
        n_mol += 1
    unwrapped = positions + image @ cell
    keep = i < j
    bonds = np.stack([i[keep], j[keep]], axis=1)
    return mol_ids, unwrapped, bonds


def molecule_graph(numbers: np.ndarray, bonds: np.ndarray, atoms: np.ndarray) -> nx.Graph:
    """The bond graph of one molecule, nodes labelled by element, indexed 0..len(atoms)-1."""
    local = {int(a): k for k, a in enumerate(atoms)}
    g = nx.Graph()
    for a, k in local.items():
        g.add_node(k, element=int(numbers[a]))
    for a, b in bonds:
        if a in local and b in local:
            g.add_edge(local[a], local[b])
    return g


def molecule_key(graph: nx.Graph) -> str:
    """Formula plus a Weisfeiler-Lehman hash of the bond graph."""
    numbers = np.array([graph.nodes[k]["element"] for k in graph.nodes])
    wl = nx.weisfeiler_lehman_graph_hash(graph, node_attr="element", iterations=4)
    return f"{formula_of(numbers)}:{wl[:12]}"


def _symmetry(cell, positions, numbers, opts: Options):
    frac = np.linalg.solve(np.asarray(cell).T, positions.T).T
    try:
        return spglib.get_symmetry_dataset((cell, frac % 1.0, numbers), symprec=opts.symprec)
    except spglib.SpglibError as exc:
        raise BadStructure(f"spglib found no symmetry at symprec {opts.symprec}: {exc}") from exc


def content_hash(cell, positions, numbers, symprec: float = 0.1, decimals: int = 2) -> str:
    """A name for the crystal, independent of file, atom order, origin and cell choice.

    Computed on spglib's standardized primitive cell (lattice parameters rounded
    to 0.01 Å and 0.1 degree), with the origin moved onto each atom of the
    rarest element in turn and the lexicographically smallest rounded, sorted
    coordinate table kept, so any origin shift gives the same hash.
    """
    frac = np.linalg.solve(np.asarray(cell).T, np.asarray(positions).T).T % 1.0
    try:
        lattice, sfrac, snum = spglib.standardize_cell((cell, frac, numbers), to_primitive=True, symprec=symprec)
    except spglib.SpglibError:
        lattice, sfrac, snum = np.asarray(cell), frac, np.asarray(numbers)
    a, b, c = np.linalg.norm(lattice, axis=1)
    ang = [
        np.degrees(np.arccos(np.dot(lattice[p], lattice[q]) / (np.linalg.norm(lattice[p]) * np.linalg.norm(lattice[q]))))
        for p, q in ((1, 2), (0, 2), (0, 1))
    ]
    params = np.round(np.r_[a, b, c], 2).tolist() + np.round(ang, 1).tolist()
    counts = Counter(snum.tolist())
    rare = min(counts, key=lambda z: (counts[z], z))
    grid = 10**decimals
    best = None
    for origin in sfrac[snum == rare]:
        coords = np.round((sfrac - origin) % 1.0 * grid).astype(np.int64) % grid
        table = np.column_stack([snum, coords])
        table = table[np.lexsort(table.T[::-1])]
        if best is None or table.tolist() < best.tolist():
            best = table
    text = repr((params, best.tolist()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _molecule_classes(mol_ids, equivalent_atoms) -> list[list[int]]:
    """Molecules grouped by symmetry equivalence (spglib's atom orbits), one list per independent molecule."""
    classes: dict[int, list[int]] = {}
    for m in range(int(mol_ids.max()) + 1):
        classes.setdefault(int(equivalent_atoms[mol_ids == m].min()), []).append(m)
    return sorted(classes.values())


def _handed_copies(cell, positions, mol_ids, members, rotations, translations, tol=0.05) -> list[int]:
    """The first molecule of a class and, if any, one related to it by an improper operation."""
    inv = np.linalg.inv(np.asarray(cell).T)
    centroids = {m: inv @ positions[mol_ids == m].mean(axis=0) for m in members}
    first = centroids[members[0]]
    for R, t in zip(rotations, translations):
        if np.linalg.det(R) > 0:
            continue
        image = R @ first + t
        for m in members[1:]:
            d = image - centroids[m]
            if np.all(np.abs(d - np.round(d)) < tol):
                return [members[0], m]
    return [members[0]]


def site_symmetry(cell, positions, atoms: np.ndarray, rotations, translations, tol: float = 0.05) -> str:
    """Point-group symbol of the operations mapping one molecule onto itself ('1' = general position).

    atoms: indices of the molecule's atoms in the whole (unwrapped) positions.
    """
    centroid = np.linalg.solve(np.asarray(cell).T, positions[atoms].mean(axis=0))
    stabiliser = []
    for R, t in zip(rotations, translations):
        shift = R @ centroid + t - centroid
        if np.all(np.abs(shift - np.round(shift)) < tol):
            stabiliser.append(R)
    return str(spglib.get_pointgroup(np.array(stabiliser, dtype=int))[0]).strip()


def analyse(raw: RawStructure, opts: Options | None = None) -> Crystal:
    """Validate one raw structure and derive molecules, symmetry, Z, Z', density, hash."""
    opts = opts or Options()
    cell = np.asarray(raw.cell, float)
    numbers = np.asarray(raw.numbers, int)
    if len(numbers) == 0:
        raise BadStructure("no atoms")
    volume = abs(np.linalg.det(cell))
    if not np.isfinite(volume) or volume < 1.0:
        raise BadStructure(f"degenerate cell (volume {volume:.3g} Å^3)")
    if not np.all(np.isfinite(raw.positions)):
        raise BadStructure("non-finite atomic coordinates")
    mol_ids, unwrapped, bonds = find_molecules(cell, np.asarray(raw.positions, float), numbers, opts)
    data = _symmetry(cell, unwrapped, numbers, opts)
    classes = [_handed_copies(cell, unwrapped, mol_ids, members, data.rotations, data.translations)
               for members in _molecule_classes(mol_ids, np.asarray(data.equivalent_atoms))]
    reps = [members[0] for members in classes]
    sites = [site_symmetry(cell, unwrapped, np.flatnonzero(mol_ids == m), data.rotations, data.translations)
             for m in reps]
    n_mol = int(mol_ids.max()) + 1
    n_ops = len(data.rotations)
    n_std = len(data.std_types)
    graph = molecule_graph(numbers, bonds, np.flatnonzero(mol_ids == reps[0]))
    keys = {molecule_key(molecule_graph(numbers, bonds, np.flatnonzero(mol_ids == m))) for m in reps}
    if len(keys) > 1:
        raise BadStructure(f"more than one kind of molecule in the cell: {sorted(keys)}")
    return Crystal(
        id=raw.id,
        source=raw.source,
        cell=cell,
        positions=unwrapped,
        numbers=numbers,
        mol_ids=mol_ids,
        representatives=reps,
        molecule_classes=classes,
        site_symmetries=sites,
        spacegroup_number=int(data.number),
        spacegroup=str(data.international),
        spacegroup_stated=raw.spacegroup,
        z=int(round(n_mol * n_std / len(numbers))),
        zprime=round(n_mol / n_ops, 3),
        density=float(atomic_masses[numbers].sum() / volume * AMU_PER_A3_TO_G_PER_CM3),
        formula=formula_of(numbers[mol_ids == reps[0]]),
        molecule_key=molecule_key(graph),
        hash=content_hash(cell, unwrapped, numbers, opts.symprec, opts.hash_decimals),
        energy_raw=raw.energy,
        properties=dict(raw.properties),
    )


class Reference:
    """The landscape's molecule: bond graph (nodes carry 'element' and 'pos', Å) and its automorphisms."""

    def __init__(self, graph: nx.Graph):
        self.graph = graph
        self.positions = np.array([graph.nodes[k]["pos"] for k in range(len(graph))])
        match = nx.algorithms.isomorphism.categorical_node_match("element", -1)
        matcher = nx.algorithms.isomorphism.GraphMatcher(graph, graph, node_match=match)
        autos = []
        for mapping in matcher.isomorphisms_iter():
            autos.append(np.array([mapping[k] for k in range(len(graph))]))
            if len(autos) >= MAX_ISOMORPHISMS:
                break
        self.automorphisms = np.array(autos)

    def __len__(self) -> int:
        return len(self.graph)


def reference_graph(crystal: Crystal, opts: Options | None = None) -> Reference:
    """The landscape's reference molecule: the crystal's first representative."""
    opts = opts or Options()
    atoms = np.flatnonzero(crystal.mol_ids == crystal.representatives[0])
    return Reference(_graph_of(crystal, atoms, opts))


def _graph_of(crystal: Crystal, atoms: np.ndarray, opts: Options) -> nx.Graph:
    pos, num = crystal.positions[atoms], crystal.numbers[atoms]
    d = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
    r = covalent_radii[num]
    close = np.argwhere(np.triu(d < r[:, None] + r[None] + opts.bond_tolerance, 1))
    g = nx.Graph()
    for k, z in enumerate(num):
        g.add_node(k, element=int(z), pos=pos[k])
    g.add_edges_from(map(tuple, close))
    return g


MAX_ISOMORPHISMS = 5000


def kabsch_rmsd(a: np.ndarray, b: np.ndarray) -> float:
    """RMSD (Å) of two (n, 3) point sets after the best proper rotation and translation."""
    a, b = a - a.mean(0), b - b.mean(0)
    u, s, vt = np.linalg.svd(a.T @ b)
    s[-1] *= np.sign(np.linalg.det(u @ vt))
    return float(np.sqrt(max((a * a).sum() + (b * b).sum() - 2 * s.sum(), 0.0) / len(a)))


def _labellings(reference: Reference, crystal: Crystal, atoms: np.ndarray, opts: Options):
    """[(rmsd, order)]: every reference -> molecule isomorphism, as crystal atom indices in reference order.

    One isomorphism is found with VF2 and composed with the reference's
    automorphisms; the rigid geometry (Kabsch RMSD, proper rotations) tells
    the automorphic labellings apart.
    """
    match = nx.algorithms.isomorphism.categorical_node_match("element", -1)
    graph = _graph_of(crystal, atoms, opts)
    first = next(nx.algorithms.isomorphism.GraphMatcher(reference.graph, graph, node_match=match)
                 .isomorphisms_iter(), None)
    if first is None:
        return []
    base = atoms[[first[k] for k in range(len(reference))]]
    return [(kabsch_rmsd(reference.positions, crystal.positions[base[a]]), base[a]) for a in reference.automorphisms]


def contact_fingerprint(crystal: Crystal, atoms: np.ndarray, cutoff: float = 5.0) -> np.ndarray:
    """Per-atom sum of exp(-(d - 3 Å)) over atoms of other molecules within ``cutoff`` Å; shape (len(atoms),)."""
    cell = crystal.cell
    reach = np.ceil(cutoff * np.linalg.norm(np.linalg.inv(cell), axis=0)).astype(int)
    shifts = np.array(np.meshgrid(*[np.arange(-r, r + 1) for r in reach], indexing="ij")).reshape(3, -1).T
    images = (crystal.positions[None] + (shifts @ cell)[:, None]).reshape(-1, 3)
    mol = np.tile(crystal.mol_ids, len(shifts))
    own = np.tile(np.arange(crystal.n_atoms), len(shifts)) * 0 + np.repeat(np.all(shifts == 0, axis=1), crystal.n_atoms)
    out = np.zeros(len(atoms))
    for n, a in enumerate(atoms):
        d = np.linalg.norm(images - crystal.positions[a], axis=1)
        other = (d < cutoff) & ~((mol == crystal.mol_ids[a]) & own.astype(bool))
        out[n] = np.exp(-(d[other] - 3.0)).sum()
    return out


def assign_canonical_order(crystal: Crystal, reference: Reference, opts: Options | None = None,
                           tol: float = 0.05) -> None:
    """Fill ``crystal.canonical`` (and choose ``representatives``) by matching to ``reference``.

    A rigid molecule's own symmetry (a mirror plane, a two-fold axis) leaves
    several labellings that fit the reference equally well (within ``tol`` Å
    RMSD), and a mirror-image copy in the cell offers its own.  The labelling
    kept is the one whose per-atom intermolecular contact fingerprint, read in
    reference order, is smallest: labellings of crystallographically
    equivalent atoms tie, so every copy and every file order of the same
    crystal gives the same labels.  Raises BadStructure when a molecule is not
    isomorphic to the reference.
    """
    opts = opts or Options()
    canonical = np.full(crystal.n_atoms, -1, dtype=np.int64)
    reps = []
    for copies in crystal.molecule_classes:
        found = []
        for m in copies:
            atoms = np.flatnonzero(crystal.mol_ids == m)
            labellings = _labellings(reference, crystal, atoms, opts)
            if not labellings:
                raise BadStructure(f"molecule {formula_of(crystal.numbers[atoms])} differs from the landscape's molecule")
            found += [(rmsd, order, m) for rmsd, order in labellings]
        best = min(r for r, _, _ in found)
        close = [(order, m) for r, order, m in found if r <= best + tol]
        if len(close) > 1:
            every = np.unique(np.concatenate([o for o, _ in close]))
            fp = dict(zip(every.tolist(), np.round(contact_fingerprint(crystal, every), 3)))
            close.sort(key=lambda om: tuple(fp[a] for a in om[0]))
        order, m = close[0]
        reps.append(int(m))
        canonical[order] = np.arange(len(order))
    crystal.representatives = sorted(reps)
    crystal.canonical = canonical
