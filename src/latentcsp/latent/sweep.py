"""Bottleneck-width sweep and the effective dimension (knee of the error curve).

:func:`width_sweep` fits, for every width ``w`` and every one of ``k`` folds,
an :class:`~latentcsp.latent.autoencoder.Autoencoder` on the training part and
measures the held-out reconstruction error; on the *same* folds, with the
*same* standardization (feature scales of the whole group, see
:func:`width_sweep`), it measures the error of PCA with ``w`` components (the linear
baseline) and of predicting the training mean (width 0). Errors are mean
squared errors per feature in standardized units (see the autoencoder module).

:func:`effective_dimension` reads the knee off the mean curve. Methods:

``"plateau"`` (default)
    The smallest width whose mean held-out error is within ``tol`` (default
    10 %) of the total reducible error above the plateau::

        d = min { w : e(w) − e_min ≤ tol · (e(0) − e_min) }

    where ``e(0)`` is the width-0 error (predicting the mean) and ``e_min``
    the lowest mean error over the sweep (the plateau, set by noise and by what
    the network can fit). In words: the first width that captures 90 % of the
    reconstruction the sweep can achieve at all. Why this and not a
    geometric knee: once a width reaches the manifold dimension, wider
    bottlenecks only shave off noise and optimisation slack, so the AE curve
    falls steeply and then flattens; a threshold on the *remaining* error is
    invariant to the scale of the errors and, unlike Kneedle, does not move
    when the swept range is extended along a flat plateau. It needs the sweep
    to reach the plateau (check ``knee_report(...)["plateau_reached"]``,
    which compares the last two widths).
``"kneedle"``
    Satopää, Albrecht, Irwin & Raghavan (2011): the width where the curve,
    with both axes scaled to [0, 1] over widths 0..max, lies farthest below the
    chord joining its ends. Reported for comparison; it depends on the
    swept range.
``"one_se"``
    The one-standard-error rule of cross-validation (Breiman et al. 1984;
    Hastie, Tibshirani & Friedman, ESL §7.10): the smallest width whose mean
    error is within one standard error (over folds) of the best width's.
    Conservative (small) when folds disagree.

All methods return 0 when the best width improves on the width-0 error by
less than ``min_gain`` (2 %) of it: nothing learnable.

Resolved or not (:func:`resolution`). A knee is a dimension only where the
sweep reconstructs the held-out structures at all. The curve resolves a
dimension when both hold:

1. the held-out explained variance R² = 1 − e_min / e(0) (e_min: the lowest
   mean error over widths) is at least ``min_r2`` (default 0.5);
2. at that best width the curve leaves the mean predictor by more than its
   fold spread: the mean over folds of e(0)_f − e_f exceeds their standard
   deviation (equivalently, the paired t statistic exceeds √k, about the
   one-sided 95 % point for k = 5 folds).

Otherwise the result is "unresolved (R² = …)" with the reason, and no
effective dimension is reported. ROY's P2₁/c group (20 kJ/mol) with the
intermolecular descriptors is such a case: its autoencoder explains 6.5 % of
the held-out variance at its best width, so its knee at width 9 says nothing
about the landscape.

Synthetic checks (tests/test_latent_sweep.py): a 3-d nonlinear manifold in
50-d gives a plateau knee of 3 for the autoencoder while PCA needs more
components, as it should for a curved manifold. On generated crystal
landscapes a resolved knee is not their dimension: thiophene in P2₁/c with
d = 8 gave AE and PCA knees of 4, pyridine in P-1 with d = 4 gave 1 and 2, at
held-out R² 0.96-0.99; the report prints it as an uncalibrated knee
(README, "AE / PCA_knee").
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from ..analysis.pca import check_matrix
from .autoencoder import Autoencoder, feature_scale, fit_preprocessing

__all__ = ["width_sweep", "summarize_sweep", "effective_dimension", "knee_report", "fold_indices",
           "resolution", "describe_resolution"]

DEFAULT_TOL = 0.10
DEFAULT_MIN_GAIN = 0.02
DEFAULT_MIN_R2 = 0.5


def fold_indices(n: int, n_folds: int = 5, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Shuffled k-fold (train, test) index pairs; ``n_folds`` is capped at ``n``."""
    if n < 2:
        raise ValueError("need at least 2 structures for cross-validation")
    k = max(2, min(int(n_folds), n))
    perm = np.random.default_rng(seed).permutation(n)
    folds = np.array_split(perm, k)
    return [(np.sort(np.concatenate(folds[:i] + folds[i + 1:])), np.sort(folds[i])) for i in range(k)]


def _mse(a, b) -> float:
    return float(np.mean((a - b) ** 2))


def width_sweep(X, widths=None, *, max_width: int = 12, n_folds: int = 5, seed: int = 0,
                pca: bool = True, global_scale: bool = True, **ae_params) -> pd.DataFrame:
    """Held-out reconstruction error per width per fold, autoencoder and PCA.

    Parameters
    ----------
    X : (n, d) raw descriptors of one group.
    widths : iterable of bottleneck widths (default ``1..max_width``).
    n_folds, seed : shuffled k-fold split (the autoencoders also use ``seed``).
    pca : also compute the PCA baseline (cheap).
    global_scale : standardize every fold with the feature scales of the whole
        group (default), not of its training part; the means are still the
        training part's. The scales define the error metric, which should be
        the same for every fold, width and model; and a feature that is
        (nearly) constant in a training part but not in its held-out part
        would otherwise be divided by ~0 and swamp every error. Unsupervised
        and identical for AE, PCA and the width-0 baseline, so it favours none.
    **ae_params : passed to :class:`Autoencoder` (``latent_dim`` is set per width).
        ``n_threads`` (default 1) also caps the BLAS threads of numpy for the
        sweep: with several jobs on a small machine, multithreaded BLAS on
        small matrices is slower than one thread, by orders of magnitude when
        the cores are busy.

    Returns
    -------
    DataFrame, one row per (width, fold): ``width, fold, n_train, n_test,
    ae_mse, pca_mse, pca_components, null_mse, ae_epochs, ae_best_epoch,
    ae_seconds``. ``pca_components`` is ``min(width, rank of the training
    fold)``; ``null_mse`` is the width-0 error (the training mean).
    ``df.attrs`` holds the sweep's parameters.
    """
    with threadpool_limits(limits=int(ae_params.get("n_threads", 1))):
        return _width_sweep(X, widths, max_width, n_folds, seed, pca, global_scale, ae_params)


def _width_sweep(X, widths, max_width, n_folds, seed, pca, global_scale, ae_params) -> pd.DataFrame:
    X = check_matrix(X)
    widths = list(range(1, int(max_width) + 1)) if widths is None else sorted({int(w) for w in widths})
    if not widths or widths[0] < 1:
        raise ValueError("widths must be >= 1")
    ae_params = dict(ae_params)
    ae_params.pop("latent_dim", None)
    ae_params.setdefault("seed", seed)
    input_pca = ae_params.get("input_pca", True)
    const_tol = float(ae_params.get("const_tol", 1e-6))
    scale_all = feature_scale(X, const_tol) if global_scale else None
    rows = []
    for fold, (tr, te) in enumerate(fold_indices(X.shape[0], n_folds, seed)):
        Xtr, Xte = X[tr], X[te]
        mean, scale, comps = fit_preprocessing(Xtr, True, const_tol, scale_all)
        Zte = (Xte - mean) / scale
        null = _mse(Zte, 0.0)
        for w in widths:
            row = {"width": w, "fold": fold, "n_train": len(tr), "n_test": len(te), "null_mse": null}
            if pca:
                m = min(w, comps.shape[0])
                V = comps[:m]
                row["pca_mse"] = _mse(Zte, (Zte @ V.T) @ V)
                row["pca_components"] = m
            ae = Autoencoder(latent_dim=w, **ae_params)
            ae.fit(Xtr, preprocessing=(mean, scale, comps if input_pca else None))
            row["ae_mse"] = ae.reconstruction_error(Xte)
            if pca:
                row["pca_rel"] = row["pca_mse"] / null if null > 0 else np.nan
            row["ae_rel"] = row["ae_mse"] / null if null > 0 else np.nan
            row["ae_epochs"] = ae.fit_info_["epochs"]
            row["ae_best_epoch"] = ae.fit_info_["best_epoch"]
            row["ae_seconds"] = ae.fit_info_["seconds"]
            rows.append(row)
    df = pd.DataFrame(rows)
    cols = ["width", "fold", "n_train", "n_test", "ae_mse", "pca_mse", "pca_components",
            "null_mse", "ae_rel", "pca_rel", "ae_epochs", "ae_best_epoch", "ae_seconds"]
    df = df[[c for c in cols if c in df.columns]]
    df.attrs.update({"n": int(X.shape[0]), "d": int(X.shape[1]), "n_folds": int(df["fold"].nunique()),
                     "seed": int(seed), "ae_params": {k: (list(v) if isinstance(v, tuple) else v)
                                                      for k, v in ae_params.items()}})
    return df


def summarize_sweep(sweep: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard error over folds per width: ``width, ae_mean, ae_se, pca_mean, pca_se, null_mean``."""
    g = sweep.groupby("width")
    out = pd.DataFrame({"width": sorted(sweep["width"].unique())}).set_index("width")
    k = g.size()
    for col, name in (("ae_mse", "ae"), ("pca_mse", "pca")):
        if col in sweep:
            out[f"{name}_mean"] = g[col].mean()
            out[f"{name}_se"] = g[col].std(ddof=1).fillna(0.0) / np.sqrt(k)
    out["null_mean"] = g["null_mse"].mean()
    return out.reset_index()


def _curve(sweep: pd.DataFrame, column: str):
    if column not in sweep:
        raise KeyError(f"sweep has no column {column!r}")
    g = sweep.groupby("width")
    widths = np.array(sorted(sweep["width"].unique()), dtype=int)
    mean = g[column].mean().reindex(widths).to_numpy(dtype=float)
    k = g.size().reindex(widths).to_numpy()
    se = (g[column].std(ddof=1).reindex(widths).fillna(0.0).to_numpy(dtype=float) / np.sqrt(k))
    e0 = float(sweep["null_mse"].groupby(sweep["fold"]).first().mean())
    return widths, mean, se, e0


def effective_dimension(sweep: pd.DataFrame, column: str = "ae_mse", method: str = "plateau",
                        tol: float = DEFAULT_TOL, min_gain: float = DEFAULT_MIN_GAIN) -> int:
    """Knee of the mean error curve of ``column`` (``"ae_mse"`` or ``"pca_mse"``); see the module docstring.

    Returns 0 when no width beats the width-0 error (predicting the training
    mean) by at least ``min_gain`` (default 2 %) of it: the folds show no
    structure the model can learn (e.g. pure noise, or too few structures).
    """
    widths, mean, se, e0 = _curve(sweep, column)
    if method in ("plateau", "kneedle", "one_se") and not np.min(mean) < (1.0 - min_gain) * e0:
        return 0  # no width reconstructs held-out data clearly better than the training mean
    if method == "plateau":
        e_min = float(mean.min())
        drop = max(e0 - e_min, 0.0)
        ok = mean - e_min <= tol * drop + 1e-12
        return int(widths[np.argmax(ok)])
    if method == "kneedle":
        x = np.concatenate([[0], widths]).astype(float)
        y = np.concatenate([[e0], mean])
        xn = (x - x.min()) / (x.max() - x.min())
        span = y.max() - y.min()
        if span <= 0:
            return int(widths[0])
        yn = (y - y.min()) / span
        chord = yn[0] + (yn[-1] - yn[0]) * xn
        diff = chord - yn
        i = int(np.argmax(diff[1:])) + 1
        return int(x[i])
    if method == "one_se":
        best = int(np.argmin(mean))
        ok = mean <= mean[best] + se[best]
        return int(widths[np.argmax(ok)])
    raise ValueError(f"unknown method {method!r}: use 'plateau', 'kneedle' or 'one_se'")


def resolution(sweep: pd.DataFrame, column: str = "ae_mse", min_r2: float = DEFAULT_MIN_R2) -> dict:
    """Whether the error curve of ``column`` resolves a dimension (the rule in the module docstring).

    Returns ``{"resolved", "r2", "min_r2", "best_width", "gain", "fold_spread",
    "best_epoch", "reason"}``: ``r2`` the held-out R² at the best width (the
    width of lowest mean error), ``gain`` the mean over folds of the
    width-0 error minus the error there and ``fold_spread`` its standard
    deviation over folds, ``best_epoch`` the median epoch at which the
    autoencoders of that width stopped improving (None for PCA), ``reason``
    None when resolved.
    """
    widths, mean, _, e0 = _curve(sweep, column)
    best = int(widths[int(np.argmin(mean))])
    at = sweep[sweep["width"] == best]
    gain = (at["null_mse"] - at[column]).to_numpy(dtype=float)
    spread = float(gain.std(ddof=1)) if gain.size > 1 else float("inf")
    r2 = float(1.0 - mean.min() / e0) if e0 > 0 else float("nan")
    epoch = None
    if column == "ae_mse" and "ae_best_epoch" in at:
        epoch = float(np.median(at["ae_best_epoch"]))
    reason = None
    if not r2 >= min_r2:
        reason = f"held-out R² = {r2:.3f} < {min_r2:g} at the best width {best}"
    elif not gain.mean() > spread:
        reason = (f"gain over the mean predictor {gain.mean():.3g} is within its fold spread {spread:.3g} "
                  f"at the best width {best}")
    return {"resolved": reason is None, "r2": r2, "min_r2": float(min_r2), "best_width": best,
            "gain": float(gain.mean()), "fold_spread": spread, "best_epoch": epoch, "reason": reason}


def describe_resolution(res: dict | None) -> str:
    """'resolved (R² = 0.93)', 'unresolved (R² = 0.065)', or 'not checked' for None."""
    if not res:
        return "not checked"
    return f"{'resolved' if res['resolved'] else 'unresolved'} (R² = {res['r2']:.2g})"


def knee_report(sweep: pd.DataFrame, tol: float = DEFAULT_TOL, min_gain: float = DEFAULT_MIN_GAIN,
                min_r2: float = DEFAULT_MIN_R2) -> dict:
    """Effective dimensions by every method for the autoencoder and PCA curves (JSON-serialisable).

    ``plateau_reached`` is True when the last width improves the mean error by
    less than ``tol/4`` of the reducible error over the one before it, i.e. the
    sweep has flattened out and the ``plateau`` knee can be trusted.
    ``explained_fraction`` = 1 − e_min / e(0), the largest share of held-out
    variance any width reconstructs (held-out R²). When it is small (ROY's
    27 216-feature intermolecular vectors, ~230 structures: PCA explains
    under 10 % at width 12; the all-atom vectors ~30 %), or
    the errors of all widths lie within ``se_at_min`` of each other (then
    ``one_se`` is 1), the knee sits in fold noise: ``resolution`` (see
    :func:`resolution`, threshold ``min_r2``) says whether it is a dimension.
    """
    out: dict = {"tol": tol, "min_gain": min_gain}
    for column, name in (("ae_mse", "autoencoder"), ("pca_mse", "pca")):
        if column not in sweep:
            continue
        widths, mean, se, e0 = _curve(sweep, column)
        e_min = float(mean.min())
        reached = bool(len(mean) >= 2 and (mean[-2] - mean[-1]) <= tol / 4 * max(e0 - e_min, 1e-300))
        out[name] = {
            "plateau": effective_dimension(sweep, column, "plateau", tol, min_gain),
            "kneedle": effective_dimension(sweep, column, "kneedle", tol, min_gain),
            "one_se": effective_dimension(sweep, column, "one_se", tol, min_gain),
            "plateau_reached": reached,
            "explained_fraction": float(1.0 - e_min / e0) if e0 > 0 else None,
            "se_at_min": float(se[int(np.argmin(mean))]),
            "min_error": e_min,
            "width_of_min": int(widths[int(np.argmin(mean))]),
            "null_error": e0,
            "resolution": resolution(sweep, column, min_r2),
        }
    return out
