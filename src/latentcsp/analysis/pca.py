"""PCA spectrum of a group of descriptor vectors.

``spectrum(X)`` gives what the report needs about one group (landscape x
window x space group): the eigenvalues of the covariance matrix, their
explained-variance ratios and cumulative curve, the number of components that
reach each configured threshold (80 % by default, the seed's Table 3), the
elbow of the spectrum (:mod:`latentcsp.analysis.elbow`) and the PC1/PC2
scores for the maps.

Preprocessing (:func:`preprocess`): columns with zero variance are dropped
(their count is recorded: descriptor sets contain elements absent from a
molecule, and standardising them would divide by zero); by default the
remaining columns are standardised to unit variance (PCA on the correlation
matrix), so no symmetry function dominates by its units. ``standardize=False``
runs PCA on the raw (centred) descriptors, as the seed did.

Solvers: ``"auto"`` computes the full spectrum exactly (scikit-learn's PCA, which
picks LAPACK SVD or an eigendecomposition of the covariance matrix) while
``min(n_samples, n_features) <= exact_limit``, and otherwise a randomized SVD of
the leading ``max_components`` components; ``"incremental"`` uses
IncrementalPCA in batches for data too large for memory. Ratios always refer to
the total variance of the (preprocessed) data, so a truncated spectrum still
gives correct threshold counts when the threshold is reached; otherwise the
count is ``None`` and ``truncated`` is true.

With fewer samples than features the covariance matrix has rank at most
``n_samples - 1``; the spectrum is cut there and ``rank`` reports the numerical
rank (eigenvalues above ``max(n, p) * eps`` times the largest).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from sklearn.decomposition import PCA, IncrementalPCA

from .elbow import elbow as _elbow

__all__ = ["Spectrum", "preprocess", "spectrum", "scores", "threshold_key"]

SOLVERS = ("auto", "full", "covariance_eigh", "randomized", "incremental")


def threshold_key(t: float) -> str:
    """JSON key of a threshold: 0.8 -> '0.8'."""
    return f"{float(t):g}"


def _as_matrix(X) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"expected a 2-d array (n_samples, n_features), got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("descriptor matrix contains NaN or infinite values")
    return X


def preprocess(X, standardize: bool = True, const_tol: float = 1e-6) -> tuple[np.ndarray, dict]:
    """Drop constant columns and optionally standardise; returns (Z, info).

    A column counts as constant when its standard deviation is at most
    ``const_tol`` times the largest column's (or exactly zero).  Symmetry
    functions of distant shells hold "dust" (values ~1e-40 that vary by
    ~1e-41); judged against their own size they would look alive and
    standardising would give them the same weight as a real contact.  ``info`` holds
    ``n_features_in``, ``n_features``, ``n_constant_dropped``, ``standardized``
    and ``kept_columns`` (indices into the input columns). Z is centred.
    """
    X = _as_matrix(X)
    n, p = X.shape
    mean = X.mean(axis=0) if n else np.zeros(p)
    Xc = X - mean
    std = Xc.std(axis=0) if n else np.zeros(p)
    keep = (std > const_tol * std.max()) & (std > 0) if p else np.zeros(0, dtype=bool)
    Z = Xc[:, keep]
    if standardize and Z.shape[1]:
        Z = Z / std[keep]
    info = {
        "n_features_in": int(p),
        "n_features": int(keep.sum()),
        "n_constant_dropped": int(p - keep.sum()),
        "standardized": bool(standardize),
        "kept_columns": np.flatnonzero(keep),
    }
    return Z, info


@dataclass
class Spectrum:
    """PCA spectrum of one group. ``to_dict()`` is the content of ``pca.json``."""

    n_samples: int
    n_features_in: int
    n_features: int
    n_constant_dropped: int
    standardized: bool
    solver: str
    rank: int
    total_variance: float
    eigenvalues: np.ndarray
    explained_variance_ratio: np.ndarray
    cumulative: np.ndarray
    thresholds: tuple[float, ...]
    n_components: dict[str, int | None]
    elbow: int | None
    elbow_scale: str
    truncated: bool
    scores: np.ndarray | None = field(default=None, repr=False)

    def n_for(self, threshold: float) -> int | None:
        """Components needed to reach ``threshold`` of the variance."""
        return self.n_components[threshold_key(threshold)]

    def to_dict(self) -> dict:
        """Plain JSON-serialisable dict (scores excluded: they go to scores.csv)."""
        return {
            "n_samples": int(self.n_samples),
            "n_features_in": int(self.n_features_in),
            "n_features": int(self.n_features),
            "n_constant_dropped": int(self.n_constant_dropped),
            "standardized": bool(self.standardized),
            "solver": self.solver,
            "rank": int(self.rank),
            "total_variance": float(self.total_variance),
            "eigenvalues": [float(v) for v in self.eigenvalues],
            "explained_variance_ratio": [float(v) for v in self.explained_variance_ratio],
            "cumulative": [float(v) for v in self.cumulative],
            "thresholds": [float(t) for t in self.thresholds],
            "n_components": {k: (None if v is None else int(v)) for k, v in self.n_components.items()},
            "elbow": None if self.elbow is None else int(self.elbow),
            "elbow_scale": self.elbow_scale,
            "truncated": bool(self.truncated),
        }


def _fix_signs(components: np.ndarray) -> np.ndarray:
    """+1/-1 per component so that its largest-magnitude loading is positive."""
    idx = np.argmax(np.abs(components), axis=1)
    signs = np.sign(components[np.arange(len(components)), idx])
    signs[signs == 0] = 1.0
    return signs


def spectrum(
    X,
    standardize: bool = True,
    thresholds: Sequence[float] = (0.8,),
    svd_solver: str = "auto",
    *,
    n_scores: int = 2,
    max_components: int = 256,
    exact_limit: int = 3000,
    batch_size: int | None = None,
    elbow_scale: str = "linear",
    random_state: int = 0,
) -> Spectrum:
    """PCA spectrum of ``X`` (n_samples x n_features).

    Parameters
    ----------
    standardize
        Standardise columns (correlation-matrix PCA) after dropping constant ones.
    thresholds
        Cumulative explained-variance fractions in (0, 1]; ``n_components`` has
        one entry per threshold, keyed by :func:`threshold_key`.
    svd_solver
        ``"auto"``, ``"full"``, ``"covariance_eigh"``, ``"randomized"`` or
        ``"incremental"``; see the module docstring.
    n_scores
        Number of leading PC scores to keep in ``Spectrum.scores`` (0 for none).
    max_components
        Components computed by the randomized and incremental solvers.
    exact_limit
        ``"auto"`` switches to randomized SVD above this ``min(n, p)``.
    batch_size
        IncrementalPCA batch size (default ``max(5 * n_components, 1000)``).
    elbow_scale
        Scale of the elbow search, ``"linear"`` or ``"log"``.
    random_state
        Seed of the randomized solver.
    """
    if svd_solver not in SOLVERS:
        raise ValueError(f"svd_solver must be one of {SOLVERS}, got {svd_solver!r}")
    thresholds = tuple(float(t) for t in thresholds)
    for t in thresholds:
        if not 0 < t <= 1:
            raise ValueError(f"variance thresholds must be in (0, 1], got {t}")
    Z, info = preprocess(X, standardize=standardize)
    n, p = Z.shape
    if n < 2:
        raise ValueError(f"PCA needs at least 2 samples, got {n}")

    q = min(n - 1, p)  # largest possible rank of the centred data
    base = dict(
        n_samples=n,
        n_features_in=info["n_features_in"],
        n_features=p,
        n_constant_dropped=info["n_constant_dropped"],
        standardized=bool(standardize),
        thresholds=thresholds,
        elbow_scale=elbow_scale,
    )
    if q == 0:  # every column constant: nothing varies
        return Spectrum(
            solver="none", rank=0, total_variance=0.0,
            eigenvalues=np.zeros(0), explained_variance_ratio=np.zeros(0), cumulative=np.zeros(0),
            n_components={threshold_key(t): None for t in thresholds}, elbow=None, truncated=False,
            scores=np.zeros((n, 0)) if n_scores else None, **base,
        )

    solver = svd_solver
    if solver == "auto":
        solver = "exact" if min(n, p) <= exact_limit else "randomized"
    k_trunc = max(1, min(max_components, q))
    if solver in ("exact", "full", "covariance_eigh"):
        model = PCA(n_components=None, svd_solver="auto" if solver == "exact" else solver)
        model.fit(Z)
        solver_used = f"exact ({model._fit_svd_solver})" if hasattr(model, "_fit_svd_solver") else "exact"
    elif solver == "randomized":
        model = PCA(n_components=k_trunc, svd_solver="randomized", random_state=random_state)
        model.fit(Z)
        solver_used = "randomized"
    else:
        bs = batch_size or max(5 * k_trunc, 1000)
        bs = max(bs, k_trunc)
        model = IncrementalPCA(n_components=k_trunc, batch_size=bs)
        model.fit(Z)
        solver_used = "incremental"

    eig = np.clip(np.asarray(model.explained_variance_, dtype=float)[:q], 0.0, None)
    total = float(Z.var(axis=0, ddof=1).sum())
    ratio = eig / total if total > 0 else np.zeros_like(eig)
    cum = np.cumsum(ratio)
    truncated = len(eig) < q
    tol = eig.max() * max(n, p) * np.finfo(float).eps if eig.size else 0.0
    rank = int(np.sum(eig > tol))
    ncomp: dict[str, int | None] = {}
    for t in thresholds:
        hit = np.flatnonzero(cum >= t - 1e-12)
        ncomp[threshold_key(t)] = int(hit[0]) + 1 if hit.size else (None if truncated else int(len(cum)))
    elb = _elbow(eig[:rank], scale=elbow_scale) if rank >= 1 else None

    sc = None
    if n_scores:
        comps = np.asarray(model.components_)[: min(n_scores, len(eig))]
        signs = _fix_signs(comps)
        sc = (Z - Z.mean(axis=0)) @ (comps * signs[:, None]).T
    return Spectrum(
        solver=solver_used, rank=rank, total_variance=total, eigenvalues=eig,
        explained_variance_ratio=ratio, cumulative=cum, n_components=ncomp, elbow=elb,
        truncated=truncated, scores=sc, **base,
    )


def scores(X, n: int = 2, standardize: bool = True, **kwargs) -> np.ndarray:
    """Leading ``n`` principal-component scores of X, shape (n_samples, n).

    Signs are fixed so the largest-magnitude loading of each component is
    positive (reproducible across solvers and reruns).
    """
    if n < 1:
        raise ValueError("n must be >= 1")
    return spectrum(X, standardize=standardize, n_scores=n, **kwargs).scores
