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

What the counts measure. With fewer structures than features the threshold
count and the elbow grow with the number of structures n (ROY subsampled to
30, 60, 120 and 264 structures: standardized n(80 %) 13, 19, 28, 34), because
each added structure adds a direction of variance. Three measures say how far
a count is set by n rather than by the landscape:

* ``sample_limited``: n(t) >= (n - 1) / 2, the count reaches half the largest
  possible rank;
* :func:`fixed_size`: the counts and the elbow on seeded random subsamples of
  one fixed size m for every group (mean and spread), so groups of different n
  compare at the same n;
* ``noise_null`` (:func:`parallel_analysis`): Horn's parallel analysis, the
  number of leading components whose eigenvalue exceeds the 95th percentile of
  the same eigenvalue of the data with every column permuted independently
  (each descriptor keeps its distribution, the correlations between them are
  destroyed): the components distinguishable from uncorrelated noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np
from scipy import linalg
from sklearn.decomposition import PCA, IncrementalPCA

from .elbow import elbow as _elbow

__all__ = ["Spectrum", "preprocess", "spectrum", "scores", "threshold_key", "covariance_eigenvalues",
           "parallel_analysis", "fixed_size", "Moments", "moments", "streamed_spectrum"]

SOLVERS = ("auto", "full", "covariance_eigh", "randomized", "incremental")


def threshold_key(t: float) -> str:
    """JSON key of a threshold: 0.8 -> '0.8'."""
    return f"{float(t):g}"


def check_matrix(X, n_features: int | None = None) -> np.ndarray:
    """``X`` as a finite float64 (structures × features) matrix; ValueError otherwise
    (also when ``n_features`` is given and X has another number of columns)."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"expected a 2-d array (structures × features), got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("descriptor matrix contains NaN or infinite values")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"X has {X.shape[1]} features, the model was fitted on {n_features}")
    return X


def informative_columns(std, const_tol: float = 1e-6) -> np.ndarray:
    """(d,) bool: the columns whose standard deviation ``std`` exceeds ``const_tol`` times the largest (and 0).

    The one rule for constant descriptor columns: the others are dropped, by
    PCA here and by the autoencoders (:func:`latentcsp.latent.autoencoder.feature_scale`).
    Symmetry functions of distant shells hold "dust" (values ~1e-40 that vary by
    ~1e-41); judged against their own size they would look alive, and
    standardising would give them the same weight as a real contact.
    """
    std = np.asarray(std, dtype=np.float64)
    return (std > const_tol * std.max()) & (std > 0) if std.size else np.zeros(0, dtype=bool)


def preprocess(X, standardize: bool = True, const_tol: float = 1e-6) -> tuple[np.ndarray, dict]:
    """Drop constant columns and optionally standardise; returns (Z, info).

    A column counts as constant when its standard deviation is at most
    ``const_tol`` times the largest column's (or exactly zero): see
    :func:`informative_columns`.  ``info`` holds
    ``n_features_in``, ``n_features``, ``n_constant_dropped``, ``standardized``
    and ``kept_columns`` (indices into the input columns). Z is centred.
    """
    X = check_matrix(X)
    n, p = X.shape
    mean = X.mean(axis=0) if n else np.zeros(p)
    Xc = X - mean
    std = Xc.std(axis=0) if n else np.zeros(p)
    keep = informative_columns(std, const_tol)
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
    noise_null: dict | None = None

    def n_for(self, threshold: float) -> int | None:
        """Components needed to reach ``threshold`` of the variance."""
        return self.n_components[threshold_key(threshold)]

    def sample_limited(self) -> dict[str, bool | None]:
        """Per threshold: the count is at least (n - 1) / 2, half the largest possible rank."""
        return {k: (None if v is None else bool(v >= (self.n_samples - 1) / 2))
                for k, v in self.n_components.items()}

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
            "sample_limited": self.sample_limited(),
            "noise_null": self.noise_null,
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
    null_permutations: int = 0,
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
        Seed of the randomized solver and of the permutations.
    null_permutations
        Permutations of :func:`parallel_analysis` (``Spectrum.noise_null``);
        0 (default) skips it.
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
    ratio, cum, rank, ncomp, elb, truncated = _counts(eig, total, n, p, q, thresholds, elbow_scale)
    null = parallel_analysis(Z, eig, null_permutations, seed=random_state) if null_permutations else None

    sc = None
    if n_scores:
        comps = np.asarray(model.components_)[: min(n_scores, len(eig))]
        signs = _fix_signs(comps)
        sc = (Z - Z.mean(axis=0)) @ (comps * signs[:, None]).T
    return Spectrum(
        solver=solver_used, rank=rank, total_variance=total, eigenvalues=eig,
        explained_variance_ratio=ratio, cumulative=cum, n_components=ncomp, elbow=elb,
        truncated=truncated, scores=sc, noise_null=null, **base,
    )


def _counts(eig: np.ndarray, total: float, n: int, p: int, q: int, thresholds, elbow_scale: str):
    """(ratio, cumulative, rank, counts per threshold, elbow, truncated) of eigenvalues ``eig``
    (largest first) of data with total variance ``total`` and largest possible rank ``q``."""
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
    return ratio, cum, rank, ncomp, elb, truncated


@dataclass
class Moments:
    """Column means and variances (ddof = 0) of ``n`` rows, float64."""

    n: int
    mean: np.ndarray
    var: np.ndarray

    def kept(self, const_tol: float = 1e-6) -> np.ndarray:
        """Columns that vary: :func:`preprocess`'s rule."""
        std = np.sqrt(self.var)
        return informative_columns(std, const_tol)


def moments(blocks: Iterable[np.ndarray]) -> Moments:
    """Column means and variances over row blocks (k_i, p), combined block by block in float64
    (Chan, Golub & LeVeque 1979: each block's sum of squared deviations about its own mean)."""
    n, mean, m2 = 0, None, None
    for block in blocks:
        b = np.asarray(block, dtype=np.float64)
        k = len(b)
        if not k:
            continue
        bmean = b.mean(axis=0)
        bm2 = ((b - bmean) ** 2).sum(axis=0)
        if mean is None:
            n, mean, m2 = k, bmean, bm2
            continue
        delta = bmean - mean
        total = n + k
        mean = mean + delta * (k / total)
        m2 = m2 + bm2 + delta**2 * (n * k / total)
        n = total
    if mean is None:
        raise ValueError("no rows")
    return Moments(n, mean, m2 / n)


def streamed_spectrum(
    blocks: Callable[[], Iterable[np.ndarray]],
    stats: Moments,
    standardize: bool = True,
    thresholds: Sequence[float] = (0.8,),
    *,
    n_scores: int = 2,
    max_components: int = 256,
    oversample: int = 16,
    power_iterations: int = 3,
    elbow_scale: str = "linear",
    random_state: int = 0,
) -> Spectrum:
    """PCA spectrum of rows too many to hold, streamed: :func:`spectrum`'s result for the leading
    ``max_components`` components.

    ``blocks()`` starts a pass over the rows (float32 blocks (k, p), the same order every
    time); ``stats`` are their :func:`moments`.  The rows are centred and (``standardize``)
    scaled on the fly with :func:`preprocess`'s rules, and the leading components found by
    randomized subspace iteration (Halko, Martinsson & Tropp 2011, Algorithm 4.4:
    ``max_components + oversample`` random directions, ``power_iterations`` power steps with
    re-orthonormalisation), 3 + 2 ``power_iterations`` passes over the rows, in float32
    arithmetic on the rows and float64 on the thin factors.  Eigenvalues well above the
    noise floor come out to about 1e-6 relative, those of a flat floor to a few per cent (the
    subspace iteration converges with the gaps between them; tests/test_analysis_streamed.py
    checks both against LAPACK), which leaves the counts and the elbow as the exact spectrum
    gives them.  Ratios refer to the exact total
    variance (from ``stats``); a threshold not reached within the computed components has the
    count None and ``truncated`` true.  Memory: one block and a few (n + p) x
    (``max_components`` + ``oversample``) float64 factors.
    """
    thresholds = tuple(float(t) for t in thresholds)
    n = stats.n
    keep = stats.kept()
    p = int(keep.sum())
    q = min(n - 1, p)
    if n < 2 or q < 1:
        raise ValueError(f"a streamed spectrum needs at least 2 rows and 1 varying column, got {n} and {p}")
    # Z = (X - 1 mean^T) S on the kept columns is never formed: each block is centred (in float32,
    # as the rows are stored) and multiplied by S W scattered into the kept rows of a (D, width)
    # matrix, so no column is copied; Z^T Q = S (X - 1 mean^T)^T Q on the kept rows.
    scale = 1.0 / np.sqrt(stats.var[keep]) if standardize else np.ones(p)
    shift = stats.mean.astype(np.float32)

    def centred():
        for b in blocks():
            yield np.subtract(b, shift, dtype=np.float32)

    def times(W):  # Z W, (n, width)
        full = np.zeros((len(keep), W.shape[1]), dtype=np.float32)
        full[keep] = scale[:, None] * W
        return np.concatenate([b @ full for b in centred()]).astype(np.float64)

    def transposed_times(Q):  # Z^T Q, (p, width)
        out, lo = np.zeros((len(keep), Q.shape[1])), 0
        for b in centred():
            out += b.T @ Q[lo:lo + len(b)].astype(np.float32)
            lo += len(b)
        return scale[:, None] * out[keep]

    k = min(max_components, q)
    width = min(k + oversample, q)
    omega = np.random.default_rng(random_state).standard_normal((p, width))

    Q = np.linalg.qr(times(omega))[0]
    for _ in range(power_iterations):
        W = np.linalg.qr(transposed_times(Q))[0]
        Q = np.linalg.qr(times(W))[0]
    Ub, sv, Vt = np.linalg.svd(transposed_times(Q).T, full_matrices=False)
    eig = np.clip(sv[:k] ** 2 / (n - 1), 0.0, None)
    total = float(p * n / (n - 1)) if standardize else float(stats.var[keep].sum() * n / (n - 1))
    ratio, cum, rank, ncomp, elb, truncated = _counts(eig, total, n, p, q, thresholds, elbow_scale)
    sc = None
    if n_scores:
        m = min(n_scores, k)
        signs = _fix_signs(Vt[:m])
        sc = (Q @ Ub[:, :m]) * (sv[:m] * signs)
    return Spectrum(
        n_samples=n, n_features_in=int(len(keep)), n_features=p, n_constant_dropped=int(len(keep) - p),
        standardized=bool(standardize), solver=f"randomized, streamed ({power_iterations} power iterations)",
        rank=rank, total_variance=total, eigenvalues=eig, explained_variance_ratio=ratio, cumulative=cum,
        thresholds=thresholds, n_components=ncomp, elbow=elb, elbow_scale=elbow_scale, truncated=truncated,
        scores=sc,
    )


def covariance_eigenvalues(Z, k: int | None = None) -> np.ndarray:
    """The ``k`` largest eigenvalues (default all ``min(n - 1, p)``) of the covariance
    (ddof = 1) of the centred matrix ``Z`` (n x p), largest first.

    Computed from the smaller of the n x n Gram matrix Z Zᵀ and the p x p
    matrix Zᵀ Z (they share their nonzero eigenvalues), in Z's precision.
    """
    Z = np.asarray(Z)
    n, p = Z.shape
    q = min(n - 1, p)
    k = q if k is None else min(int(k), q)
    if k <= 0:
        return np.zeros(0)
    G = Z @ Z.T if p >= n else Z.T @ Z
    m = G.shape[0]
    ev = linalg.eigh(G, eigvals_only=True, subset_by_index=[m - k, m - 1])[::-1]
    return np.clip(ev.astype(np.float64) / (n - 1), 0.0, None)


def parallel_analysis(Z, eigenvalues, n_permutations: int = 20, quantile: float = 0.95, seed: int = 0) -> dict:
    """Horn's parallel analysis (Horn 1965; the 95th-percentile rule of Glorfeld 1995).

    ``Z`` (n x p) is the preprocessed (centred, optionally standardized) data
    and ``eigenvalues`` its covariance eigenvalues, largest first. Every column
    of Z is permuted independently ``n_permutations`` times (float32; each
    descriptor keeps its values, their correlations are destroyed) and the
    eigenvalues of each permuted copy computed (:func:`covariance_eigenvalues`).
    The count is the number of leading components whose eigenvalue exceeds the
    ``quantile`` of the null eigenvalue of the same rank: the components that
    uncorrelated descriptors of the same distributions would not produce at
    this n and p. It is a linear count: a curved manifold of low dimension
    spans many correlated directions, so the count can far exceed the
    manifold's dimension.

    Returns ``{"n_components", "n_permutations", "quantile", "seed",
    "null_eigenvalues"}``, the last one the null quantile of every rank in
    ``eigenvalues``.
    """
    if n_permutations < 1:
        raise ValueError("n_permutations must be >= 1")
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")
    lam = np.asarray(eigenvalues, dtype=np.float64)
    k = lam.size
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x9A]))
    Zt = np.ascontiguousarray(np.asarray(Z, dtype=np.float32).T)  # p x n: each column contiguous
    null = np.zeros((n_permutations, k))
    for b in range(n_permutations):
        perm = rng.permuted(Zt, axis=1)
        ev = covariance_eigenvalues(perm.T, k)
        null[b, : ev.size] = ev
    limit = np.quantile(null, quantile, axis=0)
    below = np.flatnonzero(~(lam > limit))
    count = int(below[0]) if below.size else int(k)
    return {"n_components": count, "n_permutations": int(n_permutations), "quantile": float(quantile),
            "seed": int(seed), "null_eigenvalues": [float(v) for v in limit]}


def fixed_size(X, size: int, repeats: int = 20, *, standardize: bool = True,
               thresholds: Sequence[float] = (0.8,), seed: int = 0) -> dict:
    """Threshold counts and elbow on ``repeats`` random subsets of ``size`` rows of ``X``.

    Each subset is drawn without replacement (seeded) and analysed exactly
    like a whole group (:func:`spectrum`: its own constant columns dropped,
    its own standardization). Groups of any n then compare at the same n.
    Returns ``{"size", "repeats", "seed", "reason", "n_components":
    {threshold: {"mean", "std", "min", "max"}}, "elbow": {...},
    "sample_limited": {threshold: mean >= (size - 1) / 2}}``; the summaries
    are None, with the reason, when X has fewer than ``size`` rows.
    """
    X = check_matrix(X)
    n = X.shape[0]
    if size < 3:
        raise ValueError(f"fixed subsample size must be >= 3, got {size}")
    if repeats < 1:
        raise ValueError("repeats must be >= 1")
    keys = [threshold_key(t) for t in thresholds]
    out = {"size": int(size), "repeats": int(repeats), "seed": int(seed), "reason": None,
           "n_components": {k: None for k in keys}, "elbow": None, "sample_limited": {k: None for k in keys}}
    if n < size:
        out["reason"] = f"group has {n} structures, fewer than the fixed size {size}"
        return out
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xF5]))
    counts = {k: [] for k in keys}
    elbows = []
    for _ in range(repeats):
        rows = np.sort(rng.choice(n, size, replace=False))
        s = spectrum(X[rows], standardize=standardize, thresholds=thresholds, n_scores=0)
        for k in keys:
            counts[k].append(s.n_components[k])
        elbows.append(s.elbow)
    out["n_components"] = {k: _spread(v) for k, v in counts.items()}
    out["elbow"] = _spread(elbows)
    out["sample_limited"] = {k: None if v is None else bool(v["mean"] >= (size - 1) / 2)
                             for k, v in out["n_components"].items()}
    return out


def _spread(values) -> dict | None:
    """Mean, sample standard deviation, min and max of the non-None values."""
    v = np.array([x for x in values if x is not None], dtype=float)
    if v.size == 0:
        return None
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if v.size > 1 else 0.0,
            "min": float(v.min()), "max": float(v.max())}


def scores(X, n: int = 2, standardize: bool = True, **kwargs) -> np.ndarray:
    """Leading ``n`` principal-component scores of X, shape (n_samples, n).

    Signs are fixed so the largest-magnitude loading of each component is
    positive (reproducible across solvers and reruns).
    """
    if n < 1:
        raise ValueError("n must be >= 1")
    return spectrum(X, standardize=standardize, n_scores=n, **kwargs).scores
