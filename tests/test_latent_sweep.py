"""Width sweep and knee: synthetic manifolds of known dimension."""

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch")

from latentcsp.latent import effective_dimension, fold_indices, knee_report, summarize_sweep, width_sweep  # noqa: E402
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
