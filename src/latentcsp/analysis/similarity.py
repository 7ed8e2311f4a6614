"""Crystal similarity that does not use the symmetry-function descriptors.

The latent-space checks need an *independent* notion of "these two crystals are
alike", so that a good neighbourhood score is not just the descriptors agreeing
with themselves. We use the isometry invariants of Widdowson & Kurlin from the
``average-minimum-distance`` package (import name ``amd``; in the ``latent``
extra, imported lazily here):

* PDD, the pointwise distance distribution (Widdowson & Kurlin, NeurIPS 2022):
  for every atom of the motif, the sorted distances to its ``k`` nearest atoms
  in the infinite periodic crystal, rows weighted by multiplicity. Two PDDs are
  compared with the earth mover's distance (EMD) under the Chebyshev row
  metric, giving a continuous metric on crystals (0 only for isometric
  periodic sets, in generic position), independent of the unit cell and
  motif chosen.
* AMD, the average minimum distance (Widdowson et al., MATCH 2022): the
  weighted mean of the PDD rows, a vector of length ``k``, compared with the
  Chebyshev (L∞) distance; a cheap lower bound of the PDD EMD.

Structures come as arrays, as the structures store holds them: ``cell`` (3, 3)
in Å with lattice vectors as rows (ASE's convention, also amd's), ``positions``
(n_atoms, 3) Cartesian Å, ``numbers`` (n_atoms,) atomic numbers. Positions are
wrapped into the cell before the invariants are computed. Distances are in Å.

Cost: a PDD is milliseconds for a few hundred atoms at ``k = 100``; the
pairwise EMD matrix is O(N²) small transport problems (rows of a PDD collapse
by symmetry, so a Z' = 1 molecule with m atoms gives ~m rows, see
``DEFAULT_COLLAPSE_TOL``): ROY's 264 structures (27 atoms/molecule, k = 100)
take ~5 s for the PDDs and ~5 s for the EMD matrix on one core; the EMD cost
grows as N².
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import numpy as np
from scipy.spatial.distance import squareform

__all__ = [
    "periodic_set",
    "pdd",
    "amd_vector",
    "pdds",
    "pdd_distance_matrix",
    "amd_distance_matrix",
    "iter_structures",
]

DEFAULT_K = 100
#: Rows of a PDD closer than this (Chebyshev, Å) are merged. amd's default is
#: 1e-4 Å, but CSP files store coordinates to ~1e-4 Å, so symmetry-equivalent
#: atoms then stay apart and a Z = 4 cell gives 4x the rows (and ~16x the EMD
#: cost) of its asymmetric unit. 1e-3 Å is far below any physical difference
#: and collapses them (ROY: 83 -> 29 rows on average, EMD matrix ~9x faster).
DEFAULT_COLLAPSE_TOL = 1e-3


def _amd():
    try:
        import amd  # noqa: PLC0415  (lazy: optional dependency)
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "crystal similarity needs the 'average-minimum-distance' package: "
            "pip install 'latentcsp[latent]'"
        ) from exc
    return amd


def periodic_set(cell, positions, numbers=None, *, remove_hydrogens: bool = False, name=None):
    """An ``amd.PeriodicSet`` from a cell (3, 3) Å (rows = lattice vectors), Cartesian positions (n, 3) Å.

    ``numbers`` (atomic numbers) are stored as the set's types and are needed
    for ``remove_hydrogens``. Positions are wrapped into the cell.
    """
    amd = _amd()
    cell = np.asarray(cell, dtype=np.float64).reshape(3, 3)
    positions = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    if abs(np.linalg.det(cell)) < 1e-8:
        raise ValueError("cell is singular")
    if numbers is not None:
        numbers = np.asarray(numbers, dtype=np.int64).reshape(-1)
        if numbers.shape[0] != positions.shape[0]:
            raise ValueError("numbers and positions have different lengths")
        if remove_hydrogens:
            keep = numbers != 1
            positions, numbers = positions[keep], numbers[keep]
    elif remove_hydrogens:
        raise ValueError("remove_hydrogens needs atomic numbers")
    if positions.shape[0] == 0:
        raise ValueError("no atoms")
    frac = np.linalg.solve(cell.T, positions.T).T
    frac -= np.floor(frac)
    frac[frac >= 1.0] = 0.0  # -1e-17 wraps to 1.0 in floating point
    motif = frac @ cell
    kwargs = {"name": name}
    if numbers is not None:
        kwargs["types"] = numbers
    return amd.PeriodicSet(motif, cell, **kwargs)


def pdd(cell, positions, numbers=None, *, k: int = DEFAULT_K, remove_hydrogens: bool = False,
        collapse_tol: float = DEFAULT_COLLAPSE_TOL) -> np.ndarray:
    """PDD of one crystal: ``(rows, k + 1)`` array, column 0 = weights (sum 1), then distances in Å."""
    return _amd().PDD(periodic_set(cell, positions, numbers, remove_hydrogens=remove_hydrogens), k,
                      collapse_tol=collapse_tol)


def amd_vector(cell, positions, numbers=None, *, k: int = DEFAULT_K, remove_hydrogens: bool = False) -> np.ndarray:
    """AMD of one crystal: ``(k,)`` average distances to the 1st..k-th neighbours, Å."""
    return _amd().AMD(periodic_set(cell, positions, numbers, remove_hydrogens=remove_hydrogens), k)


def iter_structures(structures) -> Iterable[tuple]:
    """Normalise the accepted structure containers to ``(cell, positions, numbers)`` triples.

    Accepts a sequence of ``(cell, positions[, numbers])`` tuples, a sequence of
    mappings with keys ``cell``, ``positions`` and optionally ``numbers``, or one
    mapping of parallel sequences ``{"cell": [...], "positions": [...],
    "numbers": [...]}`` (``cell`` may then be an ``(N, 3, 3)`` array).
    """
    if isinstance(structures, Mapping):
        cells = structures["cell"]
        positions = structures["positions"]
        numbers = structures.get("numbers")
        if len(cells) != len(positions) or (numbers is not None and len(numbers) != len(cells)):
            raise ValueError("cell, positions and numbers have different lengths")
        for i in range(len(cells)):
            yield cells[i], positions[i], None if numbers is None else numbers[i]
        return
    for s in structures:
        if isinstance(s, Mapping):
            yield s["cell"], s["positions"], s.get("numbers")
        else:
            s = tuple(s)
            yield s[0], s[1], s[2] if len(s) > 2 else None


def pdds(structures, *, k: int = DEFAULT_K, remove_hydrogens: bool = False,
         collapse_tol: float = DEFAULT_COLLAPSE_TOL) -> list[np.ndarray]:
    """PDDs of many crystals (see :func:`iter_structures` for the accepted containers)."""
    return [pdd(c, p, z, k=k, remove_hydrogens=remove_hydrogens, collapse_tol=collapse_tol)
            for c, p, z in iter_structures(structures)]


def pdd_distance_matrix(structures=None, *, pdd_list: Sequence[np.ndarray] | None = None,
                        k: int = DEFAULT_K, remove_hydrogens: bool = False,
                        collapse_tol: float = DEFAULT_COLLAPSE_TOL,
                        n_jobs: int | None = None) -> np.ndarray:
    """Square ``(N, N)`` matrix of PDD earth mover's distances (Chebyshev rows), Å.

    Give either ``structures`` (computed with :func:`pdds`) or precomputed
    ``pdd_list``. For a pipeline, compute the matrix once per landscape and
    take sub-matrices for its groups (``D[np.ix_(idx, idx)]``): the EMD is the
    expensive part. ``n_jobs > 1`` uses amd's joblib parallelism (guard the
    caller with ``if __name__ == "__main__"`` when it is a script).
    """
    amd = _amd()
    if pdd_list is None:
        if structures is None:
            raise ValueError("give structures or pdd_list")
        pdd_list = pdds(structures, k=k, remove_hydrogens=remove_hydrogens, collapse_tol=collapse_tol)
    pdd_list = list(pdd_list)
    if len(pdd_list) < 2:
        return np.zeros((len(pdd_list), len(pdd_list)))
    cdm = amd.PDD_pdist(pdd_list, n_jobs=n_jobs)
    return squareform(np.asarray(cdm, dtype=np.float64))


def amd_distance_matrix(structures=None, *, amd_array=None, k: int = DEFAULT_K,
                        remove_hydrogens: bool = False) -> np.ndarray:
    """Square ``(N, N)`` matrix of AMD Chebyshev distances, Å (a lower bound of the PDD EMD)."""
    amd = _amd()
    if amd_array is None:
        if structures is None:
            raise ValueError("give structures or amd_array")
        amd_array = np.array([amd_vector(c, p, z, k=k, remove_hydrogens=remove_hydrogens)
                              for c, p, z in iter_structures(structures)])
    amd_array = np.asarray(amd_array, dtype=np.float64)
    if amd_array.shape[0] < 2:
        return np.zeros((amd_array.shape[0], amd_array.shape[0]))
    return squareform(np.asarray(amd.AMD_pdist(amd_array), dtype=np.float64))
