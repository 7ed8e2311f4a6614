"""Sampling the latent space, decoding, and scoring how realistic the samples are.

Latent points come from the VAE's N(0, I) prior, or, for a plain autoencoder,
from a Gaussian mixture fitted to the encoded landscape (components chosen by
BIC). They are decoded to descriptor vectors and scored against the real
structures in the standardized descriptor space the models work in:

* ``landscape_nn``: for every real structure, the distance to its nearest
  *other* real structure: the typical spacing of the landscape;
* ``sample_nn``: for every sample, the distance to the nearest real structure;
* ``inside_support``: the fraction of samples whose ``sample_nn`` is at most
  the ``percentile``-th (default 95th) percentile of ``landscape_nn``, i.e.
  samples no farther from the landscape than 95 % of real structures are from
  each other;
* ``coverage``: the fraction of real structures that are the nearest real
  structure of at least one sample (low = the samples collapse onto a few
  structures, high = they spread over the landscape).

* ``centroid_distance_ratio``: the median distance of the samples from the
  landscape's centroid over that of the real structures. Well below 1 means
  the samples are blurred averages: in many dimensions a vector near the
  centroid is closer to every real structure than they are to each other, so
  it counts as "inside the support" although it is no realistic structure;
  read ``inside_support`` together with this ratio and ``coverage``.
  ``centroid_inside_support`` says whether the landscape's centroid itself
  passes the support test; if it does, ``inside_support`` cannot tell
  realistic samples from blurred ones in this group.

A decoder's output is smooth (it loses what the bottleneck cannot carry), so
``reference_reconstruction_nn`` gives the same nearest-real distance for the
model's reconstructions of the real structures themselves: the best a decoded
sample can be expected to do. :func:`pca_gaussian_samples` is the linear
baseline: a Gaussian in the leading principal components.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist

from .autoencoder import feature_scale, unstandardize

__all__ = [
    "fit_latent_density",
    "sample_latent",
    "pca_gaussian_samples",
    "realism",
    "sample_and_score",
]


def fit_latent_density(Z, *, max_components: int = 5, seed: int = 0):
    """Gaussian mixture on latent points ``Z`` (n, w), components 1..max chosen by BIC.

    Full covariances when there are at least 10 points per latent dimension,
    diagonal otherwise; at most ``n // 5`` components.
    """
    from sklearn.mixture import GaussianMixture  # noqa: PLC0415

    Z = np.asarray(Z, dtype=np.float64)
    n, w = Z.shape
    cov = "full" if n >= 10 * w else "diag"
    reg = 1e-6 * float(np.mean(np.var(Z, axis=0)) or 1.0)
    best, best_bic = None, np.inf
    for k in range(1, max(1, min(int(max_components), n // 5)) + 1):
        gm = GaussianMixture(n_components=k, covariance_type=cov, reg_covar=reg,
                             random_state=seed, n_init=1, max_iter=200).fit(Z)
        bic = gm.bic(Z)
        if bic < best_bic:
            best, best_bic = gm, bic
    return best


def sample_latent(model, X=None, n: int = 500, *, method: str = "auto", seed: int = 0,
                  max_components: int = 5):
    """Latent samples (n, latent_dim) and a description of how they were drawn.

    ``method``: ``"prior"`` (VAE only: N(0, I)), ``"gmm"`` (a Gaussian mixture
    fitted to ``model.transform(X)``), or ``"auto"`` (prior for a VAE, else gmm).
    """
    if method == "auto":
        method = "prior" if getattr(model, "variational", False) else "gmm"
    rng = np.random.default_rng(seed)
    if method == "prior":
        if not getattr(model, "variational", False):
            raise ValueError("prior sampling needs a variational model")
        return rng.standard_normal((int(n), int(model.latent_dim))), {"method": "prior"}
    if method == "gmm":
        if X is None:
            raise ValueError("gmm sampling needs the landscape X to fit the density")
        gm = fit_latent_density(model.transform(X), max_components=max_components, seed=seed)
        gm.random_state = seed
        Z, _ = gm.sample(int(n))
        Z = Z[rng.permutation(len(Z))]  # GaussianMixture.sample returns them grouped by component
        return Z, {"method": "gmm", "n_components": int(gm.n_components),
                   "covariance_type": gm.covariance_type}
    raise ValueError(f"unknown sampling method {method!r}")


def pca_gaussian_samples(X, width: int, n: int = 500, *, seed: int = 0,
                         const_tol: float = 1e-6) -> np.ndarray:
    """Linear baseline: Gaussian scores in the leading ``width`` principal components of standardized X, mapped back."""
    X = np.asarray(X, dtype=np.float64)
    mean = X.mean(axis=0)
    scale = feature_scale(X, const_tol)
    Z = (X - mean) / scale
    _, s, vt = np.linalg.svd(Z, full_matrices=False)
    w = max(1, min(int(width), vt.shape[0]))
    sd = s[:w] / np.sqrt(max(X.shape[0] - 1, 1))
    scores = np.random.default_rng(seed).standard_normal((int(n), w)) * sd
    return unstandardize(scores @ vt[:w], mean, scale)


def _standardizer(X, model=None):
    if model is not None and hasattr(model, "scaler_mean_"):
        mean, scale = model.scaler_mean_, model.scaler_scale_
    else:
        mean, scale = X.mean(axis=0), feature_scale(X)
    return lambda A: (np.asarray(A, dtype=np.float64) - mean) / scale


def _q(a) -> dict:
    a = np.asarray(a, dtype=np.float64)
    return {"median": float(np.median(a)), "mean": float(a.mean()),
            "p5": float(np.percentile(a, 5)), "p95": float(np.percentile(a, 95))}


def realism(samples, X, *, model=None, percentile: float = 95.0, reconstructions=None) -> dict:
    """Score decoded ``samples`` (m, d) against the real landscape ``X`` (n, d); see the module docstring.

    Distances are Euclidean in standardized units (the model's scaler when
    ``model`` is given, else X's own). ``reconstructions`` (n, d), optional:
    the model's reconstructions of X, for ``reference_reconstruction_nn``.
    """
    X = np.asarray(X, dtype=np.float64)
    samples = np.asarray(samples, dtype=np.float64)
    if X.shape[0] < 2:
        raise ValueError("need at least 2 real structures")
    std = _standardizer(X, model)
    Zx, Zs = std(X), std(samples)
    Dxx = cdist(Zx, Zx)
    np.fill_diagonal(Dxx, np.inf)
    land_nn = Dxx.min(axis=1)
    thr = float(np.percentile(land_nn, percentile))
    Dsx = cdist(Zs, Zx)
    samp_nn = Dsx.min(axis=1)
    nearest = Dsx.argmin(axis=1)
    out = {
        "n_samples": int(len(samples)),
        "n_landscape": int(len(X)),
        "percentile": float(percentile),
        "threshold": thr,
        "landscape_nn": _q(land_nn),
        "sample_nn": _q(samp_nn),
        "inside_support": float(np.mean(samp_nn <= thr)),
        "median_ratio": float(np.median(samp_nn) / max(np.median(land_nn), 1e-300)),
        "coverage": float(len(np.unique(nearest)) / len(X)),
        "centroid_distance_ratio": float(np.median(np.linalg.norm(Zs - Zx.mean(axis=0), axis=1))
                                         / max(np.median(np.linalg.norm(Zx - Zx.mean(axis=0), axis=1)), 1e-300)),
        "centroid_inside_support": bool(np.linalg.norm(Zx - Zx.mean(axis=0), axis=1).min() <= thr),
    }
    if reconstructions is not None:
        Zr = std(reconstructions)
        Drx = cdist(Zr, Zx)
        out["reference_reconstruction_nn"] = _q(Drx.min(axis=1))
        out["reference_inside_support"] = float(np.mean(Drx.min(axis=1) <= thr))
    return out


def sample_and_score(model, X, n: int = 500, *, method: str = "auto", seed: int = 0,
                     percentile: float = 95.0, max_components: int = 5) -> dict:
    """Sample ``model``'s latent space, decode, and score against ``X`` (JSON-serialisable dict)."""
    Z, how = sample_latent(model, X, n, method=method, seed=seed, max_components=max_components)
    decoded = model.inverse_transform(Z)
    out = {"sampling": how}
    out.update(realism(decoded, X, model=model, percentile=percentile,
                       reconstructions=model.reconstruct(X)))
    return out
