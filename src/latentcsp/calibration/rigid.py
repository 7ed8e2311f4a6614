"""Rigid-body count: a landscape's dimension read off its crystals' own coordinates.

A crystal of one rigid molecule (Z' = 1, general position) is fixed by three blocks of
coordinates: the lattice (the free cell parameters), the molecule's orientation and its
position. For a landscape S of such crystals,

    dim S <= dim(lattice block) + dim(orientation block) + dim(position block),

with equality when the three vary independently, as in a landscape made by freezing some
DoF and sampling the others. Each block has at most 6 dimensions, where a local estimate
at n ~ 1 000 is exact, unlike a 12-dimensional joint estimate. The bound holds in any
chart, so each block takes the lowest of several (a generator's frozen DoF are constant in
its own chart only):

* lattice: the free parameters of the file's own cell, or of spglib's reduced standard cell
  (:func:`latentcsp.synth.recover.recover`);
* orientation: the rotation of the reference molecule onto the crystal's, in the reduced
  cell's frame (a along x), the file cell's frame with a along x, or with c along z;
* position: the fractional centre of mass or centroid, in the reduced or the file's cell.

Units: every block is in Å of atomic displacement (cell angles x the mean cell length,
rotation matrices x the molecule's radius of gyration, fractions x the cell lengths on a
circle), so one noise floor (:data:`FLOOR`) applies to all.

A block's dimension (:func:`local_dimension`): points closer than the floor are merged;
at each point, the number of principal components of its k nearest neighbours above
``ratio`` x the largest and above the floor; the median over points.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from ase.data import atomic_masses
from ase.geometry import cell_to_cellpar, cellpar_to_cell
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from ..synth.model import CrystalModel
from ..synth.recover import MAX_FIT_RMSD, NotRecoverable, recover
from .references import as_structures

#: Displacements (Å) below which two crystals' block coordinates are the same: above the
#: rounding of a CIF written to 4 decimals (~5e-4 Å), below any sampled DoF's spread.
FLOOR = 2e-3
#: A local principal component counts when its variance exceeds this fraction of the largest.
RATIO = 0.03
#: Neighbours per point, per possible dimension of the block.
NEIGHBOURS_PER_DIM = 4
BLOCKS = ("lattice", "orientation", "position")


def local_dimension(points: np.ndarray, max_dim: int, floor: float = FLOOR, ratio: float = RATIO,
                    standardise: bool = False) -> int:
    """Dimension (0..max_dim) of a point set (n, m), Å: local PCA at every point over its
    ``NEIGHBOURS_PER_DIM * max_dim`` nearest neighbours, after merging points within ``floor``;
    the median of the pointwise counts. 0 when fewer distinct points than neighbours.
    ``standardise``: first give every column that varies by more than the floor the same
    spread (for a chart whose axes are the DoF themselves, e.g. cell parameters)."""
    k = NEIGHBOURS_PER_DIM * max_dim
    points = np.asarray(points, float)
    if standardise:
        sd = points.std(axis=0)
        keep = sd > floor
        points = np.where(keep, (points - points.mean(axis=0)) / np.where(keep, sd, 1.0), 0.0)
        points *= np.median(sd[keep]) if keep.any() else 1.0
    distinct = np.unique(np.round(points / floor), axis=0) * floor
    if len(distinct) <= k:
        return 0
    _, idx = cKDTree(distinct).query(distinct, k + 1)
    local = distinct[idx] - distinct[idx].mean(axis=1, keepdims=True)  # (n, k+1, m)
    var = np.linalg.svd(local, compute_uv=False) ** 2 / k  # (n, min(k+1, m)), descending
    counts = ((var > ratio * var[:, :1]) & (var > floor ** 2)).sum(axis=1)
    return int(min(np.median(counts), max_dim))


def _pymatgen_cell(p6: np.ndarray) -> np.ndarray:
    """Cell (rows) of parameters (Å, degrees) with c along z (pymatgen's convention)."""
    a, b, c = p6[:3]
    al, be, ga = np.radians(p6[3:])
    gs = np.arccos(np.clip((np.cos(al) * np.cos(be) - np.cos(ga)) / (np.sin(al) * np.sin(be)), -1, 1))
    return np.array([[a * np.sin(be), 0.0, a * np.cos(be)],
                     [-b * np.sin(al) * np.cos(gs), b * np.sin(al) * np.sin(gs), b * np.cos(al)],
                     [0.0, 0.0, c]])


@dataclass
class Charts:
    """Block coordinates of the recovered crystals in every chart ({chart name: (n, m) array},
    Å), the structure index of each row, and the reason for each structure left out."""

    lattice: dict = field(default_factory=dict)
    orientation: dict = field(default_factory=dict)
    position: dict = field(default_factory=dict)
    indices: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    skipped: dict = field(default_factory=dict)


def _recovered(structures, indices, reference) -> tuple[list, dict]:
    """[(index, Recovered)] of the rigid Z' = 1 copies of ``reference`` in the most common
    space group among them, and {index: reason} for the others."""
    found, skipped = [], {}
    for i in indices:
        part = structures.atoms_of(int(i))
        try:
            rec = recover(structures.cell[i], structures.positions[part], structures.numbers[part],
                          structures.mol_id[part], structures.canonical[part], reference)
        except NotRecoverable as exc:
            skipped[int(i)] = str(exc)
            continue
        except (ValueError, np.linalg.LinAlgError) as exc:  # a crystal spglib or the fit cannot handle
            skipped[int(i)] = f"{type(exc).__name__}: {exc}"
            continue
        if rec.rmsd > MAX_FIT_RMSD:
            skipped[int(i)] = f"molecule not rigid: fit RMSD above {MAX_FIT_RMSD} Å"
        else:
            found.append((int(i), rec))
    numbers = [r.spacegroup.number for _, r in found]
    number = Counter(numbers).most_common(1)[0][0] if numbers else 0  # ties: the first met
    skipped.update({i: f"recovered in space group {r.spacegroup.number}, not {number}" for i, r in found
                    if r.spacegroup.number != number})
    return [(i, r) for i, r in found if r.spacegroup.number == number], skipped


def charts(structures, indices, reference) -> Charts:
    """Block coordinates (module docstring) of the crystals ``structures[indices]`` (a
    :class:`~latentcsp.store.StructureSet`) that are rigid Z' = 1 copies of ``reference``
    (:func:`~latentcsp.synth.recover.recover`), in the most common space group among them."""
    found, skipped = _recovered(structures, indices, reference)
    if not found:
        return Charts(skipped=skipped)
    model = CrystalModel(reference, found[0][1].spacegroup)
    masses = atomic_masses[reference.numbers]
    com = masses @ reference.ref / masses.sum()  # reference.ref is centred on its centroid
    radius = float(np.sqrt((reference.ref ** 2).sum(axis=1).mean()))
    is_length = np.array([n in ("a", "b", "c") for n in model.lattice_names])
    rows = {k: [] for k in ("file", "reduced", "rot_reduced", "rot_ax", "rot_cz", "com_reduced", "centroid_reduced",
                            "com_file", "centroid_file", "length")}
    for i, rec in found:
        theta = rec.theta
        built = model.build(theta)
        reduced_cell = built["cell"]
        rot = Rotation.from_rotvec(theta[model.n_lat:model.n_lat + 3]).as_matrix()
        phi = np.zeros(3)
        phi[list(model.sg.free_axes)] = theta[model.n_lat + 3:]
        file_cell = np.asarray(structures.cell[i], float)
        p6 = cell_to_cellpar(file_cell)
        named = dict(zip(("a", "b", "c", "alpha", "beta", "gamma"), p6))
        m_mat, m_shift = rec.to_canonical
        to_file = np.linalg.solve(reduced_cell, np.linalg.inv(m_mat).T @ file_cell)  # reduced frame -> file frame
        rows["file"].append([named[n] if f else np.radians(named[n]) for n, f in zip(model.lattice_names, is_length)])
        rows["reduced"].append(theta[:model.n_lat])
        rows["rot_reduced"].append(rot)
        for key, standard in (("rot_ax", cellpar_to_cell(p6)), ("rot_cz", _pymatgen_cell(p6))):
            rows[key].append(np.linalg.solve(standard, file_cell) @ to_file.T @ rot)
        rows["centroid_reduced"].append(phi)
        rows["com_reduced"].append(phi + (rot @ com) @ np.linalg.inv(reduced_cell))
        back = np.linalg.inv(m_mat)  # canonical fractions -> the file's
        rows["centroid_file"].append((phi - m_shift) @ back.T)
        rows["com_file"].append((rows["com_reduced"][-1] - m_shift) @ back.T)
        rows["length"].append(built["p6"][:3])
    length = np.mean(rows["length"], axis=0)
    out = Charts(indices=np.array([i for i, _ in found]), skipped=skipped)
    for name in ("file", "reduced"):  # an angle (radians) moves a cell vector's end by ~ the mean length
        values = np.array(rows[name])
        out.lattice[f"{name} cell"] = np.where(is_length, values, values * length.mean())
        out.lattice[f"{name} cell, log lengths"] = np.where(is_length, np.log(values), values) * length.mean()
    out.orientation = {f"frame {k[4:]}": np.array(rows[k]).reshape(len(found), 9) * radius
                       for k in ("rot_reduced", "rot_ax", "rot_cz")}
    axes = list(model.sg.free_axes)
    circle = length / (2 * np.pi)
    keys = ("com_reduced", "centroid_reduced") + (() if model.sg.polar_axes else ("com_file", "centroid_file"))
    for key in keys:  # along a polar axis the origin floats: only the reduced chart fixes it
        on = axes if key.endswith("reduced") else [0, 1, 2]
        f = np.array(rows[key])[:, on]
        out.position[key.replace("com", "centre of mass").replace("_", ", ")] = np.column_stack(
            [np.cos(2 * np.pi * f), np.sin(2 * np.pi * f)]) * np.tile(circle[on], 2)
    return out


@dataclass
class RigidBodyCount:
    """The rigid-body count of one set of crystals: the bound, each block's dimension and the
    chart that gave it, the crystals used, and why the count is missing where it is."""

    count: int | None
    blocks: dict
    chart: dict
    n_used: int
    reason: str | None = None

    def to_dict(self) -> dict:
        return {"rigid_count": self.count, **{f"rigid_{b}": self.blocks.get(b) for b in BLOCKS},
                "rigid_charts": "; ".join(f"{b}: {c}" for b, c in self.chart.items()) or None,
                "rigid_n": self.n_used, "rigid_reason": self.reason}


def count(found: Charts, indices, min_structures: int = 50) -> RigidBodyCount:
    """The rigid-body count of the structures ``indices`` from their block coordinates in
    ``found`` (:func:`charts` of a superset); None with the reason where fewer than
    ``min_structures`` of them are rigid Z' = 1 copies of the reference."""
    rows = np.flatnonzero(np.isin(found.indices, indices))
    if len(rows) < min_structures:
        reasons = [found.skipped[i] for i in indices if i in found.skipped]
        common = Counter(reasons).most_common(1)[0][0] if reasons else "none recovered"  # ties: the first met
        return RigidBodyCount(None, {}, {}, len(rows), f"{len(rows)} of {len(indices)} structures are rigid Z' = 1 "
                                                      f"copies of the reference molecule, {min_structures} needed "
                                                      f"(most common reason: {common})")
    blocks, chart = {}, {}
    for block in BLOCKS:
        coordinates = getattr(found, block)
        max_dim = {"lattice": next(iter(coordinates.values())).shape[1], "orientation": 3,
                   "position": next(iter(coordinates.values())).shape[1] // 2}[block]
        dims = {name: local_dimension(x[rows], max_dim, standardise=block == "lattice")
                for name, x in coordinates.items()}
        chart[block] = min(dims, key=dims.get)
        blocks[block] = dims[chart[block]]
    return RigidBodyCount(sum(blocks.values()), blocks, chart, len(rows))


def rigid_body_count(structures, indices, reference, min_structures: int = 50) -> RigidBodyCount:
    """The rigid-body count (module docstring) of ``structures[indices]``."""
    indices = [int(i) for i in indices]
    return count(charts(structures, indices, reference), indices, min_structures)


#: Reference ensembles per space group the count is checked on.
CHECKS = 12
#: Share of the checked references whose count must equal their d for the count to be used.
MIN_EXACT = 0.9


def check_on_references(model: CrystalModel, references: dict, sizes,
                        checks: int = CHECKS) -> dict[int, tuple[int, int]]:
    """{n: (exact, checked)} for each size n in ``sizes``: the rigid-body count of the first n
    crystals of up to ``checks`` of the space group's reference ensembles (one item of
    :func:`latentcsp.store.read_references`, spread over the ladder) against their known d."""
    sizes = sorted({int(n) for n in sizes})
    ensembles = references["ensembles"]
    picked = np.unique(np.linspace(0, len(ensembles) - 1, min(checks, len(ensembles))).round().astype(int))
    tally = {n: [0, 0] for n in sizes}
    for k in picked:
        thetas = references["thetas"][k][:sizes[-1]]
        crystals = as_structures(model, thetas, np.arange(model.n0))  # orbit labels do not enter recovery
        found = charts(crystals, range(len(thetas)), model.molecule)
        for n in sizes:
            if len(thetas) >= n:
                tally[n][0] += count(found, list(range(n))).count == len(ensembles[k]["free"])
                tally[n][1] += 1
    return {n: (exact, checked) for n, (exact, checked) in tally.items()}


def combine(calibrated: dict, rigid: dict) -> dict:
    """The reported dimension: the rigid-body count where it was exact on at least
    :data:`MIN_EXACT` of its checked references and does not exceed the descriptor
    calibration's upper bound (it is itself an upper bound, reached when the DoF vary
    independently; the descriptor calibration is kept in the ``descriptors_*`` columns); else
    the descriptor calibration, with the reason the count was not used."""
    count, exact, checked = rigid.get("rigid_count"), rigid.get("rigid_exact"), rigid.get("rigid_checked")
    high = calibrated.get("calibrated_high")
    if count is None:
        return {"calibrated_by": "descriptors"}
    if not checked or exact < MIN_EXACT * checked:
        return {"calibrated_by": "descriptors",
                "rigid_reason": f"count exact on {exact} of {checked} checked references"}
    if high is None:
        return {"calibrated_by": "descriptors", "rigid_reason": "no descriptor interval to check the count against"}
    if count > high:
        return {"calibrated_by": "descriptors",
                "rigid_reason": f"count {count} above the descriptor interval (..{high:.1f}]: the DoF may vary together"}
    kept = {f"descriptors_{k}": calibrated.get(f"calibrated_{k}") for k in ("low", "high")}
    return {"descriptors_calibrated": calibrated.get("calibrated"), **kept,
            "descriptors_resolved": calibrated.get("resolved"), "descriptors_reason": calibrated.get("reason"),
            "calibrated": float(count), "calibrated_low": float(count), "calibrated_high": float(count),
            "resolved": True, "reason": None, "calibrated_by": "rigid-body count"}
