"""Neighbourhood preservation between two representations of the same structures.

Every function compares two *spaces* A and B over the same ``n`` structures, in
the same order. A space is given either as a feature matrix (``(n, p)``, or
``(n,)`` for a scalar property such as energy or density), compared with the
Euclidean distance, or as a precomputed square distance matrix (``(n, n)``,
symmetric, zero diagonal), selected with ``metric_a="precomputed"`` /
``metric_b="precomputed"``. Any :func:`scipy.spatial.distance.cdist` metric
name is accepted for feature matrices.

Metrics (``k`` neighbours, self excluded):

``trustworthiness(high, low)``
    Venna & Kaski (2001), as :func:`sklearn.manifold.trustworthiness`:
    penalises points that are neighbours in the *low* (embedded) space but not
    in the *high* (original) space, by how far down the original ranking they
    are. 1 = every embedded neighbour is a true neighbour; ~0.5 for a random
    embedding. The implementation here reproduces scikit-learn's value exactly
    (tested) but also accepts a precomputed distance matrix for the embedded
    space, which scikit-learn does not, and which continuity needs.
``continuity(high, low)``
    Trustworthiness with the spaces swapped: penalises true neighbours that the
    embedding tears apart.
``knn_overlap(a, b)``
    Mean fraction of the ``k`` nearest neighbours shared by both spaces. 1 for
    the identity; ``k / (n - 1)`` expected for unrelated spaces
    (:func:`knn_overlap_chance`).
``information_imbalance(a, b)``
    Glielmo, Zeni, Cheng, Csányi & Laio, "Ranking the information content of
    distance measures", PNAS Nexus 1, pgac039 (2022):
    ``Δ(A→B) = 2/N ⟨r^B | r^A = 1⟩``, the mean rank in B of each point's
    nearest neighbour in A, scaled so that ~0 means A predicts B's
    neighbourhoods perfectly and ~1 means A carries no information about B.
    ``Δ(A→B)`` small and ``Δ(B→A)`` large means A is more informative than B.
    With ``k > 1`` the mean is taken over the ``k`` nearest neighbours in A
    (then the identity gives ``(k + 1)/N``, not ``2/N``).

Ties (e.g. equal energies) are broken by index in the neighbour lists; ranks
used by the information imbalance give tied points their average rank.

:func:`compare_spaces` bundles all metrics for one pair of spaces into a
JSON-serialisable dict. All functions are O(n² log n) in time and O(n²) in
memory: fine for the group sizes here (up to a few thousand structures).
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
from scipy.spatial.distance import cdist
from scipy.stats import rankdata

__all__ = [
    "distance_matrix",
    "trustworthiness",
    "continuity",
    "knn_overlap",
    "knn_overlap_chance",
    "information_imbalance",
    "compare_spaces",
    "max_neighbours",
]


def distance_matrix(X, metric: str = "euclidean") -> np.ndarray:
    """Square distance matrix of a space.

    ``X``: ``(n,)`` or ``(n, p)`` features, or an ``(n, n)`` distance matrix
    when ``metric == "precomputed"`` (checked for shape, returned as float64).
    """
    X = np.asarray(X, dtype=np.float64)
    if metric == "precomputed":
        if X.ndim != 2 or X.shape[0] != X.shape[1]:
            raise ValueError(f"precomputed distances must be square, got shape {X.shape}")
        if not np.all(np.isfinite(X)):
            raise ValueError("precomputed distances contain NaN or inf")
        return X
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise ValueError(f"features must be 1-d or 2-d, got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("features contain NaN or inf")
    return cdist(X, X, metric=metric)


def max_neighbours(n: int) -> int:
    """Largest ``k`` valid for trustworthiness/continuity on ``n`` points (k < n/2)."""
    return max(0, (n - 1) // 2)


def _neighbour_order(D: np.ndarray) -> np.ndarray:
    """Row-wise neighbour indices sorted by distance, self first (stable: index breaks ties)."""
    D = D.copy()
    np.fill_diagonal(D, -np.inf)  # self always first, even with zero distances to duplicates
    return np.argsort(D, axis=1, kind="stable")


def _rank_matrix(order: np.ndarray) -> np.ndarray:
    """``R[i, j]`` = rank of j among i's neighbours (self = 0, nearest = 1)."""
    n = order.shape[0]
    R = np.empty_like(order)
    R[np.arange(n)[:, None], order] = np.arange(n)[None, :]
    return R


def _check_pair(Da: np.ndarray, Db: np.ndarray) -> int:
    if Da.shape != Db.shape:
        raise ValueError(f"spaces hold different numbers of points: {Da.shape[0]} vs {Db.shape[0]}")
    n = Da.shape[0]
    if n < 3:
        raise ValueError("need at least 3 points")
    return n


def _check_k(k: int, n: int, strict_half: bool) -> int:
    k = int(k)
    if k < 1:
        raise ValueError("k must be >= 1")
    if strict_half and k >= n / 2:
        raise ValueError(f"k ({k}) must be less than n/2 ({n / 2}); use max_neighbours(n)")
    if k > n - 1:
        raise ValueError(f"k ({k}) must be at most n - 1 ({n - 1})")
    return k


def _trustworthiness_from_distances(D_high: np.ndarray, D_low: np.ndarray, k: int) -> float:
    n = _check_pair(D_high, D_low)
    k = _check_k(k, n, strict_half=True)
    R_high = _rank_matrix(_neighbour_order(D_high))
    nn_low = _neighbour_order(D_low)[:, 1 : k + 1]
    ranks = R_high[np.arange(n)[:, None], nn_low] - k
    t = ranks[ranks > 0].sum()
    return float(1.0 - t * (2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0))))


def trustworthiness(high, low, k: int = 10, *, metric_high: str = "euclidean",
                    metric_low: str = "euclidean") -> float:
    """Trustworthiness of ``low`` as an embedding of ``high`` (1 = best, ~0.5 = random).

    Equals ``sklearn.manifold.trustworthiness(high, low, n_neighbors=k)`` for
    Euclidean feature matrices without distance ties. ``k < n/2``.
    """
    return _trustworthiness_from_distances(
        distance_matrix(high, metric_high), distance_matrix(low, metric_low), k
    )


def continuity(high, low, k: int = 10, *, metric_high: str = "euclidean",
               metric_low: str = "euclidean") -> float:
    """Continuity of ``low`` as an embedding of ``high``: trustworthiness with the spaces swapped."""
    return _trustworthiness_from_distances(
        distance_matrix(low, metric_low), distance_matrix(high, metric_high), k
    )


def knn_overlap(a, b, k: int = 10, *, metric_a: str = "euclidean",
                metric_b: str = "euclidean") -> float:
    """Mean fraction ``|N_k^A(i) ∩ N_k^B(i)| / k`` over all points (1 = identical neighbourhoods)."""
    Da, Db = distance_matrix(a, metric_a), distance_matrix(b, metric_b)
    n = _check_pair(Da, Db)
    k = _check_k(k, n, strict_half=False)
    na = _neighbour_order(Da)[:, 1 : k + 1]
    nb = _neighbour_order(Db)[:, 1 : k + 1]
    member = np.zeros((n, n), dtype=bool)
    member[np.arange(n)[:, None], nb] = True
    shared = member[np.arange(n)[:, None], na].sum(axis=1)
    return float(shared.mean() / k)


def knn_overlap_chance(n: int, k: int) -> float:
    """Expected :func:`knn_overlap` for two unrelated spaces: ``k / (n - 1)``."""
    return float(k / (n - 1))


def information_imbalance(a, b, k: int = 1, *, metric_a: str = "euclidean",
                          metric_b: str = "euclidean") -> float:
    """Information imbalance ``Δ(A→B) = 2/N ⟨r^B | r^A ≤ k⟩`` (Glielmo et al. 2022).

    ~0: A's neighbours are B's neighbours (A predicts B); ~1: no information.
    Ranks in B are 1-based with self excluded; tied distances share their
    average rank.
    """
    Da, Db = distance_matrix(a, metric_a), distance_matrix(b, metric_b)
    n = _check_pair(Da, Db)
    k = _check_k(k, n, strict_half=False)
    nn_a = _neighbour_order(Da)[:, 1 : k + 1]
    Db = Db.copy()
    np.fill_diagonal(Db, -np.inf)
    # rank 1 = self (-inf), so the nearest other point gets rank 2: subtract 1.
    R_b = rankdata(Db, axis=1, method="average") - 1.0
    r = R_b[np.arange(n)[:, None], nn_a]
    return float(2.0 / n * r.mean())


def compare_spaces(a, b, ks: Iterable[int] = (5, 10), *, metric_a: str = "euclidean",
                   metric_b: str = "euclidean", directional: bool = True) -> dict:
    """All neighbourhood metrics between space A (reference) and space B (e.g. an embedding).

    Returns a JSON-serialisable dict::

        {"n": n, "by_k": [{"k": k, "trustworthiness": ..., "continuity": ...,
                           "knn_overlap": ..., "knn_overlap_chance": ...}, ...],
         "imbalance_a_to_b": Δ(A→B), "imbalance_b_to_a": Δ(B→A)}

    ``trustworthiness`` treats A as the original space and B as the embedding.
    Each ``k`` is clipped to ``max_neighbours(n)``; duplicates after clipping
    are dropped, so ``"k"`` records what was used. ``directional=False`` skips
    trustworthiness/continuity (e.g. when neither space is an embedding of the
    other; they are then still symmetric counterparts of each other).
    """
    Da, Db = distance_matrix(a, metric_a), distance_matrix(b, metric_b)
    n = _check_pair(Da, Db)
    kmax = max_neighbours(n)
    used = sorted({min(int(k), kmax) for k in ks if int(k) >= 1 and kmax >= 1})
    by_k = []
    for k in used:
        row = {"k": k}
        if directional:
            row["trustworthiness"] = _trustworthiness_from_distances(Da, Db, k)
            row["continuity"] = _trustworthiness_from_distances(Db, Da, k)
        row["knn_overlap"] = knn_overlap(Da, Db, k, metric_a="precomputed", metric_b="precomputed")
        row["knn_overlap_chance"] = knn_overlap_chance(n, k)
        by_k.append(row)
    return {
        "n": int(n),
        "by_k": by_k,
        "imbalance_a_to_b": information_imbalance(Da, Db, metric_a="precomputed", metric_b="precomputed"),
        "imbalance_b_to_a": information_imbalance(Db, Da, metric_a="precomputed", metric_b="precomputed"),
    }
