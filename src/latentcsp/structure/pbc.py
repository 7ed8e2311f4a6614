"""Neighbour search under periodic boundary conditions (numba kernels).

Shared by the structure checks (covalent bonds, contacts: :mod:`latentcsp.structure.crystal`)
and the descriptors (:mod:`latentcsp.descriptors`); it depends on nothing of
the package.

Exact for any cell: triclinic, strongly skewed, and cells narrower than the
cutoff (an atom may then see many images of every atom, itself included).  No
minimum-image convention is used anywhere.

Method (a cell list in fractional coordinates):

* positions are wrapped into the unit cell, fractional coordinates in [0, 1);
* the unit cell is cut into ``m[0] x m[1] x m[2]`` bins along the lattice
  vectors (lattice-plane spacing / bin width, at least 1; bin width 0.75 x
  cutoff by default); atoms are sorted into bins (counting sort);
* a point within distance ``rc`` of a centre with fractional coordinates ``f``
  has fractional coordinates in ``[f_a - rc*|b_a|, f_a + rc*|b_a|]`` along each
  axis ``a``, where ``b_a`` is the reciprocal vector (row ``a`` of
  ``inv(cell).T``; ``1/|b_a|`` is the spacing of the lattice planes).  Those
  slabs are covered by a range of *extended* bin indices ``c``; ``c mod m`` is
  the stored bin and ``c div m`` the lattice translation of the image.  Every
  image of every atom inside the slabs is visited exactly once and tested
  against the cutoff, so all neighbours are found, whatever the number of
  images involved.

Everything here is a pure function on arrays.  Shapes: ``cell`` (3, 3) with
lattice vectors as rows (ASE convention), Å; ``positions`` (n, 3), Å.

Inputs are validated before any cell list is built (:func:`check_geometry` in
Python, with a message naming the problem; the same rule inside the compiled
entry points, which raise ValueError): a finite cell with lattice vectors no
longer than :data:`MAX_CELL_LENGTH` and lattice-plane spacings (cell widths)
of at least :data:`MIN_PLANE_SPACING`; finite positions at most
:data:`MAX_CELLS_AWAY` cells from the origin; a finite cutoff >= 0 that does
not reach more than :data:`MAX_CANDIDATES` atom images from one centre.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = [
    "check_geometry",
    "geometry_fault",
    "cell_and_inverse",
    "wrap_positions",
    "build_cell_list",
    "max_candidates",
    "centre_neighbours",
    "neighbour_list",
    "close_pairs",
    "molecule_shifts",
]

# Padding (in fractional units) of the search slabs; only matters for points at
# the cutoff within rounding error, where the cutoff function is zero anyway.
_PAD = 1e-9
_U = np.uint64  # unsigned array indices: no negative-index wraparound code in the loops

#: Longest lattice-vector component accepted, Å.
MAX_CELL_LENGTH = 1.0e4
#: Narrowest lattice-plane spacing (cell width) accepted, Å; zero for a flat cell.
MIN_PLANE_SPACING = 0.1
#: Largest |fractional coordinate| of a position: farther is an absurd value, not a crystal.
MAX_CELLS_AWAY = 1.0e3
#: Most atom images one centre may have to test (the search buffers hold this many rows of 64 bytes).
MAX_CANDIDATES = 20_000_000

#: What :func:`geometry_fault`'s codes mean.
GEOMETRY_FAULTS = {
    1: "the cell is not a 3 x 3 matrix of finite numbers",
    2: f"a lattice vector is longer than {MAX_CELL_LENGTH:g} Å",
    3: f"the cell is flat (singular): a lattice-plane spacing is below {MIN_PLANE_SPACING:g} Å",
    4: "a coordinate is not a finite number (NaN or infinity)",
    5: f"an atom lies more than {MAX_CELLS_AWAY:g} cells from the origin (an absurd coordinate)",
    6: "the cutoff is not a finite number >= 0",
    7: f"the cutoff reaches more than {MAX_CANDIDATES:g} atom images from one atom (cell too narrow for the cutoff)",
}


@njit(cache=True, error_model="numpy")  # a singular cell gives inf, checked by the caller
def _cell_inverse(cell):
    """(inverse (3, 3), |volume| Å^3, largest |component| Å) of a cell with
    lattice vectors as rows; the inverse's columns are the reciprocal vectors."""
    inv = np.empty((3, 3))
    for k in range(3):
        p, q = (k + 1) % 3, (k + 2) % 3  # column k: cell[p] x cell[q] / volume
        inv[0, k] = cell[p, 1] * cell[q, 2] - cell[p, 2] * cell[q, 1]
        inv[1, k] = cell[p, 2] * cell[q, 0] - cell[p, 0] * cell[q, 2]
        inv[2, k] = cell[p, 0] * cell[q, 1] - cell[p, 1] * cell[q, 0]
    vol = cell[0, 0] * inv[0, 0] + cell[0, 1] * inv[1, 0] + cell[0, 2] * inv[2, 0]
    for k in range(3):
        for a in range(3):
            inv[a, k] /= vol
    return inv, abs(vol), np.abs(cell).max()


def cell_and_inverse(cell) -> tuple[np.ndarray, np.ndarray]:
    """The cell as C-contiguous float64 and its inverse; ValueError if singular or outside the limits."""
    return check_geometry(cell, np.zeros((0, 3)))[:2]


@njit(cache=True)
def geometry_fault(cell, inv_cell, positions, cutoff):
    """0 when the kernels can take this geometry, else the code of the first problem (:data:`GEOMETRY_FAULTS`).

    cell, inv_cell (3, 3); positions (n, 3) Å; cutoff Å (0 when no search follows).
    """
    for a in range(3):
        for b in range(3):
            if not (math.isfinite(cell[a, b]) and math.isfinite(inv_cell[a, b])):
                return 1 if not math.isfinite(cell[a, b]) else 3
            if abs(cell[a, b]) > MAX_CELL_LENGTH:
                return 2
    images = 1.0
    for a in range(3):
        hnorm = math.sqrt(inv_cell[0, a] ** 2 + inv_cell[1, a] ** 2 + inv_cell[2, a] ** 2)
        if not hnorm * MIN_PLANE_SPACING <= 1.0:  # spacing 1 / hnorm
            return 3
        images *= np.floor(2.0 * cutoff * hnorm) + 3.0 if math.isfinite(cutoff) else 0.0
    for i in range(positions.shape[0]):
        for a in range(3):
            if not math.isfinite(positions[i, a]):
                return 4
        for a in range(3):
            f = positions[i, 0] * inv_cell[0, a] + positions[i, 1] * inv_cell[1, a] + positions[i, 2] * inv_cell[2, a]
            if abs(f) > MAX_CELLS_AWAY:
                return 5
    if not (math.isfinite(cutoff) and cutoff >= 0.0):
        return 6
    if images * positions.shape[0] > MAX_CANDIDATES:
        return 7
    return 0


_FAULT_TEXT = ("",) + tuple(GEOMETRY_FAULTS[k] for k in range(1, len(GEOMETRY_FAULTS) + 1))


@njit(cache=True)
def _refuse(code):
    """Raise the ValueError of a :func:`geometry_fault` code inside compiled code."""
    raise ValueError(_FAULT_TEXT[code])


def check_geometry(cell, positions, cutoff: float = 0.0, labels=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The cell (3, 3), its inverse and the positions (n, 3), C-contiguous float64, once they pass the limits.

    Raises ValueError naming the first problem (:data:`GEOMETRY_FAULTS`),
    with the atom (``labels[i]`` if given, else its 1-based number) and the
    value where one atom is at fault.  cutoff: the search radius that
    follows, Å (0: none).
    """
    cell = np.ascontiguousarray(cell, dtype=np.float64)
    positions = np.ascontiguousarray(positions, dtype=np.float64)
    if cell.shape != (3, 3):
        raise ValueError(f"{GEOMETRY_FAULTS[1]} (shape {cell.shape})")
    if positions.ndim != 2 or positions.shape[1] != 3:
        raise ValueError(f"positions must be (n, 3), got {positions.shape}")
    with np.errstate(all="ignore"):
        inv, vol, _ = _cell_inverse(cell)
        code = geometry_fault(cell, inv, positions, float(cutoff))
    if code == 0:
        return cell, inv, positions
    detail = ""
    if code in (1, 2):
        with np.errstate(all="ignore"):
            lengths = np.linalg.norm(cell, axis=1)
        detail = f" (lattice vector lengths {', '.join(f'{x:.4g}' for x in lengths)} Å)"
    elif code == 3:
        with np.errstate(all="ignore"):
            spacing = 1.0 / np.linalg.norm(inv, axis=0) if np.isfinite(inv).all() else np.zeros(3)
        detail = f" (volume {vol:.3g} Å^3, spacings {', '.join(f'{w:.3g}' for w in spacing)} Å)"
    elif code in (4, 5):
        with np.errstate(all="ignore"):
            frac = positions @ inv
        bad = ~np.isfinite(positions).all(axis=1) if code == 4 else (np.abs(frac) > MAX_CELLS_AWAY).any(axis=1)
        i = int(np.flatnonzero(bad)[0])
        name = f"atom {labels[i]}" if labels is not None else f"atom {i + 1}"
        detail = f": {name} at {', '.join(f'{x:.4g}' for x in positions[i])} Å"
        if code == 5:
            detail += f", {np.abs(frac[i]).max():.3g} cells away"
    elif code in (6, 7):
        detail = f" (cutoff {cutoff:g} Å, {len(positions)} atoms)"
    raise ValueError(GEOMETRY_FAULTS[code] + detail)


@njit(cache=True)
def wrap_positions(cell, inv_cell, positions):
    """Fractional coordinates wrapped into [0, 1) and the matching Cartesian
    positions (both (n, 3) float64)."""
    n = positions.shape[0]
    frac = np.empty((n, 3))
    cart = np.empty((n, 3))
    for i in range(n):
        for a in range(3):
            f = (positions[i, 0] * inv_cell[0, a] + positions[i, 1] * inv_cell[1, a]
                 + positions[i, 2] * inv_cell[2, a])
            f -= np.floor(f)  # a float: math.floor's int64 overflows on absurd values
            if f >= 1.0:  # -1e-20 - floor(-1e-20) rounds to 1.0
                f -= 1.0
            frac[i, a] = f
        for b in range(3):
            cart[i, b] = frac[i, 0] * cell[0, b] + frac[i, 1] * cell[1, b] + frac[i, 2] * cell[2, b]
    return frac, cart


@njit(cache=True)
def build_cell_list(frac, m):
    """Counting sort of atoms into bins.  Returns ``(bin_start, bin_atoms)``:
    the atoms of flat bin ``b = (w0 * m1 + w1) * m2 + w2`` are
    ``bin_atoms[bin_start[b]:bin_start[b + 1]]`` (in increasing index order)."""
    n = frac.shape[0]
    nb = m[0] * m[1] * m[2]
    bins = np.empty(n, np.int64)
    counts = np.zeros(nb + 1, np.int64)
    for i in range(n):
        for a in range(3):
            if not 0.0 <= frac[i, a] < 1.0:
                raise ValueError("build_cell_list: fractional coordinates must lie in [0, 1)")
        w0 = min(int(frac[i, 0] * m[0]), m[0] - 1)
        w1 = min(int(frac[i, 1] * m[1]), m[1] - 1)
        w2 = min(int(frac[i, 2] * m[2]), m[2] - 1)
        b = (w0 * m[1] + w1) * m[2] + w2
        bins[i] = b
        counts[b + 1] += 1
    for b in range(nb):
        counts[b + 1] += counts[b]
    fill = counts[:nb].copy()
    atoms = np.empty(n, np.int64)
    for i in range(n):
        b = bins[i]
        atoms[fill[b]] = i
        fill[b] += 1
    return counts, atoms


@njit(cache=True)
def _grid_arrays(cell, inv_cell, positions, cutoff, bin_width, max_bins):
    """Everything :class:`PeriodicGrid` holds, in one compiled call (after :func:`geometry_fault`)."""
    code = geometry_fault(cell, inv_cell, positions, cutoff)
    if code:
        _refuse(code)
    n = positions.shape[0]
    frac, cart = wrap_positions(cell, inv_cell, positions)
    wrap_shift = np.empty((n, 3), np.int64)
    for i in range(n):
        for a in range(3):
            raw = (positions[i, 0] * inv_cell[0, a] + positions[i, 1] * inv_cell[1, a]
                   + positions[i, 2] * inv_cell[2, a])
            wrap_shift[i, a] = int(np.rint(frac[i, a] - raw))
    hnorm = np.empty(3)
    for a in range(3):
        hnorm[a] = math.sqrt(inv_cell[0, a] ** 2 + inv_cell[1, a] ** 2 + inv_cell[2, a] ** 2)
    m = np.empty(3, np.int64)
    for a in range(3):
        m[a] = max(1, int(min(np.floor(1.0 / hnorm[a] / max(bin_width, MIN_PLANE_SPACING)), max_bins)))
    while m[0] * m[1] * m[2] > max_bins and max(m[0], m[1], m[2]) > 1:
        k = int(np.argmax(m))
        m[k] = max(1, m[k] // 2)
    bin_start, bin_atoms = build_cell_list(frac, m)
    bin_cart = np.empty((3, n))
    for p in range(n):
        for a in range(3):
            bin_cart[a, p] = cart[bin_atoms[p], a]
    reach = cutoff * hnorm + _PAD
    return frac, cart, wrap_shift, m, bin_start, bin_atoms, bin_cart, reach


@njit(cache=True, inline="always")
def _slab_range(f, reach, m):
    lo = int(math.floor((f - reach) * m))
    hi = int(math.floor((f + reach) * m))
    return lo, hi


@njit(cache=True)
def max_candidates(n_atoms, m, reach):
    """Upper bound on the (atom, image) candidates any centre visits: each
    atom once per lattice translation that its search slabs can touch."""
    total = n_atoms
    for a in range(3):
        span = int(math.floor(2.0 * reach[a] * m[a])) + 2  # bins a slab covers
        total *= (span + m[a] - 1) // m[a] + 1
    return total


@njit(cache=True)
def centre_neighbours(i, cart, frac, cell, m, bin_start, bin_atoms, bin_cart, reach, cutoff,
                      mol_ids, mol_shift, exclude, out_j, out_shift, out_vec, out_r, r2_buf, sel_buf):
    """All neighbours of atom ``i`` within ``cutoff`` (``r <= cutoff``), every
    periodic image included, the atom itself only at non-zero translations.

    ``exclude``: 0 keeps everything; 1 skips the images that belong to the
    same molecule *instance* as ``i``: ``mol_ids[j] == mol_ids[i]`` and
    translation ``n == mol_shift[j] - mol_shift[i]`` (``mol_shift``, (n, 3)
    int: the translations that make each molecule whole, in the wrapped frame;
    ignored for mode 0).  Writes neighbour index, integer lattice
    translation (of the image of ``j``), vector ``r_j + n.cell - r_i`` and
    distance into the ``out_*`` buffers, which must hold at least
    ``max_candidates(...)`` rows.  ``bin_cart`` is ``cart[bin_atoms].T``
    ((3, n), contiguous per bin); ``r2_buf`` (n,) float and ``sel_buf`` (n,) int scratch.  Returns the number
    of neighbours.  The order is deterministic (bins, then atom index).

    Consecutive bins along the third axis at one lattice translation hold
    consecutive atoms, so the squared distances of such a run are computed in
    one vectorised pass before the few within the cutoff are picked out (without
    branches: a mispredicted branch per kept candidate cost more than the test).
    """
    cut2 = cutoff * cutoff
    mi = mol_ids[i]
    lo0, hi0 = _slab_range(frac[i, 0], reach[0], m[0])
    lo1, hi1 = _slab_range(frac[i, 1], reach[1], m[1])
    lo2, hi2 = _slab_range(frac[i, 2], reach[2], m[2])
    m2 = m[2]
    m12 = m[1] * m2
    bx = bin_cart[0]
    by = bin_cart[1]
    bz = bin_cart[2]
    m0 = m[0]
    m1 = m[1]
    # bin index w and translation n of the first extended index on each axis;
    # then stepped (no division in the loops)
    w0 = lo0 % m0
    n0 = (lo0 - w0) // m0
    w1_lo = lo1 % m1
    n1_lo = (lo1 - w1_lo) // m1
    w2_lo = lo2 % m2
    n2_lo = (lo2 - w2_lo) // m2
    cnt = 0
    for c0 in range(lo0, hi0 + 1):
        s0x = n0 * cell[0, 0] - cart[i, 0]
        s0y = n0 * cell[0, 1] - cart[i, 1]
        s0z = n0 * cell[0, 2] - cart[i, 2]
        w1 = w1_lo
        n1 = n1_lo
        for c1 in range(lo1, hi1 + 1):
            s1x = s0x + n1 * cell[1, 0]
            s1y = s0y + n1 * cell[1, 1]
            s1z = s0z + n1 * cell[1, 2]
            row = w0 * m12 + w1 * m2
            w2 = w2_lo
            n2 = n2_lo
            c2 = lo2
            while c2 <= hi2:
                w_end = min(m2 - 1, w2 + hi2 - c2)
                c2 += w_end - w2 + 1
                s = bin_start[row + w2]
                e = bin_start[row + w_end + 1]
                nc2 = n2
                w2 = 0
                n2 += 1
                if s == e:
                    continue
                sx = s1x + nc2 * cell[2, 0]
                sy = s1y + nc2 * cell[2, 1]
                sz = s1z + nc2 * cell[2, 2]
                run = e - s
                for q in range(run):
                    p = _U(s + q)
                    dx = bx[p] + sx
                    dy = by[p] + sy
                    dz = bz[p] + sz
                    r2_buf[q] = dx * dx + dy * dy + dz * dz
                n_sel = 0
                for q in range(run):  # branch-free compaction of the few within the cutoff
                    sel_buf[n_sel] = q
                    n_sel += r2_buf[q] <= cut2
                zero_shift = n0 == 0 and n1 == 0 and nc2 == 0
                for u in range(n_sel):
                    q = sel_buf[u]
                    r2 = r2_buf[q]
                    p = s + q
                    j = bin_atoms[p]
                    if zero_shift and j == i:
                        continue
                    if (exclude == 1 and mol_ids[j] == mi and n0 == mol_shift[j, 0] - mol_shift[i, 0]
                            and n1 == mol_shift[j, 1] - mol_shift[i, 1]
                            and nc2 == mol_shift[j, 2] - mol_shift[i, 2]):
                        continue
                    out_j[cnt] = j
                    out_shift[cnt, 0] = n0
                    out_shift[cnt, 1] = n1
                    out_shift[cnt, 2] = nc2
                    out_vec[cnt, 0] = bx[p] + sx
                    out_vec[cnt, 1] = by[p] + sy
                    out_vec[cnt, 2] = bz[p] + sz
                    out_r[cnt] = math.sqrt(r2)
                    cnt += 1
            w1 += 1
            if w1 == m1:
                w1 = 0
                n1 += 1
        w0 += 1
        if w0 == m0:
            w0 = 0
            n0 += 1
    return cnt


@njit(cache=True)
def _neighbour_list(cart, frac, cell, m, bin_start, bin_atoms, bin_cart, reach, cutoff, mol_ids,
                    mol_shift, exclude, centres):
    nc = centres.shape[0]
    counts = np.zeros(nc + 1, np.int64)
    cap = max_candidates(cart.shape[0], m, reach)
    bj = np.empty(cap, np.int64)
    bs = np.empty((cap, 3), np.int64)
    bv = np.empty((cap, 3))
    br = np.empty(cap)
    r2_buf = np.empty(cart.shape[0])
    sel_buf = np.empty(cart.shape[0], np.int64)
    for c in range(nc):
        counts[c + 1] = counts[c] + centre_neighbours(
            centres[c], cart, frac, cell, m, bin_start, bin_atoms, bin_cart, reach, cutoff,
            mol_ids, mol_shift, exclude, bj, bs, bv, br, r2_buf, sel_buf)
    total = counts[nc]
    nj = np.empty(total, np.int64)
    ns = np.empty((total, 3), np.int64)
    nv = np.empty((total, 3))
    nr = np.empty(total)
    for c in range(nc):
        k = centre_neighbours(centres[c], cart, frac, cell, m, bin_start, bin_atoms, bin_cart, reach,
                              cutoff, mol_ids, mol_shift, exclude, bj, bs, bv, br, r2_buf, sel_buf)
        o = counts[c]
        for t in range(k):
            nj[o + t] = bj[t]
            ns[o + t, 0] = bs[t, 0]
            ns[o + t, 1] = bs[t, 1]
            ns[o + t, 2] = bs[t, 2]
            nv[o + t, 0] = bv[t, 0]
            nv[o + t, 1] = bv[t, 1]
            nv[o + t, 2] = bv[t, 2]
            nr[o + t] = br[t]
    return counts, nj, ns, nv, nr


@njit(cache=True)
def close_pairs(cell, inv_cell, positions, cutoff, centres):
    """Every pair closer than ``cutoff`` Å (``d <= cutoff``) from each atom of
    ``centres``, periodic images included, an atom's own image at S = 0 left out.

    ``inv_cell``: the inverse of ``cell``.  Returns i, j (m,) int, S (m, 3) int
    and d (m,) Å: the image ``positions[j] + S @ cell`` lies d from
    ``positions[i]`` (the given positions, which need not lie in the cell);
    grouped by i in the order of ``centres``.
    """
    n = positions.shape[0]
    frac, cart, wrap_shift, m, bin_start, bin_atoms, bin_cart, reach = _grid_arrays(
        cell, inv_cell, positions, cutoff, 0.75 * cutoff, max(8, 2 * n))
    counts, j, S, _, d = _neighbour_list(cart, frac, cell, m, bin_start, bin_atoms, bin_cart, reach, cutoff,
                                         np.zeros(n, np.int64), np.zeros((n, 3), np.int64), 0, centres)
    i = np.empty(j.shape[0], np.int64)
    for c in range(centres.shape[0]):
        for k in range(counts[c], counts[c + 1]):
            i[k] = centres[c]
            for a in range(3):  # translations relative to the given positions
                S[k, a] += wrap_shift[j[k], a] - wrap_shift[centres[c], a]
    return i, j, S, d


class PeriodicGrid:
    """Wrapped positions and cell list of one structure, ready for searches.

    Attributes: ``cell``, ``inv_cell``, ``frac``, ``cart`` (wrapped), ``m``
    (bins per axis), ``bin_start``, ``bin_atoms``, ``bin_cart``, ``cutoff``, ``reach``.
    ``wrap_shift[i]`` is the integer translation that took atom ``i`` from
    the input position into the cell (``cart = positions + wrap_shift @ cell``
    up to rounding).
    """

    def __init__(self, cell, positions, cutoff: float, bin_width: float | None = None):
        self.cell, self.inv_cell, positions = check_geometry(cell, positions, cutoff)
        self.cutoff = float(cutoff)
        if bin_width is None:
            bin_width = 0.75 * self.cutoff  # fastest on organic crystals (fewer, fuller bins)
        (self.frac, self.cart, self.wrap_shift, self.m, self.bin_start, self.bin_atoms,
         self.bin_cart, self.reach) = _grid_arrays(self.cell, self.inv_cell, positions, self.cutoff,
                                                   float(bin_width), max(8, 2 * len(positions)))


def exclusion_arrays(grid: "PeriodicGrid", mol_ids, mol_shifts, exclude_same_mol: bool):
    """(mode, mol_ids, wrapped-frame mol_shift) for :func:`centre_neighbours`.

    Without ``mol_shifts`` the molecules of ``mol_ids`` are made whole here
    (:func:`molecule_shifts`); ValueError when the ids do not label bonded molecules.
    """
    n = grid.frac.shape[0]
    if not exclude_same_mol:
        return 0, np.zeros(n, np.int64), np.zeros((n, 3), np.int64)
    if mol_ids is None:
        raise ValueError("excluding the own molecule needs mol_ids (one molecule id per atom)")
    mol_ids = np.ascontiguousarray(mol_ids, dtype=np.int64)
    if mol_ids.shape != (n,):
        raise ValueError(f"mol_ids must have shape ({n},), got {mol_ids.shape}")
    if mol_shifts is None:
        try:
            return 1, mol_ids, molecule_shifts(grid.cell, grid.cart, mol_ids)
        except ValueError as exc:
            raise ValueError(f"excluding the own molecule: {exc}; mol_ids must label bonded molecules, "
                             "or pass mol_shifts (the translations that make each molecule whole)") from None
    mol_shifts = np.asarray(mol_shifts)
    if mol_shifts.shape != (n, 3) or not np.array_equal(mol_shifts, np.rint(mol_shifts)):
        raise ValueError(f"mol_shifts must be integer lattice translations of shape ({n}, 3)")
    # translations relative to the wrapped positions the kernels use
    return 1, mol_ids, np.ascontiguousarray(mol_shifts.astype(np.int64) - grid.wrap_shift)


def neighbour_list(cell, positions, cutoff: float, centres=None, mol_ids=None,
                   exclude_same_mol: bool = False, mol_shifts=None):
    """Periodic neighbour list of ``centres`` (default: all atoms).

    Returns ``(offsets, j, shifts, vectors, distances)``: the neighbours of
    ``centres[c]`` are rows ``offsets[c]:offsets[c + 1]``; ``shifts`` are the
    integer translations of ``j``'s image relative to the input positions;
    ``vectors = r_j + shift @ cell - r_i`` in Å.

    ``exclude_same_mol`` leaves out the centre's own molecule instance (the
    atoms with its ``mol_ids`` in the images that make it whole); its periodic
    images are other molecules and stay.  ``mol_shifts`` ((n, 3) int, the
    translations that make each molecule whole: ``positions + mol_shifts @
    cell``) default to :func:`molecule_shifts` of ``mol_ids``.
    """
    grid = PeriodicGrid(cell, positions, cutoff)
    n = grid.frac.shape[0]
    centres = np.arange(n, dtype=np.int64) if centres is None else np.ascontiguousarray(centres, dtype=np.int64)
    mode, mol_ids, mol_shift = exclusion_arrays(grid, mol_ids, mol_shifts, exclude_same_mol)
    counts, nj, ns, nv, nr = _neighbour_list(grid.cart, grid.frac, grid.cell, grid.m, grid.bin_start,
                                             grid.bin_atoms, grid.bin_cart, grid.reach, grid.cutoff, mol_ids,
                                             mol_shift, mode, centres)
    # express shifts relative to the input (unwrapped) positions
    ns = ns + grid.wrap_shift[nj] - grid.wrap_shift[np.repeat(centres, np.diff(counts))]
    return counts, nj, ns, nv, nr


def molecule_shifts(cell, positions, mol_ids, max_bond: float = 2.2) -> np.ndarray:
    """Integer translations that make every molecule whole.

    For each molecule (atoms sharing a ``mol_ids`` value) atoms are attached
    one at a time, each at the periodic image nearest to the atoms already
    placed (a spanning tree of shortest contacts, starting from the molecule's
    first atom), so ``positions + shifts @ cell`` holds whole molecules.
    Raises ValueError if some atom is farther than ``max_bond`` Å from the rest
    of its molecule (not a molecule, or wrong ids).  (n, 3) int64.
    """
    cell, inv, positions = check_geometry(cell, positions, max_bond)
    mol_ids = np.asarray(mol_ids)
    shifts = np.zeros((len(positions), 3), np.int64)
    # translations within reach of a bond, whatever the cell
    reach = np.ceil(max_bond * np.linalg.norm(inv, axis=0)).astype(int) + 1
    grid = np.array(np.meshgrid(*[np.arange(-k, k + 1) for k in reach], indexing="ij")).reshape(3, -1).T
    for mid in np.unique(mol_ids):
        atoms = np.flatnonzero(mol_ids == mid)
        placed = [atoms[0]]
        todo = list(atoms[1:])
        placed_pos = [positions[atoms[0]]]
        while todo:
            # nearest (placed, todo, image) contact
            P = np.array(placed_pos)
            best = (np.inf, None, None)
            for t in todo:
                base = positions[t] - np.rint((positions[t] - P[0]) @ inv) @ cell
                cand = base[None, :] + grid @ cell  # images around the first placed atom
                d = np.linalg.norm(cand[:, None, :] - P[None, :, :], axis=2).min(axis=1)
                k = int(np.argmin(d))
                if d[k] < best[0]:
                    best = (d[k], t, cand[k])
            dist, t, pos = best
            if dist > max_bond:
                raise ValueError(f"atom {t} is {dist:.2f} Å from the rest of molecule {mid}: not a molecule")
            shifts[t] = np.rint((pos - positions[t]) @ inv).astype(np.int64)
            placed.append(t)
            placed_pos.append(pos)
            todo.remove(t)
    return shifts
