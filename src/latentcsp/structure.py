"""The canonical crystal record: molecules under PBC, symmetry, Z, Z', density, hash.

:func:`analyse` turns a :class:`~latentcsp.io.RawStructure` as a file states it
into a :class:`Crystal`, or raises :class:`BadStructure` with a reason that the
ingest writes to ``quarantine.csv``.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from itertools import islice

import networkx as nx
import numpy as np
import spglib
from ase.data import atomic_masses, chemical_symbols, covalent_radii

from .io import RawStructure
from .pbc import cell_and_inverse, check_geometry, close_pairs
from .structure_kernels import (
    adjacency, contact_sums, covalent_bonds, find_isomorphisms, kabsch_rmsd_permuted, match_molecule,
    molecule_bonds, molecule_tree, smallest_table, wl_colours,
)

AMU_PER_A3_TO_G_PER_CM3 = 1.66053906660
#: Densities below this (g/cm^3) are no crystal's (solid hydrogen has 0.086): cell lengths in the wrong unit.
MIN_DENSITY = 0.01
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
    orbit: (n,) int, where canonical is set, the orbit of that reference atom under
        the reference molecule's graph automorphisms (:attr:`Reference.orbits`); -1
        elsewhere (filled by :func:`assign_canonical_order`).
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
    orbit: np.ndarray | None = None

    @property
    def n_atoms(self) -> int:
        return len(self.numbers)

    @property
    def n_molecules(self) -> int:
        return int(self.mol_ids.max()) + 1


def formula_of(numbers: np.ndarray) -> str:
    """Hill formula (C, H first, then alphabetical) of a set of atoms."""
    return _formula(np.bincount(np.asarray(numbers, np.int64)).tobytes())


@lru_cache(maxsize=1024)
def _formula(per_z: bytes) -> str:
    """Hill formula of int64 atom counts indexed by atomic number, as bytes."""
    per_z = np.frombuffer(per_z, np.int64)
    counts = {chemical_symbols[z]: int(per_z[z]) for z in np.flatnonzero(per_z)}
    order = [e for e in ("C", "H") if e in counts] if "C" in counts else []
    order += sorted(e for e in counts if e not in order)
    return "".join(f"{e}{counts[e] if counts[e] > 1 else ''}" for e in order)


def _inverse(cell) -> np.ndarray:
    """Inverse (3, 3) of a cell with lattice vectors as rows; ValueError if singular."""
    return cell_and_inverse(cell)[1]


def periodic_pairs(cell, positions, cutoff: float):
    """Every pair closer than ``cutoff`` Å under PBC, each direction once, images included.

    Returns i, j (m,) int, S (m, 3) int and d (m,) Å with
    d = |positions[j] + S @ cell - positions[i]|, grouped by i; a cell list
    over the periodic images (:func:`latentcsp.pbc.close_pairs`),
    so any cell shape works and positions need not lie in the cell.
    """
    cell, inv, positions = check_geometry(cell, positions, cutoff)
    return close_pairs(cell, inv, positions, float(cutoff), np.arange(len(positions)))


def atom_names(numbers, labels=None) -> list[str]:
    """The file's own name of each atom: its site label, else element and 1-based number in file order ('C12')."""
    if labels is not None and len(labels) == len(numbers):
        return [str(x) for x in labels]
    return [f"{chemical_symbols[z]}{k + 1}" for k, z in enumerate(np.asarray(numbers).tolist())]


def _bonds(cell, positions, numbers, opts: Options, names: list[str]):
    """Covalent contacts under PBC: i, j, integer image shift S (see covalent_bonds)."""
    radii = covalent_radii[numbers]
    i, j, S, clash, a, b, d = covalent_bonds(cell, _inverse(cell), positions, radii, float(opts.bond_tolerance),
                                             float(opts.overlap_fraction))
    if clash >= 0:
        limit = f"(< {opts.overlap_fraction} x covalent radii sum {radii[a] + radii[b]:.2f} Å)"
        if names[a] == names[b]:
            raise BadStructure(f"atom {names[a]} overlaps a copy of itself (by symmetry or lattice translation) "
                               f"at {d:.3f} Å {limit}: a wrong symmetry operator, cell or special position?")
        raise BadStructure(f"overlapping atoms {names[a]} and {names[b]} at {d:.3f} Å {limit}")
    return i, j, S


def find_molecules(cell, positions, numbers, opts: Options | None = None, labels=None):
    """Covalent molecules under PBC, each made whole.

    Returns (mol_ids (n,), unwrapped positions (n, 3) Å, bond list (m, 2)).
    Molecules are numbered by their lowest atom index, which keeps its
    position.  Raises BadStructure for a geometry outside the kernels' limits
    (:func:`latentcsp.pbc.check_geometry`), overlapping atoms or an infinite
    covalent network (a bond whose image shift disagrees with the search
    tree's); ``labels`` (n,) names the atoms in those messages (see :func:`atom_names`).
    """
    opts = opts or Options()
    numbers = np.asarray(numbers)
    names = atom_names(numbers, labels)
    try:
        cell, _, positions = check_geometry(cell, positions, labels=names)
    except ValueError as exc:
        raise BadStructure(str(exc)) from None
    i, j, S = _bonds(cell, positions, numbers, opts, names)
    n = len(numbers)
    mol_ids, image, bad = molecule_tree(n, i, j, S)
    if bad >= 0:
        raise BadStructure(
            f"atom {names[j[bad]]} bonds to its own periodic image: an infinite covalent "
            "network, not a molecular crystal (or bond tolerance too large)"
        )
    unwrapped = positions + image @ cell
    keep = i < j
    bonds = np.empty((int(keep.sum()), 2), np.int64)
    bonds[:, 0], bonds[:, 1] = i[keep], j[keep]
    return mol_ids, unwrapped, bonds


def _as_bonds(bonds, n: int) -> np.ndarray:
    """(m, 2) int64 bond list of a graph of ``n`` atoms; ValueError for an index outside 0..n-1."""
    bonds = np.ascontiguousarray(np.asarray(bonds, np.int64).reshape(-1, 2))
    if len(bonds) and (bonds.min() < 0 or bonds.max() >= n):
        raise ValueError(f"bond atom index outside 0..{n - 1}")
    return bonds


def molecule_key(numbers: np.ndarray, bonds: np.ndarray) -> str:
    """Formula plus a hash of the bond graph (4 Weisfeiler-Lehman iterations over elements).

    numbers: (n,) atomic numbers of one molecule; bonds: (m, 2) local atom
    indices 0..n-1, each bond once.  The same for any atom order, process and
    platform (splitmix64 colours in wrapping uint64, sha256 of their sorted
    histograms).
    """
    numbers = np.asarray(numbers, np.int64)
    bonds = np.sort(_as_bonds(bonds, len(numbers)), axis=1)
    codes = np.sort(bonds[:, 0] * len(numbers) + bonds[:, 1])
    return _molecule_key(numbers.tobytes(), codes.tobytes())


@lru_cache(maxsize=1024)
def _molecule_key(numbers: bytes, codes: bytes) -> str:
    """:func:`molecule_key` of int64 atomic numbers and sorted bond codes a * n + b (a < b), as bytes."""
    numbers = np.frombuffer(numbers, np.int64)
    codes = np.frombuffer(codes, np.int64)
    bonds = np.stack([codes // len(numbers), codes % len(numbers)], axis=1)
    colours = np.sort(wl_colours(numbers, *adjacency(len(numbers), bonds), 4), axis=1)
    digest = hashlib.sha256(colours.astype("<u8").tobytes()).hexdigest()
    return f"{formula_of(numbers)}:{digest[:12]}"


def _local_bonds(mol_ids: np.ndarray, bonds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each atom's index within its molecule (n,), and the molecule of each bond (m,)."""
    order = np.argsort(mol_ids, kind="stable")
    start = np.searchsorted(mol_ids[order], mol_ids[order])
    local = np.empty(len(mol_ids), np.int64)
    local[order] = np.arange(len(mol_ids)) - start
    return local, mol_ids[bonds[:, 0]] if len(bonds) else np.zeros(0, np.int64)


def _symmetry(cell, positions, numbers, opts: Options):
    frac = positions @ _inverse(cell)
    try:
        return spglib.get_symmetry_dataset((cell, frac % 1.0, numbers), symprec=opts.symprec)
    except spglib.SpglibError as exc:
        raise BadStructure(f"spglib found no symmetry at symprec {opts.symprec}: {exc}") from exc


def _lattice_parameters(lattice: np.ndarray) -> list[float]:
    """a, b, c (Å, 2 decimals) and alpha, beta, gamma (degrees, 1 decimal)."""
    a, b, c = np.asarray(lattice, float).tolist()
    dot = lambda u, v: u[0] * v[0] + u[1] * v[1] + u[2] * v[2]  # noqa: E731
    la, lb, lc = math.sqrt(dot(a, a)), math.sqrt(dot(b, b)), math.sqrt(dot(c, c))
    cos = (dot(b, c) / (lb * lc), dot(a, c) / (la * lc), dot(a, b) / (la * lb))
    return [round(la, 2), round(lb, 2), round(lc, 2)] + [round(math.degrees(math.acos(min(1.0, max(-1.0, x)))), 1)
                                                         for x in cos]


def content_hash(cell, positions, numbers, symprec: float = 0.1, decimals: int = 2, dataset=None) -> str:
    """A name for the crystal, independent of file, atom order, origin and cell choice.

    Computed on spglib's standardized conventional cell (lattice parameters
    rounded to 0.01 Å and 0.1 degree), with the origin moved onto each atom
    of the rarest element in turn (coordinates on a grid of 10^-decimals)
    and the lexicographically smallest sorted (element, x, y, z) table kept,
    so any origin shift gives the same hash.  ``dataset``: spglib's symmetry
    dataset of this cell at ``symprec`` if already known (as in
    :func:`analyse`); where spglib fails, the given cell is used.
    """
    if dataset is None:
        frac = np.linalg.solve(np.asarray(cell).T, np.asarray(positions).T).T % 1.0
        try:
            dataset = spglib.get_symmetry_dataset((cell, frac, numbers), symprec=symprec)
        except spglib.SpglibError:
            lattice, sfrac, snum = np.asarray(cell, float), frac, np.asarray(numbers)
    if dataset is not None:
        lattice, sfrac, snum = dataset.std_lattice, dataset.std_positions, np.asarray(dataset.std_types)
    grid = 10**decimals
    snum = np.asarray(snum, np.int64)
    if (int(snum.max()) + 1) * grid**3 >= 2**63:
        raise ValueError(f"hash_decimals {decimals} too fine for the 64-bit coordinate codes")
    counts = np.bincount(snum)
    rare = int(np.argmin(np.where(counts > 0, counts, len(snum) + 1)))  # fewest atoms, then lowest Z
    q = np.rint(np.asarray(sfrac) * grid).astype(np.int64) % grid  # (n, 3) grid coordinates
    table = smallest_table(q, snum, np.flatnonzero(snum == rare), grid)  # origin on each rarest atom in turn
    return hashlib.sha256(repr((_lattice_parameters(lattice), decimals)).encode() + table.astype("<i8").tobytes()
                          ).hexdigest()[:16]


def _molecule_classes(mol_ids, equivalent_atoms) -> list[list[int]]:
    """Molecules grouped by symmetry equivalence (spglib's atom orbits), one list per independent molecule."""
    orbit = np.full(int(mol_ids.max()) + 1, len(mol_ids))
    np.minimum.at(orbit, mol_ids, np.asarray(equivalent_atoms))
    classes: dict[int, list[int]] = {}
    for m, key in enumerate(orbit.tolist()):
        classes.setdefault(key, []).append(m)
    return sorted(classes.values())


def _centroids(cell, positions, mol_ids) -> np.ndarray:
    """(n_molecules, 3) fractional centroid of each molecule."""
    sums = np.zeros((int(mol_ids.max()) + 1, 3))
    np.add.at(sums, mol_ids, positions)
    return sums / np.bincount(mol_ids)[:, None] @ _inverse(cell)


def _handed_copies(centroids, members, rotations, translations, improper, tol=0.05) -> list[int]:
    """The first molecule of a class and, if any, one related to it by an improper operation.

    centroids: (n_molecules, 3) fractional; improper: (k,) bool, which
    operations have det -1; the first improper operation (in spglib's order)
    that maps the first molecule onto another decides.
    """
    if len(members) < 2 or not improper.any():
        return [members[0]]
    images = rotations[improper] @ centroids[members[0]] + translations[improper]  # (k, 3)
    d = images[:, None] - centroids[members[1:]][None]
    hit = np.all(np.abs(d - np.round(d)) < tol, axis=2)  # (k, members - 1)
    if not hit.any():
        return [members[0]]
    row = hit[np.argmax(hit.any(axis=1))]
    return [members[0], members[1 + int(np.argmax(row))]]


@lru_cache(maxsize=4096)
def _improper(rotations: bytes) -> np.ndarray:
    """(k,) bool: which of spglib's int32 rotations (as bytes) have det -1."""
    return np.linalg.det(np.frombuffer(rotations, np.int32).reshape(-1, 3, 3)) < 0


@lru_cache(maxsize=4096)
def _pointgroup(rotations: bytes) -> str:
    ops = np.frombuffer(rotations, dtype=np.int32).reshape(-1, 3, 3)
    return str(spglib.get_pointgroup(np.array(ops, dtype=int))[0]).strip()


def site_symmetry(cell, positions, atoms: np.ndarray, rotations, translations, tol: float = 0.05,
                  centroid: np.ndarray | None = None) -> str:
    """Point-group symbol of the operations mapping one molecule onto itself ('1' = general position).

    atoms: indices of the molecule's atoms in the whole (unwrapped) positions;
    centroid: its fractional centroid, if already known.
    """
    if centroid is None:
        centroid = np.linalg.solve(np.asarray(cell).T, positions[atoms].mean(axis=0))
    shift = rotations @ centroid + translations - centroid
    keep = np.all(np.abs(shift - np.round(shift)) < tol, axis=1)
    return _pointgroup(np.ascontiguousarray(rotations[keep], dtype=np.int32).tobytes())


def checked_arrays(raw: RawStructure) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """cell (3, 3), positions (n, 3), numbers (n,) and volume (Å^3) of a raw structure, once they make sense.

    Raises BadStructure, naming the atom where one is at fault, for: no
    atoms, arrays of the wrong shape, atomic numbers outside 1-118, a
    geometry outside the kernels' limits (:func:`latentcsp.pbc.check_geometry`:
    non-finite or absurd coordinates or cell, a flat cell) and a density
    below :data:`MIN_DENSITY`.  Nothing reaches compiled code before this.
    """
    try:
        numbers = np.asarray(raw.numbers, dtype=float)
        positions = np.asarray(raw.positions, dtype=float)
        cell = np.asarray(raw.cell, dtype=float)
    except (TypeError, ValueError) as exc:
        raise BadStructure(f"unreadable arrays: {exc}") from None
    if numbers.ndim != 1 or len(numbers) == 0:
        raise BadStructure("no atoms")
    if positions.shape != (len(numbers), 3):
        raise BadStructure(f"{len(numbers)} atoms but positions of shape {positions.shape}")
    bad = np.flatnonzero((numbers != np.round(numbers)) | (numbers < 1) | (numbers >= len(chemical_symbols)))
    if len(bad):
        raise BadStructure(f"atom {int(bad[0]) + 1} has no element (atomic number {numbers[bad[0]]:g})")
    numbers = numbers.astype(int)
    try:
        cell, inv, positions = check_geometry(cell, positions, labels=atom_names(numbers, raw.labels))
    except ValueError as exc:
        raise BadStructure(str(exc)) from None
    volume = float(abs(np.linalg.det(cell)))
    density = atomic_masses[numbers].sum() / volume * AMU_PER_A3_TO_G_PER_CM3
    if density < MIN_DENSITY:
        raise BadStructure(f"density {density:.3g} g/cm^3 (cell volume {volume:.4g} Å^3 for {len(numbers)} atoms) "
                           f"is below any crystal's ({MIN_DENSITY} g/cm^3): cell lengths in the wrong unit?")
    return cell, positions, numbers, volume


def analyse(raw: RawStructure, opts: Options | None = None) -> Crystal:
    """Validate one raw structure and derive molecules, symmetry, Z, Z', density, hash."""
    opts = opts or Options()
    cell, positions, numbers, volume = checked_arrays(raw)
    mol_ids, unwrapped, bonds = find_molecules(cell, positions, numbers, opts, raw.labels)
    data = _symmetry(cell, unwrapped, numbers, opts)
    rotations, translations = np.asarray(data.rotations), np.asarray(data.translations)
    centroids = _centroids(cell, unwrapped, mol_ids)
    improper = _improper(np.ascontiguousarray(rotations, np.int32).tobytes())
    classes = [_handed_copies(centroids, members, rotations, translations, improper)
               for members in _molecule_classes(mol_ids, data.equivalent_atoms)]
    reps = [members[0] for members in classes]
    sites = [site_symmetry(cell, unwrapped, None, rotations, translations, centroid=centroids[m]) for m in reps]
    n_mol = len(centroids)
    local, bond_mol = _local_bonds(mol_ids, bonds)
    keys = [molecule_key(numbers[mol_ids == m], local[bonds[bond_mol == m]]) for m in reps]
    if len(set(keys)) > 1:
        raise BadStructure(f"more than one kind of molecule in the cell: {sorted(set(keys))}")
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
        z=int(round(n_mol * len(data.std_types) / len(numbers))),
        zprime=round(n_mol / len(rotations), 3),
        density=float(atomic_masses[numbers].sum() / volume * AMU_PER_A3_TO_G_PER_CM3),
        formula=keys[0].split(":")[0],
        molecule_key=keys[0],
        hash=content_hash(cell, unwrapped, numbers, opts.symprec, opts.hash_decimals, dataset=data),
        energy_raw=raw.energy,
        properties=dict(raw.properties),
    )


MAX_ISOMORPHISMS = 5000


class Matcher:
    """Isomorphism search from one molecular graph (the pattern) onto others.

    Colours are Weisfeiler-Lehman refinements of the elements, run until the
    pattern's partition is stable; the pattern's atoms are visited in
    breadth-first order from an atom of its rarest colour, and each is
    matched to an unused atom of the same colour bonded to the image of its
    tree parent, with the same bonds back to every atom matched so far
    (:func:`~latentcsp.structure_kernels.find_isomorphisms`).  numbers: (n,)
    atomic numbers; bonds: (m, 2) atom indices, each bond once.
    """

    def __init__(self, numbers: np.ndarray, bonds: np.ndarray):
        self.numbers = np.asarray(numbers, np.int64)
        self.bonds = _as_bonds(bonds, len(self.numbers))
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
        bonds = _as_bonds(bonds, len(numbers))
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
    inv = _inverse(crystal.cell)
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


def rotatable_bonds(numbers: np.ndarray, positions: np.ndarray, bonds: np.ndarray) -> np.ndarray:
    """Bonds (m, 2) of one molecule about which a part of it can twist: acyclic bonds
    whose two atoms each have another neighbour that is not hydrogen and are not linear
    (two neighbours at more than 170 degrees, as the carbon of a nitrile). Methyl, hydroxyl
    and nitrile ends do not count, and neither do ring bonds. ``positions`` (n, 3) Å of
    the whole molecule.

    Bond orders are not known here, so acyclic double bonds and amide C-N bonds count
    too: the result is an upper bound on the torsional degrees of freedom.
    """
    g = nx.Graph()
    g.add_nodes_from(range(len(numbers)))
    g.add_edges_from(map(tuple, _as_bonds(bonds, len(numbers))))
    heavy = np.asarray(numbers) > 1
    positions = np.asarray(positions, dtype=float)

    def linear(a: int) -> bool:
        if g.degree[a] != 2:
            return False
        u, v = (positions[k] - positions[a] for k in g[a])
        return float(u @ v) / (np.linalg.norm(u) * np.linalg.norm(v)) < np.cos(np.radians(170.0))

    def twists(a: int, b: int) -> bool:
        return any(heavy[k] for k in g[a] if k != b) and not linear(a)

    out = [sorted(e) for e in nx.bridges(g) if twists(*e) and twists(e[1], e[0])]
    return np.array(sorted(out), dtype=np.int64).reshape(-1, 2)
