"""Nonlinear intrinsic-dimension (ID) estimates for one group of structures.

``estimate(X)`` runs scikit-dimension's estimators on the descriptor matrix of a
group and returns a plain, JSON-serialisable dict (the content of ``id.json``):
a point estimate per estimator with a resampling confidence interval, or the
reason it was skipped, and local (pointwise) ID per structure.

Estimators (scikit-dimension, ``skdim.id``) and the defaults used here:

``TwoNN``  Facco et al. 2017: ratio of 2nd to 1st neighbour distance; linear fit
           with the largest 10 % of ratios discarded (skdim defaults).
``MLE``    Levina-Bickel / Haro maximum likelihood on the ``n_neighbors`` = 20
           nearest neighbours of every point; the global value is the harmonic
           mean of the pointwise estimates (MacKay-Ghahramani, skdim ``comb="mle"``).
``DANCo``  Ceruti et al. 2014: neighbour-distance and angle concentration,
           ``k`` = 10, maximal dimension ``D = min(n_features, 100)``; uses
           skdim's tabulated calibration (``ver="DANCoFit"``, valid for
           20 <= n <= 5000), on a seeded random subset of 5000 rows when the
           group is larger.
``lPCA``   Local PCA (Fukunaga-Olsen rule): in the neighbourhood of the
           ``n_neighbors`` = 20 nearest neighbours of every point, the number of
           covariance eigenvalues above ``alphaFO`` = 0.1 of the largest; the
           global value is the mean over points. Global PCA is linear and is
           reported by :mod:`latentcsp.analysis.pca`; local PCA follows a curved
           manifold. The neighbourhood eigenvalues are computed in one batch
           (identical to ``skdim.id.lPCA().fit_pw``, which refits sklearn's PCA
           point by point); versions other than ``"FO"`` apply skdim's rule to
           those eigenvalues (``fit_explained_variance=True``).
``GRIDE``  Denti et al. 2022: generalised neighbour-ratio estimator at scales
           n1 = 1, 2, 4, ... (n2 = 2 n1, up to ``range_max`` = 64 neighbours);
           the headline value is at ``n1`` = 4, less sensitive than n1 = 1 to
           small-scale noise such as minimisation tolerance; every scale is
           reported with its Fisher-information error and interval.

Minimum group size: an estimator is skipped (``status: "skipped"`` with the
reason) when the group has fewer than ``max(min_size, its own minimum)`` rows
(``n_neighbors + 1`` for MLE and lPCA, ``k + 2`` and 20 for DANCo, 3 for TwoNN
and GRIDE). A failing estimator is recorded with ``status: "failed"`` and the
error; nothing raises for a bad group.

Intervals and bias (``resample``):

``"subsample"`` (default) — half-sampling (the delete-d jackknife with d = n/2,
  Shao & Wu 1989): refit on ``n_boot`` random subsets of ``fraction`` x n rows
  drawn without replacement. Subsets never contain duplicate rows, which
  nearest-neighbour estimators cannot take.
``"bootstrap"`` — classical resampling with replacement; repeated rows are
  collapsed to one (about 63 % of rows are distinct).

The interval (``ci_low``, ``ci_high``) is the percentile interval of the
resample estimates themselves (the ``ci`` central quantiles of the replicate
values, listed in ``boot.values``), never below zero. It describes the
estimator at ``resample_size`` rows, not at n: nearest-neighbour estimators
depend on the sampling density, and the interval shows that dependence
instead of hiding it (it need not contain the full-sample estimate).

``bias`` = (median of the resample estimates − full-sample estimate) x
f / (1 − f) for subsampling at fraction f (1 at the default f = 1/2), the
delete-d jackknife bias estimate with the median for robustness; median −
full for the bootstrap. Negative when the estimate still grows with the
number of structures (the usual under-estimate of nearest-neighbour
estimators at high dimension or small n); its size says how far the estimate
is from having converged at this n. ``resample_size`` states the rows per
resample.

All randomness comes from ``seed``: the resampled row sets are drawn once and
shared by every estimator (paired replicates), so results do not depend on
which estimators run.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np
from sklearn.neighbors import NearestNeighbors

from .pca import preprocess

__all__ = ["ESTIMATORS", "DEFAULT_PARAMS", "estimate", "local_pca_eigenvalues", "pointwise_lpca"]

ESTIMATORS: tuple[str, ...] = ("TwoNN", "MLE", "DANCo", "lPCA", "GRIDE")

DEFAULT_PARAMS: dict[str, dict] = {
    "TwoNN": {"discard_fraction": 0.1, "method": "linear"},
    "MLE": {"n_neighbors": 20, "comb": "mle"},
    "DANCo": {"k": 10, "D_max": 100, "max_samples": 5000},
    "lPCA": {"n_neighbors": 20, "ver": "FO", "alphaFO": 0.1},
    "GRIDE": {"n1": 4, "range_max": 64},
}

#: Estimators that give one ID value per structure.
POINTWISE: tuple[str, ...] = ("MLE", "lPCA")


# --------------------------------------------------------------------------
# JSON helpers
# --------------------------------------------------------------------------


def _num(x) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _nums(xs) -> list[float | None]:
    return [_num(x) for x in np.asarray(xs, dtype=float).ravel()]


def _summary(values: np.ndarray) -> dict:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"mean": None, "median": None, "q05": None, "q25": None, "q75": None, "q95": None}
    q = np.quantile(v, [0.05, 0.25, 0.5, 0.75, 0.95])
    return {
        "mean": _num(v.mean()),
        "median": _num(q[2]),
        "q05": _num(q[0]),
        "q25": _num(q[1]),
        "q75": _num(q[3]),
        "q95": _num(q[4]),
    }


# --------------------------------------------------------------------------
# local PCA, batched
# --------------------------------------------------------------------------


def _knn_indices(X: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k nearest neighbours of every row, excluding the row itself
    (as ``skdim._commonfuncs.get_nn``)."""
    nn = NearestNeighbors(n_neighbors=k).fit(X)
    return nn.kneighbors(return_distance=False)


def local_pca_eigenvalues(X: np.ndarray, knn: np.ndarray, chunk: int = 256) -> np.ndarray:
    """Covariance eigenvalues of every neighbourhood, largest first.

    ``knn`` (n x k) holds neighbour indices; row i of the result holds the
    eigenvalues of the covariance (ddof=1) of ``X[knn[i]]`` — the same numbers
    as ``sklearn.decomposition.PCA().fit(X[knn[i]]).explained_variance_``
    (k of them; the last is zero after centring). Computed from the k x k Gram
    matrices, in chunks.
    """
    X = np.asarray(X, dtype=float)
    n, k = knn.shape
    out = np.empty((n, k))
    for s in range(0, n, chunk):
        A = X[knn[s : s + chunk]]  # c x k x p
        A = A - A.mean(axis=1, keepdims=True)
        G = A @ np.swapaxes(A, 1, 2)  # c x k x k
        ev = np.linalg.eigvalsh(G)[:, ::-1] / (k - 1)
        out[s : s + chunk] = np.clip(ev, 0.0, None)
    return out


def pointwise_lpca(X: np.ndarray, n_neighbors: int = 20, ver: str = "FO", alphaFO: float = 0.1,
                   knn: np.ndarray | None = None, **lpca_params) -> np.ndarray:
    """Local-PCA ID of every row (skdim ``lPCA(ver, alphaFO).fit_pw`` semantics)."""
    X = np.asarray(X, dtype=float)
    if knn is None:
        knn = _knn_indices(X, n_neighbors)
    ev = local_pca_eigenvalues(X, knn)
    if ver == "FO":
        return np.sum(ev > alphaFO * ev[:, :1], axis=1).astype(float)
    from skdim.id import lPCA

    est = lPCA(ver=ver, alphaFO=alphaFO, fit_explained_variance=True, n_samples=knn.shape[1], **lpca_params)
    with np.errstate(divide="ignore", invalid="ignore"):  # skdim's eigenvalue gaps divide by the zero last one
        return np.array([float(est.fit(e).dimension_) for e in ev])


# --------------------------------------------------------------------------
# estimators: each returns a vector (element 0 = headline ID) and extras
# --------------------------------------------------------------------------


@dataclass
class _Spec:
    minimum: Callable[[dict], int]
    fit: Callable[[np.ndarray, dict, int], tuple[np.ndarray, dict]]


def _fit_twonn(X, p, seed):
    from skdim.id import TwoNN

    est = TwoNN(discard_fraction=p["discard_fraction"], method=p["method"]).fit(X)
    return np.array([est.dimension_], dtype=float), {}


def _fit_mle(X, p, seed):
    from skdim.id import MLE

    ctor = {k: v for k, v in p.items() if k not in ("n_neighbors", "comb")}
    est = MLE(**ctor).fit(X, n_neighbors=p["n_neighbors"], comb=p["comb"])
    return np.array([est.dimension_], dtype=float), {"pointwise": np.asarray(est.dimension_pw_, dtype=float)}


def _fit_danco(X, p, seed):
    from skdim.id import DANCo

    extra: dict = {"subsampled_to": None}
    if len(X) > p["max_samples"]:
        rows = np.sort(np.random.default_rng(seed).choice(len(X), p["max_samples"], replace=False))
        X = X[rows]
        extra["subsampled_to"] = int(p["max_samples"])
    D = int(p["D_max"])  # estimate() caps it at the number of descriptor columns
    ver = "DANCoFit" if (p["k"] == 10 and 20 <= len(X) <= 5000 and D <= 100) else "DANCo"
    est = DANCo(k=p["k"], D=D, ver=ver, random_state=seed).fit(X)
    extra.update(ver=ver, D=D)
    return np.array([est.dimension_], dtype=float), extra


def _fit_lpca(X, p, seed):
    extra_params = {k: v for k, v in p.items() if k not in ("n_neighbors", "ver", "alphaFO", "comb")}
    pw = pointwise_lpca(X, n_neighbors=p["n_neighbors"], ver=p["ver"], alphaFO=p["alphaFO"], **extra_params)
    comb = p.get("comb", "mean")
    value = np.median(pw) if comb == "median" else np.mean(pw)
    return np.array([value], dtype=float), {"pointwise": pw}


def _fit_gride(X, p, seed):
    from skdim.id import GRIDE

    R = int(min(p["range_max"], len(X) - 1))
    scales = 2 ** np.arange(int(np.log2(R))) if R >= 2 else np.zeros(0, dtype=int)
    if scales.size == 0:
        raise ValueError("too few rows for any GRIDE scale")
    n1 = int(min(p["n1"], scales[-1]))
    est = GRIDE(n1=n1, n2=2 * n1, multiscale=True, range_max=R).fit(X)
    vec = np.concatenate([[est.dimension_], np.asarray(est.dimension_scales_, dtype=float)])
    extra = {
        "n1": n1,
        "n2": 2 * n1,
        "error": float(est.error_),
        "scales_n1": np.asarray(est.scales_, dtype=int),
        "scales_error": np.asarray(est.error_scales_, dtype=float),
        "scales_radius": np.asarray(est.radius_scales_, dtype=float),
    }
    return vec, extra


_SPECS: dict[str, _Spec] = {
    "TwoNN": _Spec(lambda p: 3, _fit_twonn),
    "MLE": _Spec(lambda p: int(p["n_neighbors"]) + 1, _fit_mle),
    "DANCo": _Spec(lambda p: max(int(p["k"]) + 2, 20), _fit_danco),
    "lPCA": _Spec(lambda p: int(p["n_neighbors"]) + 1, _fit_lpca),
    "GRIDE": _Spec(lambda p: 2 * 1 + 1, _fit_gride),
}


def _isometric(Z: np.ndarray) -> np.ndarray:
    """The rows of centred ``Z`` (n, p) in at most n coordinates with the same pairwise
    distances (their principal-component scores, from the n x n Gram matrix), when p > n:
    every estimator here depends on distances only, and they are then found in n
    instead of p dimensions."""
    n, p = Z.shape
    if p <= n:
        return Z
    w, v = np.linalg.eigh(Z @ Z.T)
    keep = w > max(w[-1], 0.0) * n * np.finfo(float).eps
    return v[:, keep] * np.sqrt(w[keep])


# --------------------------------------------------------------------------
# resampling
# --------------------------------------------------------------------------


def _resamples(n: int, n_boot: int, resample: str, fraction: float, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x1D]))
    sets = []
    for _ in range(n_boot):
        if resample == "subsample":
            m = int(round(fraction * n))
            sets.append(np.sort(rng.choice(n, m, replace=False)))
        else:
            sets.append(np.unique(rng.integers(0, n, n)))
    return sets


def _interval(full: np.ndarray, reps: np.ndarray, resample: str, fraction: float, level: float):
    """Per-component (lo, hi, spread, bias) from replicate vectors (NaN-padded).

    lo, hi: the central ``level`` percentile interval of the replicates, clipped at 0;
    spread: their standard deviation; bias: see the module docstring.
    """
    a = (1 - level) / 2
    lo, hi, std, bias = (np.full(full.shape, np.nan) for _ in range(4))
    factor = fraction / (1 - fraction) if resample == "subsample" else 1.0
    for j in range(full.size):
        r = reps[:, j]
        r = r[np.isfinite(r)]
        if r.size < 2:
            continue
        q_lo, q_med, q_hi = np.quantile(r, [a, 0.5, 1 - a])
        lo[j], hi[j] = max(q_lo, 0.0), max(q_hi, 0.0)
        std[j] = r.std(ddof=1)
        if np.isfinite(full[j]):
            bias[j] = factor * (q_med - full[j])
    return lo, hi, std, bias


def _run(fit, X, p, seed):
    """fit with warnings captured; returns (vector, extra, warning messages)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        vec, extra = fit(X, p, seed)
    msgs = sorted({str(w.message) for w in caught})
    return np.asarray(vec, dtype=float), extra, msgs


# --------------------------------------------------------------------------
# public entry point
# --------------------------------------------------------------------------


def estimate(
    X,
    estimators: Iterable[str] = ESTIMATORS,
    *,
    params: Mapping[str, Mapping] | None = None,
    min_size: int | Mapping[str, int] = 20,
    n_boot: int = 50,
    resample: str = "subsample",
    fraction: float = 0.5,
    ci: float = 0.95,
    seed: int = 0,
    standardize: bool = True,
    pointwise: Sequence[str] | bool = POINTWISE,
) -> dict:
    """Intrinsic-dimension estimates of the rows of ``X`` (n_samples x n_features).

    Parameters
    ----------
    estimators
        Names from :data:`ESTIMATORS`.
    params
        Per-estimator overrides of :data:`DEFAULT_PARAMS`, e.g.
        ``{"MLE": {"n_neighbors": 10}}``; other keys are passed to skdim.
    min_size
        Smallest group an estimator runs on (int, or a dict per estimator,
        default 20); each estimator's own minimum applies as well.
    n_boot
        Number of resamples for the intervals (0: no intervals).
    resample, fraction, ci
        ``"subsample"`` (default, fraction ``fraction`` without replacement) or
        ``"bootstrap"``; ``ci`` is the interval's coverage.
    seed
        Seed of every random choice (resamples, DANCo subsets and calibration).
    standardize
        Preprocess like :func:`latentcsp.analysis.pca.spectrum`: constant columns
        dropped; columns standardised when true (the default, matching PCA).
    pointwise
        Estimators whose per-structure values are returned (``"MLE"``, ``"lPCA"``);
        ``True`` for both, ``False`` for none.

    Returns
    -------
    dict (JSON-serialisable; NaN written as None) with ``n_samples``,
    ``n_features``, ``n_constant_dropped``, ``standardized``, ``seed``,
    ``resampling`` (settings), ``estimators`` (name -> result) and
    ``pointwise`` (name -> ``{"n_neighbors", "values", "summary"}``).
    Each estimator result has ``status`` ("ok", "skipped", "failed"),
    ``reason``, ``dimension``, ``ci_low``, ``ci_high`` (percentile interval of
    the resample estimates, >= 0), ``bias`` and ``resample_size`` (see the
    module docstring), ``boot`` (replicate counts, spread and values),
    ``params``, ``min_size`` and ``warnings``; GRIDE adds ``error`` and
    ``scales``; DANCo adds ``ver``, ``D``, ``subsampled_to``.
    """
    estimators = list(estimators)
    unknown = [e for e in estimators if e not in _SPECS]
    if unknown:
        raise ValueError(f"unknown ID estimators {unknown}; choose from {list(ESTIMATORS)}")
    if resample not in ("subsample", "bootstrap"):
        raise ValueError(f"resample must be 'subsample' or 'bootstrap', got {resample!r}")
    if resample == "subsample" and not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    if not 0 < ci < 1:
        raise ValueError(f"ci must be in (0, 1), got {ci}")
    if n_boot < 0:
        raise ValueError("n_boot must be >= 0")
    params = dict(params or {})
    bad = [k for k in params if k not in _SPECS]
    if bad:
        raise ValueError(f"params for unknown estimators {bad}")
    if pointwise is True:
        pointwise = POINTWISE
    elif pointwise is False or pointwise is None:
        pointwise = ()
    pointwise = [e for e in pointwise]
    for e in pointwise:
        if e not in POINTWISE:
            raise ValueError(f"pointwise estimates exist for {list(POINTWISE)}, not {e!r}")

    Z, info = preprocess(X, standardize=standardize)
    n, p_feat = Z.shape
    Z = _isometric(Z)
    sets = _resamples(n, n_boot, resample, fraction, seed) if n_boot else []

    result: dict = {
        "n_samples": int(n),
        "n_features_in": int(info["n_features_in"]),
        "n_features": int(p_feat),
        "n_constant_dropped": int(info["n_constant_dropped"]),
        "standardized": bool(standardize),
        "seed": int(seed),
        "resampling": {
            "method": resample,
            "n_boot": int(n_boot),
            "fraction": float(fraction) if resample == "subsample" else None,
            "ci": float(ci),
        },
        "estimators": {},
        "pointwise": {},
    }
    fitted_extra: dict[str, dict] = {}
    for name in dict.fromkeys(estimators + pointwise):
        spec = _SPECS[name]
        p = {**DEFAULT_PARAMS[name], **dict(params.get(name, {}))}
        if "D_max" in p:
            p["D_max"] = min(int(p["D_max"]), p_feat)
        floor = int(min_size.get(name, 20) if isinstance(min_size, Mapping) else min_size)
        need = max(floor, spec.minimum(p))
        entry: dict = {
            "status": "ok", "reason": None, "dimension": None, "ci_low": None, "ci_high": None,
            "bias": None, "resample_size": None, "boot": None, "params": {k: (v if not isinstance(v, np.generic) else v.item()) for k, v in p.items()},
            "min_size": need, "n_samples": int(n), "warnings": [],
        }
        est_seed = int(np.random.SeedSequence([int(seed), sum(map(ord, name))]).generate_state(1)[0])
        if p_feat < 2:
            entry.update(status="skipped", reason=f"{p_feat} varying descriptor column(s); need >= 2")
        elif n < need:
            entry.update(status="skipped", reason=f"n={n} < minimum {need} for {name} "
                         f"(min_size={floor}, estimator needs >= {spec.minimum(p)})")
        if entry["status"] == "ok":
            try:
                vec, extra, msgs = _run(spec.fit, Z, p, est_seed)
                entry["warnings"] = msgs
                fitted_extra[name] = extra
                entry["dimension"] = _num(vec[0])
                if not np.isfinite(vec[0]):
                    entry.update(status="failed", reason="estimator returned a non-finite value")
            except Exception as exc:  # noqa: BLE001 - recorded, never fatal for a group
                entry.update(status="failed", reason=f"{type(exc).__name__}: {exc}")
                vec, extra = None, {}

        if entry["status"] == "ok" and name in estimators:
            entry.update(_extra_fields(name, extra))
            fields, (lo, hi, bias) = _bootstrap(name, spec, Z, p, vec, sets, resample, fraction, ci, est_seed)
            entry.update(fields)
            if name == "GRIDE":
                _gride_scales(entry, extra, vec, lo, hi, bias)
        if name in estimators:
            result["estimators"][name] = entry
        if name in pointwise:
            pw_entry = {"n_neighbors": int(p["n_neighbors"]), "status": entry["status"], "reason": entry["reason"]}
            if entry["status"] == "ok":
                values = fitted_extra[name]["pointwise"]
                pw_entry["values"] = _nums(values)
                pw_entry["summary"] = _summary(values)
            result["pointwise"][name] = pw_entry
    return result


def _extra_fields(name: str, extra: dict) -> dict:
    if name == "DANCo":
        return {"ver": extra.get("ver"), "D": extra.get("D"), "subsampled_to": extra.get("subsampled_to")}
    if name == "GRIDE":
        return {"n1": extra["n1"], "n2": extra["n2"], "error": _num(extra["error"])}
    return {}


def _bootstrap(name, spec, Z, p, full, sets, resample, fraction, ci, seed):
    """Refit on every resample; returns (entry fields, (lo, hi) per vector component)."""
    nan = tuple(np.full(full.shape, np.nan) for _ in range(3))
    if not sets:
        return {"boot": {"n_ok": 0, "n_failed": 0, "reason": "n_boot=0"}}, nan
    sizes = [len(s) for s in sets]
    if min(sizes) < spec.minimum(p):
        reason = f"resamples of {min(sizes)} rows are below the {name} minimum {spec.minimum(p)}"
        return {"boot": {"n_ok": 0, "n_failed": 0, "reason": reason}}, nan
    reps = np.full((len(sets), full.size), np.nan)
    n_failed = 0
    errors: set[str] = set()
    for b, rows in enumerate(sets):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                vec, _ = spec.fit(Z[rows], p, (seed + b + 1) % 2**32)
            vec = np.asarray(vec, dtype=float)[: full.size]
            reps[b, : vec.size] = vec
            if not np.isfinite(vec[0]):
                n_failed += 1
        except Exception as exc:  # noqa: BLE001
            n_failed += 1
            errors.add(f"{type(exc).__name__}: {exc}")
    lo, hi, std, bias = _interval(full, reps, resample, fraction, ci)
    size = int(round(np.mean(sizes)))
    boot = {
        "n_ok": int(np.sum(np.isfinite(reps[:, 0]))),
        "n_failed": int(n_failed),
        "rows_per_resample": size,
        "median": _num(np.nanmedian(reps[:, 0])) if np.any(np.isfinite(reps[:, 0])) else None,
        "std": _num(std[0]),
        "values": _nums(reps[:, 0]),
        "reason": None if np.isfinite(lo[0]) else "fewer than 2 successful resamples",
        "errors": sorted(errors)[:5],
    }
    fields = {"ci_low": _num(lo[0]), "ci_high": _num(hi[0]), "bias": _num(bias[0]), "resample_size": size,
              "boot": boot}
    return fields, (lo, hi, bias)


def _gride_scales(entry: dict, extra: dict, vec: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                  bias: np.ndarray) -> None:
    n1 = extra["scales_n1"]
    entry["scales"] = {
        "n1": [int(x) for x in n1],
        "n2": [int(2 * x) for x in n1],
        "dimension": _nums(vec[1:]),
        "error": _nums(extra["scales_error"]),
        "radius": _nums(extra["scales_radius"]),
        "ci_low": _nums(lo[1:]),
        "ci_high": _nums(hi[1:]),
        "bias": _nums(bias[1:]),
    }
