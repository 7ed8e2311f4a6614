"""Crystal -> DoF vector: the :class:`~latentcsp.synth.model.CrystalModel` coordinates of an
ingested crystal of a rigid molecule (Z' = 1, general position), in one canonical form.

Recovery (:func:`recover`), for one crystal and a rigid reference :class:`Molecule` whose
atoms are in the landscape's canonical order (:func:`reference_molecule`):

1. spglib's symmetry dataset gives the space group and the map to its standard setting,
   ``x_s = P x + p`` (fractional columns); the group must be the generator's setting
   (spglib's first Hall number, as :func:`~latentcsp.synth.spacegroup.get_spacegroup`).
   The group is the one found at the ingest's tolerance; the map comes from the tightest
   tolerance that finds the same group, as spglib's origin is only as exact as its tolerance.
   spglib's standard cell is also its reduced one (Niggli for triclinic, a reduced
   a, c for monoclinic, axes sorted where the symbol allows it), so every cell choice of
   one crystal gives the same lattice parameters.
2. The free lattice parameters of the crystal system are read off spglib's idealised
   standard lattice; the builder's cell (``a`` along x, ``b`` in the xy plane) has them.
3. The symmetry-independent molecule (atoms with ``canonical >= 0``) is mapped to the
   standard setting; its Z images under the group, and their images under every proper
   element of the group's Euclidean normaliser (:func:`proper_normaliser`), are the
   equivalent asymmetric units. Each is fitted to the reference (Kabsch, proper rotations
   only) under every relabelling of the molecule's rigid point symmetry
   (:func:`rigid_symmetries`). Fits within ``tie`` (:data:`TIE_RMSD`) of the best are equivalent.

Canonical form (the rule; the same crystal in any cell, origin, choice of the asymmetric
unit and atom labelling gives one vector): among the equivalent fits, the centroid's
fractional coordinates along the non-polar axes, each wrapped into [0, 1), smallest
lexicographically (x, then y, then z; values within 1e-6 tie); then the smallest rotation
angle ``|w|``; then the smallest rotation vector lexicographically. Along polar axes the
centroid sits at 0 (the builder's convention). ``w`` has ``|w| <= pi``; at ``|w| = pi``
its first non-zero component is positive. Mirror images are not identified: a crystal and
its enantiomorph (a different structure when the group has no improper operation) get
different vectors, as they are told apart by the builder; a crystal of the reference's
mirror image (a chiral conformer) is not recoverable with that reference. The normaliser is
that of a lattice with no more symmetry than its crystal system: a cell with accidental extra
symmetry (a = b in an orthorhombic cell) is canonical only up to it. Near ties of the rule
(measure zero) follow the floating-point noise, and a crystal that is symmetric only within
spglib's tolerance has its vector fixed only to within that tolerance.

:func:`recover_landscape` applies this to a whole :class:`~latentcsp.store.StructureSet`
and lists, with the reason, the structures where it does not apply (Z' != 1, special
positions, a molecule that is not the rigid reference).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import spglib
from ase.data import chemical_symbols, covalent_radii
from scipy.spatial.transform import Rotation

from latentcsp.structure.canonical import MAX_ISOMORPHISMS, Matcher
from latentcsp.structure.crystal import Options
from latentcsp.structure.kernels import molecule_bonds

from .generate import DOF_COLUMNS, dof_row
from .lattice import cells, lattice_parameters, params_from_cell
from .model import CrystalModel
from .molecule import Molecule, principal_frame
from .spacegroup import LATTICE_FREE, PARAMS6, SpaceGroup, get_spacegroup

#: Fit RMSD (Å) above which a molecule is not the rigid reference (flexible, or another
#: conformer). The relaxed Genarris structures of the rigid Target I (C6H6O) fit their
#: landscape's lowest-energy molecule within 0.075 Å.
MAX_FIT_RMSD = 0.1
#: Fits within this RMSD (Å) of the best one are equivalent descriptions (the molecule's own
#: symmetry; exact in generated crystals, approximate in relaxed ones, where a looser
#: tolerance would trade round-trip accuracy for a choice by the canonical rule alone).
TIE_RMSD = 1e-3
#: Fractional-coordinate tolerance of the canonical choice's comparisons.
TIE = 1e-6
#: The group of highest symmetry of each crystal system (its point group is the holohedry).
_HOLOHEDRY = {"triclinic": 2, "monoclinic": 10, "orthorhombic": 47, "tetragonal": 123, "trigonal": 191,
              "hexagonal": 191, "cubic": 221}
#: Grid of the normaliser translations searched (covers 1/2, 1/3, 1/4, 1/6, 1/8, 1/12).
_GRID = 24


class NotRecoverable(ValueError):
    """A crystal whose DoF vector cannot be recovered; the message is the reason."""


@dataclass
class Recovered:
    """One crystal's DoF vector.

    theta: canonical DoF vector of ``CrystalModel(reference, spacegroup)`` (Å, radians, fractions).
    spacegroup: the group (standard setting) the vector belongs to.
    rmsd: fit RMSD of the molecule to the rigid reference, Å.
    to_canonical: (M (3, 3), m (3,)): the input cell's fractional coordinates f (row
        vectors) in the canonical description are ``f @ M.T + m`` (modulo lattice vectors).
    """

    theta: np.ndarray
    spacegroup: SpaceGroup
    rmsd: float
    to_canonical: tuple[np.ndarray, np.ndarray]


def reference_molecule(positions, numbers, mol_id, canonical, name: str = "reference") -> Molecule:
    """The rigid reference: the first symmetry-independent molecule of one crystal (arrays as in
    :func:`recover`), atoms in canonical order, in its principal-axes frame
    (:func:`~latentcsp.synth.molecule.principal_frame`)."""
    atoms = _representative(np.asarray(mol_id), np.asarray(canonical))
    symbols = [chemical_symbols[int(z)] for z in np.asarray(numbers)[atoms]]
    return Molecule(name, symbols, principal_frame(np.asarray(positions)[atoms]))


def relabelled(molecule: Molecule, reference: Molecule, max_rmsd: float = MAX_FIT_RMSD) -> Molecule:
    """``molecule`` with its atoms in ``reference``'s order, in its own frame: the bond-graph
    isomorphism onto the reference whose Kabsch fit (proper rotations) is closest. A crystal
    built with it is the crystal built with ``molecule`` (same frame), and its atoms line up
    with a landscape whose canonical order the reference has. ValueError when the two are
    not the same rigid molecule within ``max_rmsd`` Å."""
    def graph(m: Molecule):
        numbers = m.numbers
        ref = np.ascontiguousarray(m.ref, dtype=float)
        return numbers, molecule_bonds(ref, covalent_radii[numbers], Options().bond_tolerance)

    maps = Matcher(*graph(reference)).isomorphisms(*graph(molecule), MAX_ISOMORPHISMS)  # reference atom -> atom
    if not len(maps):
        raise ValueError(f"{molecule.name} and {reference.name} are not the same molecule (bond graphs differ)")
    centred = molecule.ref - molecule.ref.mean(axis=0)
    _, rmsd = fit_rotations(reference.ref - reference.ref.mean(axis=0), centred[maps])
    best = int(np.argmin(rmsd))
    if rmsd[best] > max_rmsd:
        raise ValueError(f"{molecule.name} does not fit {reference.name}: RMSD {rmsd[best]:.3f} Å > {max_rmsd} Å")
    order = maps[best]
    return Molecule(molecule.name, [molecule.symbols[i] for i in order], molecule.ref[order].copy(), molecule.comment)


def _representative(mol_id: np.ndarray, canonical: np.ndarray) -> np.ndarray:
    """Atom indices of the first labelled molecule, in canonical order."""
    labelled = np.flatnonzero(canonical >= 0)
    if not len(labelled):
        raise NotRecoverable("no atom has a canonical label")
    first = mol_id[labelled[np.argmin(canonical[labelled])]]
    atoms = labelled[mol_id[labelled] == first]
    atoms = atoms[np.argsort(canonical[atoms])]
    if not np.array_equal(canonical[atoms], np.arange(len(atoms))):
        raise NotRecoverable("canonical labels of the independent molecule are not 0..n-1")
    return atoms


@lru_cache(maxsize=64)
def _symmetries(symbols: tuple[str, ...], ref_bytes: bytes, tol: float) -> np.ndarray:
    ref = np.frombuffer(ref_bytes).reshape(-1, 3)
    numbers = np.array([chemical_symbols.index(s) for s in symbols], np.int64)
    bonds = molecule_bonds(np.ascontiguousarray(ref), covalent_radii[numbers], Options().bond_tolerance)
    autos = Matcher(numbers, bonds).isomorphisms(numbers, bonds, MAX_ISOMORPHISMS)
    # orthogonal Procrustes, proper or improper: rmsd^2 = (2 |ref|^2 - 2 sum of singular values) / n
    s = np.linalg.svd(np.einsum("ja,kjb->kab", ref, ref[autos]), compute_uv=False)
    rmsd = np.sqrt(np.maximum(2 * (ref * ref).sum() - 2 * s.sum(axis=1), 0.0) / len(ref))
    keep = autos[rmsd < tol]
    identity = np.arange(len(ref))
    return np.vstack([identity, keep[~(keep == identity).all(axis=1)]])


def rigid_symmetries(molecule: Molecule, tol: float = 0.05) -> np.ndarray:
    """Relabellings (k, n) of the molecule's atoms under its own rigid point symmetry: the
    bond-graph automorphisms ``perm`` for which ``ref[perm]`` is an orthogonal image (proper
    or improper) of ``ref`` within ``tol`` Å RMSD. The identity comes first."""
    ref = np.ascontiguousarray(molecule.ref, dtype=float)
    return _symmetries(tuple(molecule.symbols), ref.tobytes(), float(tol))


def fit_rotations(ref: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kabsch: proper rotations Q (k, 3, 3) minimising sum_j |y[k, j] - Q ref[j]|^2, and the
    RMSDs (k,) Å. ref (n, 3) and y (k, n, 3) are centred point sets."""
    u, _, vt = np.linalg.svd(np.einsum("ja,kjb->kab", ref, y))  # sum_j ref_j y_j^T = U S V^T
    d = np.sign(np.linalg.det(u @ vt))  # det(V U^T)
    vt[:, 2] *= d[:, None]
    q = np.einsum("kba,kcb->kac", vt, u)  # V diag(1, 1, d) U^T
    residual = y - np.einsum("kab,jb->kja", q, ref)
    return q, np.sqrt((residual * residual).sum(axis=(1, 2)) / len(ref))


@lru_cache(maxsize=None)
def proper_normaliser(spacegroup) -> tuple[np.ndarray, np.ndarray]:
    """The proper (det +1) elements (W (m, 3, 3) int, w (m, 3)) of the group's Euclidean
    normaliser for a lattice of its crystal system with no extra symmetry, in the standard
    setting, modulo the lattice, with no translation along polar axes (the origin there is
    fixed by the centroid instead). x -> W x + w maps the crystal onto an equivalent
    description in the same setting: same lattice parameters, same operations.

    Found by search: W over the proper rotations of the crystal system's holohedry, w over
    a 1/24 grid, keeping the pairs that conjugate every operation of the group into the group.
    """
    sg = spacegroup if isinstance(spacegroup, SpaceGroup) else get_spacegroup(spacegroup)
    holo = get_spacegroup(_HOLOHEDRY[sg.crystal_system]).rotations
    linear = np.unique(holo[np.round(np.linalg.det(holo)).astype(int) == 1], axis=0)
    axes = [np.arange(_GRID) / _GRID if i in sg.free_axes else np.zeros(1) for i in range(3)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    by_rotation: dict[bytes, list[np.ndarray]] = {}
    for r, t in zip(sg.rotations, sg.translations):
        by_rotation.setdefault(r.astype(np.int64).tobytes(), []).append(t)
    out_w, out_t = [], []
    for w in linear:
        w_inv = np.round(np.linalg.inv(w)).astype(np.int64)
        kept = grid
        for r, t in zip(sg.rotations, sg.translations):  # (W, w)(R, t)(W, w)^-1 must be in the group
            r2 = w @ r @ w_inv
            targets = np.array(by_rotation.get(r2.astype(np.int64).tobytes(), np.zeros((0, 3))))
            d = (w @ t + kept @ (np.eye(3) - r2).T)[:, None, :] - targets[None]
            kept = kept[(np.abs(d - np.round(d)) < 1e-6).all(axis=2).any(axis=1)]
        out_w += [w] * len(kept)
        out_t.append(kept)
    return np.array(out_w, dtype=np.int64), np.concatenate(out_t)


def _dataset(cell, positions, numbers, symprec: float):
    """spglib's dataset of the group found at ``symprec``, from the tightest tolerance (down to
    1e-5 Å) that finds the same group: spglib's transformation to the standard setting is only
    as exact as the tolerance it was found with."""
    spglib_cell = (np.asarray(cell, float), (np.asarray(positions) @ np.linalg.inv(cell)) % 1.0, np.asarray(numbers))
    try:
        data = spglib.get_symmetry_dataset(spglib_cell, symprec=symprec)
    except spglib.SpglibError as exc:
        raise NotRecoverable(f"spglib found no symmetry at symprec {symprec}: {exc}") from exc
    for tight in 10.0 ** np.arange(-5, np.log10(symprec)):
        try:
            closer = spglib.get_symmetry_dataset(spglib_cell, symprec=tight)
        except spglib.SpglibError:
            continue
        if closer.number == data.number:
            return closer
    return data


def _check_zprime(data, cell, mol_id, sg: SpaceGroup) -> None:
    """Z' = 1 in a general position: the conventional cell holds exactly Z molecules."""
    n_mol = len(np.unique(mol_id))
    per_cell = n_mol * abs(np.linalg.det(data.std_lattice) / np.linalg.det(cell))
    zprime = per_cell / sg.z
    if abs(zprime - 1.0) > 1e-3:
        where = "a special position" if zprime < 1 else "more than one independent molecule"
        raise NotRecoverable(f"Z' = {zprime:.3g} in {sg.symbol} ({where}); recovery needs Z' = 1")


def _canonical_choice(phi: np.ndarray, w: np.ndarray) -> int:
    """Index of the canonical candidate: smallest centroid fractions (lexicographic), then the
    smallest rotation angle, then the smallest rotation vector (ties within TIE)."""
    keys = np.column_stack([phi, np.linalg.norm(w, axis=1), w])
    alive = np.arange(len(keys))
    for col in keys.T:
        alive = alive[col[alive] <= col[alive].min() + TIE]
    return int(alive[0])


def _rotation_vectors(q: np.ndarray) -> np.ndarray:
    """Rotation vectors (k, 3), |w| <= pi; at |w| = pi the first non-zero component positive."""
    w = Rotation.from_matrix(q).as_rotvec()
    lead = w[np.arange(len(w)), np.argmax(np.abs(w) > 1e-9, axis=1)]
    w[(np.linalg.norm(w, axis=1) > np.pi - 1e-9) & (lead < 0)] *= -1
    return w


def recover(cell, positions, numbers, mol_id, canonical, reference: Molecule, symprec: float | None = None,
            tie: float = TIE_RMSD) -> Recovered:
    """The canonical DoF vector of one crystal (see the module docstring).

    cell (3, 3) lattice vectors as rows, Å; positions (n, 3) Å with molecules whole; numbers
    (n,); mol_id (n,); canonical (n,): reference index of the atoms of the independent
    molecule, -1 elsewhere (as in :class:`~latentcsp.store.StructureSet`). symprec: spglib's
    tolerance, Å (default: the ingest's). tie: fits within this many Å RMSD of the best
    count as equivalent. Raises :class:`NotRecoverable` with the reason.
    """
    cell = np.asarray(cell, float)
    positions, numbers = np.asarray(positions, float), np.asarray(numbers)
    mol_id, canonical = np.asarray(mol_id), np.asarray(canonical)
    symprec = Options().symprec if symprec is None else symprec
    atoms = _representative(mol_id, canonical)
    if len(atoms) != reference.n_atoms or [chemical_symbols[int(z)] for z in numbers[atoms]] != reference.symbols:
        raise NotRecoverable(f"the independent molecule ({len(atoms)} atoms) is not the reference "
                             f"{reference.name} ({reference.n_atoms} atoms)")
    data = _dataset(cell, positions, numbers, symprec)
    sg = get_spacegroup(int(data.number))
    if int(data.hall_number) != sg.hall:  # pragma: no cover - spglib standardises to the first Hall number
        raise NotRecoverable(f"spglib's setting (Hall {data.hall_number}) is not the generator's ({sg.hall})")
    _check_zprime(data, cell, mol_id, sg)

    p6 = params_from_cell(data.std_lattice)
    free = np.array([p6[PARAMS6.index(n)] for n in LATTICE_FREE[sg.crystal_system]])
    builder_cell = cells(lattice_parameters(free, sg.crystal_system))[0][0]

    p_mat, p_shift = np.asarray(data.transformation_matrix, float), np.asarray(data.origin_shift, float)
    f_std = positions[atoms] @ np.linalg.inv(cell) @ p_mat.T + p_shift  # (n, 3), standard setting
    copies = np.einsum("ja,kba->kjb", f_std, sg.rotations.astype(float)) + sg.translations[:, None, :]
    nw, nt = proper_normaliser(sg.number)
    f = np.einsum("kja,iba->ikjb", copies, nw.astype(float)) + nt[:, None, None, :]  # (m, Z, n, 3)
    f = f.reshape(-1, reference.n_atoms, 3)
    centroid = f.mean(axis=1)
    y = (f - centroid[:, None, :]) @ builder_cell  # (m*Z, n, 3) Cartesian, builder frame
    perms = rigid_symmetries(reference)
    q, rmsd = fit_rotations(reference.ref, y[:, perms].reshape(-1, reference.n_atoms, 3))
    best = float(rmsd.min())
    own = (f_std - f_std.mean(axis=0)) @ builder_cell  # the independent molecule itself
    _, mirror = fit_rotations(reference.ref, -own[None])  # its fit by an improper rotation
    if mirror[0] < best - tie:
        raise NotRecoverable(f"the crystal holds the mirror image of the reference (fit {best:.3f} Å, "
                             f"mirror image {mirror[0]:.3f} Å)")
    good = np.flatnonzero(rmsd <= best + tie)
    source = good // len(perms)  # which (normaliser element, copy) each good fit belongs to
    phi = centroid[source] % 1.0
    phi[:, list(sg.polar_axes)] = 0.0
    phi = np.where(phi > 1.0 - 1e-12, 0.0, phi)
    w = _rotation_vectors(q[good])
    pick = _canonical_choice(phi[:, list(sg.free_axes)], w)
    theta = np.concatenate([free, w[pick], phi[pick, list(sg.free_axes)]])

    element = source[pick] // sg.z
    big_w = nw[element].astype(float)
    shift = nt[element].copy()
    polar = list(sg.polar_axes)
    shift[polar] -= centroid[source[pick], polar]
    return Recovered(theta=theta, spacegroup=sg, rmsd=best,
                     to_canonical=(big_w @ p_mat, big_w @ p_shift + shift))


def canonicalise(model: CrystalModel, theta) -> np.ndarray:
    """The canonical vector (:func:`recover`, reference = the model's molecule) of the crystal
    ``model`` builds from ``theta``; ``model.canonical(theta)`` (rotation vector with
    ``|w| <= pi``, fractions in [0, 1)) where the crystal is not recoverable in the model's
    group (spglib finds a higher symmetry, as a minimum may gain)."""
    s = model.build(theta)
    z, n = model.sg.z, model.n0
    canonical = np.full(z * n, -1)
    canonical[:n] = np.arange(n)
    try:
        found = recover(s["cell"], s["x"], np.tile(model.molecule.numbers, z), np.repeat(np.arange(z), n),
                        canonical, model.molecule)
    except NotRecoverable:
        return model.canonical(theta)
    return found.theta if found.spacegroup.number == model.sg.number else model.canonical(theta)


def periodic_rmsd(cell, positions, numbers, other_cell, other_positions, other_numbers) -> float:
    """RMSD (Å) between two periodic crystals in one Cartesian frame: every atom's distance to the
    nearest atom of the same element of the other crystal (any periodic image), both ways.
    cell / other_cell (3, 3) rows, positions (n, 3), numbers (n,)."""
    there = _nearest(positions, numbers, other_cell, other_positions, other_numbers)
    back = _nearest(other_positions, other_numbers, cell, positions, numbers)
    d = np.concatenate([there, back])
    return float(np.sqrt(np.mean(d * d)))


def _nearest(points, numbers, cell, positions, kinds) -> np.ndarray:
    """(len(points),) distance of each point to the nearest periodic image of a same-element atom."""
    inv = np.linalg.inv(cell)
    images = np.stack(np.meshgrid(*[np.arange(-1, 2)] * 3, indexing="ij"), axis=-1).reshape(-1, 3) @ cell
    out = np.full(len(points), np.inf)
    for z in np.unique(numbers):
        mine, theirs = np.flatnonzero(numbers == z), positions[kinds == z]
        for block in np.array_split(mine, max(1, len(mine) * len(theirs) // 20000)):
            df = (points[block, None, :] - theirs[None]) @ inv  # (b, k, 3) fractional differences
            d = (df - np.round(df)) @ cell  # the nearest image, then its 27 neighbours
            d2 = ((d[:, :, None, :] + images) ** 2).sum(axis=3)
            out[block] = np.sqrt(d2.min(axis=(1, 2))) if len(theirs) else np.inf
    return out


def round_trip_rmsd(cell, positions, numbers, recovered: Recovered, model: CrystalModel) -> float:
    """RMSD (Å, :func:`periodic_rmsd`) between the crystal and the one ``model`` builds from
    ``recovered.theta``, taken back into the crystal's frame by ``recovered.to_canonical``."""
    built = model.build(recovered.theta)
    m_mat, m_shift = recovered.to_canonical
    back = np.linalg.inv(m_mat)
    f_in = (built["x"] @ np.linalg.inv(built["cell"]) - m_shift) @ back.T
    cell = np.asarray(cell, float)
    canonical_cell = back.T @ cell  # the canonical basis vectors in the crystal's frame
    return periodic_rmsd(canonical_cell, f_in @ cell, np.tile(model.molecule.numbers, model.sg.z),
                         cell, np.asarray(positions, float), np.asarray(numbers))


#: Columns of :func:`recover_landscape`'s table before the DoF columns.
TABLE_COLUMNS = ["id", "status", "reason", "spacegroup", "number", "rmsd", "round_trip", "free"]


def recover_landscape(structures, manifest: pd.DataFrame, reference: Molecule, max_rmsd: float = MAX_FIT_RMSD,
                      symprec: float | None = None) -> pd.DataFrame:
    """The DoF vector of every structure of a landscape, or why there is none.

    structures: a :class:`~latentcsp.store.StructureSet`; manifest: its manifest (``id``,
    ``zprime``, ``site_symmetry``); reference: the rigid molecule (:func:`reference_molecule`).
    One row per manifest row, in its order: :data:`TABLE_COLUMNS` (status 'ok' or 'skipped',
    the reason of a skip, the group of the vector, the fit RMSD and the round-trip RMSD in Å,
    ``free``: the vector's components, ';'-separated) then :data:`DOF_COLUMNS`
    (Å, degrees, radians, fractions; as the generator's dof tables). A structure is skipped
    when Z' != 1, when its molecule sits on a special position, when spglib's analysis
    does not allow recovery, or when the fit RMSD exceeds ``max_rmsd`` (a flexible molecule
    or another conformer); its fit RMSD is kept where known.
    """
    where = {k: n for n, k in enumerate(structures.ids)}
    models: dict[int, CrystalModel] = {}
    rows = []
    for rec in manifest.itertuples(index=False):
        row = dict.fromkeys(TABLE_COLUMNS + DOF_COLUMNS, np.nan)
        row.update(id=rec.id, status="skipped", reason="", spacegroup="", free="")
        rows.append(row)
        if float(rec.zprime) != 1.0 or str(rec.site_symmetry) != "1":
            row["reason"] = (f"Z' = {float(rec.zprime):g}, site symmetry {rec.site_symmetry}: recovery needs one "
                             "independent molecule in a general position")
            continue
        s = structures.atoms_of(where[rec.id])
        args = (structures.cell[where[rec.id]], structures.positions[s], structures.numbers[s])
        try:
            found = recover(*args, structures.mol_id[s], structures.canonical[s], reference, symprec)
        except NotRecoverable as exc:
            row["reason"] = str(exc)
            continue
        if found.spacegroup.number not in models:
            models[found.spacegroup.number] = CrystalModel(reference, found.spacegroup)
        model = models[found.spacegroup.number]
        row.update(spacegroup=found.spacegroup.symbol, number=found.spacegroup.number, rmsd=found.rmsd,
                   free=";".join(model.names), **dof_row(model, found.theta))
        if found.rmsd > max_rmsd:
            row["reason"] = (f"molecule not rigid: fit RMSD {found.rmsd:.3f} Å to the reference exceeds "
                             f"{max_rmsd} Å (flexible or another conformer)")
            continue
        row.update(status="ok", round_trip=round_trip_rmsd(*args, found, model))
    return pd.DataFrame(rows, columns=TABLE_COLUMNS + DOF_COLUMNS)


def theta_of(model: CrystalModel, row) -> np.ndarray:
    """The DoF vector of ``model`` from a table row with :data:`DOF_COLUMNS` (degrees for angles)."""
    lattice = [np.radians(row[n]) if n in ("alpha", "beta", "gamma") else row[n] for n in model.lattice_names]
    return np.array(lattice + [row[n] for n in model.names[model.n_lat:]], dtype=float)
