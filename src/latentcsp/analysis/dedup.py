"""Near-duplicate removal by descriptor distance.

CSP landscapes hold the same crystal found several times (from different
starting points, slightly differently minimised). Exact or near duplicates give
zero or tiny nearest-neighbour distances, which break nearest-neighbour
intrinsic-dimension estimators (TwoNN's ratio r2/r1, MLE's log-distances), so
they are removed before the analysis.

Algorithm (greedy leader clustering, deterministic): visit structures in order
of increasing energy (ties and missing energies: input order; without energies:
input order); keep a structure unless it lies within ``tol`` of a structure
already kept, in which case it is removed and recorded as a duplicate of that
(lowest-energy) representative. Kept structures are therefore pairwise more than
``tol`` apart, and every removed structure is within ``tol`` of its
representative.

Distance: Euclidean between descriptor vectors (``distance="euclidean"``), or
the root-mean-square difference per element (``distance="rms"``, Euclidean
divided by sqrt(n_features)), which makes one tolerance usable across
descriptor sets of different lengths.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.neighbors import NearestNeighbors

__all__ = ["DedupResult", "dedup"]


@dataclass
class DedupResult:
    """Outcome of :func:`dedup`.

    ``kept``: indices of the kept rows, increasing; ``representative``: for every
    input row the index of the kept row standing for it (itself when kept).
    """

    kept: np.ndarray
    n_removed: int
    representative: np.ndarray
    tol: float
    distance: str

    @property
    def removed(self) -> np.ndarray:
        return np.flatnonzero(self.representative != np.arange(len(self.representative)))

    def __iter__(self):  # ``kept, n_removed = dedup(...)``
        yield self.kept
        yield self.n_removed

    def to_dict(self) -> dict:
        return {
            "n_input": int(len(self.representative)),
            "n_kept": int(len(self.kept)),
            "n_removed": int(self.n_removed),
            "tol": float(self.tol),
            "distance": self.distance,
        }


def dedup(X, tol: float, energies=None, distance: str = "euclidean") -> DedupResult:
    """Remove near-duplicate rows of ``X`` (n_samples x n_features).

    Parameters
    ----------
    tol
        Rows within this distance (inclusive) of a kept row are duplicates;
        ``tol=0`` removes exact duplicates only.
    energies
        Optional per-row energies; the lowest-energy member of each cluster is
        kept. NaN energies count as highest.
    distance
        ``"euclidean"`` or ``"rms"`` (see module docstring).
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"expected a 2-d array, got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("descriptor matrix contains NaN or infinite values")
    if not np.isfinite(tol) or tol < 0:
        raise ValueError(f"tol must be a finite number >= 0, got {tol!r}")
    if distance not in ("euclidean", "rms"):
        raise ValueError(f"distance must be 'euclidean' or 'rms', got {distance!r}")
    n = len(X)
    if n == 0:
        return DedupResult(np.zeros(0, dtype=int), 0, np.zeros(0, dtype=int), float(tol), distance)

    radius = float(tol) * (np.sqrt(X.shape[1]) if distance == "rms" else 1.0)
    if energies is None:
        order = np.arange(n)
    else:
        e = np.asarray(energies, dtype=np.float64).ravel()
        if e.shape != (n,):
            raise ValueError(f"energies has {e.size} values for {n} rows")
        e = np.where(np.isnan(e), np.inf, e)
        order = np.argsort(e, kind="stable")

    # Neighbour lists within the radius (inclusive), computed once. The brute-force
    # search uses |x|^2 + |y|^2 - 2 x.y, whose rounding error can hide an exact
    # duplicate behind a distance of ~1e-7 |x|; search a slightly larger ball and
    # confirm every candidate with the exact difference.
    slack_sq = 1e3 * np.finfo(float).eps * 2.0 * float(np.max(np.einsum("ij,ij->i", X, X)))
    search = np.sqrt(radius**2 + slack_sq)
    nn = NearestNeighbors(radius=search, algorithm="brute").fit(X)
    candidates = nn.radius_neighbors(X, return_distance=False)
    neighbours = []
    for i, cand in enumerate(candidates):
        if cand.size:
            d = np.sqrt(np.sum((X[cand] - X[i]) ** 2, axis=1))
            cand = cand[d <= radius]
        neighbours.append(cand)

    representative = np.full(n, -1, dtype=int)
    for i in order:
        if representative[i] >= 0:
            continue
        representative[i] = i
        nb = neighbours[i]
        free = nb[representative[nb] < 0]
        representative[free] = i
    kept = np.flatnonzero(representative == np.arange(n))
    return DedupResult(kept, int(n - len(kept)), representative, float(tol), distance)
