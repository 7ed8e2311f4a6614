"""The crystal record: molecules under PBC, symmetry and sites, Z, Z', density, hash.

:func:`analyse` turns a :class:`~latentcsp.structure.raw.RawStructure` as a file states it
into a :class:`Crystal`, or raises :class:`BadStructure` with a reason that the
ingest writes to ``quarantine.csv``.  The content hash is
:mod:`latentcsp.structure.hashing`'s, the canonical atom order :mod:`latentcsp.structure.canonical`'s.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache

import networkx as nx
import numpy as np
import spglib
from ase.data import atomic_masses, chemical_symbols, covalent_radii

from .raw import RawStructure
from .pbc import cell_and_inverse, check_geometry, close_pairs
from .hashing import content_hash
from .kernels import adjacency, covalent_bonds, molecule_tree, wl_colours

AMU_PER_A3_TO_G_PER_CM3 = 1.66053906660
#: Densities below this (g/cm^3) are no crystal's (solid hydrogen has 0.086): cell lengths in the wrong unit.
MIN_DENSITY = 0.01


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
        -1 for every other atom (filled by :func:`latentcsp.structure.canonical.assign_canonical_order`).
    orbit: (n,) int, where canonical is set, the orbit of that reference atom under
        the reference molecule's graph automorphisms (:attr:`latentcsp.structure.canonical.Reference.orbits`); -1
        elsewhere (filled by :func:`latentcsp.structure.canonical.assign_canonical_order`).
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
    over the periodic images (:func:`latentcsp.structure.pbc.close_pairs`),
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
    (:func:`latentcsp.structure.pbc.check_geometry`), overlapping atoms or an infinite
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


def bond_array(bonds, n: int) -> np.ndarray:
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
    bonds = np.sort(bond_array(bonds, len(numbers)), axis=1)
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
    geometry outside the kernels' limits (:func:`latentcsp.structure.pbc.check_geometry`:
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
    g.add_edges_from(map(tuple, bond_array(bonds, len(numbers))))
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
