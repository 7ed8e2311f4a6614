"""Width sweep and knee: synthetic manifolds of known dimension."""

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch")

from latentcsp.latent import (  # noqa: E402
    effective_dimension,
    fold_indices,
    knee_report,
    resolution,
    summarize_sweep,
    width_sweep,
)
from latentcsp.latent.sweep import describe_resolution  # noqa: E402
from latentcsp.latent.synthetic import nonlinear_manifold  # noqa: E402

FAST = dict(hidden=(32, 16), max_epochs=120, patience=15, lr=3e-3, batch_size=64)


def test_fold_indices_partition():
    folds = fold_indices(23, 5, seed=1)
    assert len(folds) == 5
    tests = np.concatenate([te for _, te in folds])
    assert np.array_equal(np.sort(tests), np.arange(23))
    for tr, te in folds:
        assert len(np.intersect1d(tr, te)) == 0 and len(tr) + len(te) == 23
    assert len(fold_indices(3, 5)) == 3
    assert [t.tolist() for _, t in fold_indices(23, 5, 1)] == [t.tolist() for _, t in folds]


def fake_sweep(curve, null=1.0, folds=3, noise=0.0, pca=None):
    rng = np.random.default_rng(0)
    rows = []
    for f in range(folds):
        for w, e in enumerate(curve, start=1):
            row = {"width": w, "fold": f, "ae_mse": e + noise * rng.normal(), "null_mse": null}
            if pca is not None:
                row["pca_mse"] = pca[w - 1]
            rows.append(row)
    return pd.DataFrame(rows)


def test_knee_methods_on_known_curves():
    # sharp knee at 3 with a flat plateau
    sw = fake_sweep([0.6, 0.3, 0.05, 0.04, 0.04, 0.039, 0.04, 0.04], pca=np.linspace(0.9, 0.2, 8))
    assert effective_dimension(sw) == 3
    assert effective_dimension(sw, method="kneedle") == 3
    assert effective_dimension(sw, method="one_se") in (3, 4, 6)
    rep = knee_report(sw)
    assert rep["autoencoder"]["plateau"] == 3 and rep["autoencoder"]["plateau_reached"]
    assert not rep["pca"]["plateau_reached"]  # PCA still falling at the last width
    # the plateau knee does not move when the sweep is extended along the plateau
    longer = fake_sweep([0.6, 0.3, 0.05] + [0.04] * 20)
    assert effective_dimension(longer) == 3
    # flat from the start: width 1 already reaches the plateau
    assert effective_dimension(fake_sweep([0.2] * 5, null=1.0)) == 1
    # nothing beats predicting the mean by 2 %: no learnable structure, dimension 0
    for method in ("plateau", "kneedle", "one_se"):
        assert effective_dimension(fake_sweep([0.995, 0.99, 0.99], null=1.0), method=method) == 0
    with pytest.raises(ValueError):
        effective_dimension(sw, method="elbow?")
    with pytest.raises(KeyError):
        effective_dimension(sw, column="nope")


def folds_sweep(per_fold, null=1.0):
    """A sweep table from explicit per-fold curves: per_fold[f][w - 1] is fold f's error at width w."""
    return pd.DataFrame([{"width": w, "fold": f, "ae_mse": e, "null_mse": null, "ae_best_epoch": 30}
                         for f, curve in enumerate(per_fold) for w, e in enumerate(curve, start=1)])


def test_resolved_when_the_curve_explains_most_of_the_held_out_variance():
    sw = fake_sweep([0.6, 0.3, 0.05, 0.04, 0.04], folds=5, noise=0.005)
    res = resolution(sw)
    assert res["resolved"] and res["reason"] is None
    assert res["r2"] == pytest.approx(1 - summarize_sweep(sw)["ae_mean"].min())
    assert res["best_width"] in (3, 4, 5) and res["gain"] > res["fold_spread"]
    assert describe_resolution(res) == f"resolved (R² = {res['r2']:.2g})"
    assert knee_report(sw)["autoencoder"]["resolution"] == res


def test_unresolved_when_the_held_out_variance_explained_is_small():
    # ROY P21/c: a knee exists (the curve flattens at width 3) but explains 6.5 % of held-out variance
    sw = fake_sweep([0.97, 0.95, 0.935, 0.935, 0.936], folds=5, noise=0.002)
    assert effective_dimension(sw) == 3  # the knee the table used to print
    res = resolution(sw)
    assert not res["resolved"] and res["r2"] == pytest.approx(0.065, abs=0.005)
    assert "R² = 0.06" in res["reason"] and "< 0.5" in res["reason"]
    assert describe_resolution(res).startswith("unresolved (R² = 0.06")
    # the threshold is a parameter
    assert resolution(sw, min_r2=0.05)["resolved"]


def test_unresolved_when_the_gain_is_within_the_fold_spread():
    # mean held-out R² 0.6, but one fold reconstructs nothing: the gain does not exceed the fold spread
    per_fold = [[0.5, 0.0, 0.0], [0.6, 0.1, 0.1], [1.2, 1.1, 1.1]]
    res = resolution(folds_sweep(per_fold))
    assert res["r2"] == pytest.approx(0.6) and res["best_width"] == 2
    assert res["gain"] == pytest.approx(0.6) and res["fold_spread"] == pytest.approx(np.std([1, 0.9, -0.1], ddof=1))
    assert not res["resolved"] and "fold spread" in res["reason"]
    assert res["best_epoch"] == 30
    # the same mean with consistent folds is resolved
    steady = resolution(folds_sweep([[0.5, 0.35, 0.35], [0.6, 0.4, 0.4], [0.55, 0.45, 0.45]]))
    assert steady["resolved"] and steady["r2"] == pytest.approx(0.6)


def test_sweep_table_and_pca_baseline_on_linear_data():
    # a 2-d linear subspace of 12-d: PCA is exact at width 2, never worse with more components
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2)) @ rng.normal(size=(2, 12)) + 1e-3 * rng.normal(size=(60, 12))
    tiny = dict(hidden=(16, 8), max_epochs=30, patience=10)
    sw = width_sweep(X, widths=[1, 2, 3], n_folds=3, seed=0, **tiny)
    assert list(sw.columns[:6]) == ["width", "fold", "n_train", "n_test", "ae_mse", "pca_mse"]
    assert len(sw) == 9 and set(sw["fold"]) == {0, 1, 2}
    s = summarize_sweep(sw)
    assert s["pca_mean"].is_monotonic_decreasing
    assert s["pca_mean"].iloc[1] < 1e-3 < s["pca_mean"].iloc[0]
    assert s["null_mean"].iloc[0] == pytest.approx(1.0, abs=0.3)
    assert effective_dimension(sw, column="pca_mse") == 2
    assert sw.attrs["n"] == 60 and sw.attrs["n_folds"] == 3
    # deterministic
    again = width_sweep(X, widths=[1, 2, 3], n_folds=3, seed=0, **tiny)
    assert np.array_equal(again["ae_mse"].to_numpy(), sw["ae_mse"].to_numpy())


def test_knee_of_2d_curved_manifold_fast():
    X = nonlinear_manifold(160, 2, 20, seed=0)
    sw = width_sweep(X, widths=range(1, 5), n_folds=2, seed=0, **FAST)
    rep = knee_report(sw)
    assert abs(rep["autoencoder"]["plateau"] - 2) <= 1
    s = summarize_sweep(sw)
    # curved: at the true width the autoencoder beats PCA
    assert s["ae_mean"].iloc[1] < s["pca_mean"].iloc[1]
    # a real fit that resolves: most of the held-out variance reconstructed, consistently over folds
    res = rep["autoencoder"]["resolution"]
    assert res["resolved"] and res["r2"] > 0.8, res


@pytest.mark.slow
def test_knee_of_3d_curved_manifold_in_50d():
    for seed in (0, 1):
        X = nonlinear_manifold(300, 3, 50, seed=seed)
        sw = width_sweep(X, max_width=7, n_folds=3, seed=seed,
                         hidden=(64, 32), max_epochs=150, patience=20, lr=3e-3)
        rep = knee_report(sw)
        assert abs(rep["autoencoder"]["plateau"] - 3) <= 1
        assert abs(rep["autoencoder"]["kneedle"] - 3) <= 1
        assert rep["autoencoder"]["plateau_reached"]
        # PCA needs more components than the manifold dimension
        assert rep["pca"]["plateau"] > 3
