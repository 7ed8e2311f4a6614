"""latentcsp.analysis.pca: spectra, threshold counts, ranks, solvers, scores."""

import json

import numpy as np
import pytest
from scipy.linalg import hadamard

from latentcsp.analysis.pca import preprocess, scores, spectrum, threshold_key


def _low_rank(n, p, r, seed=0, noise=0.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, r)) @ rng.normal(size=(r, p))
    return X + noise * rng.normal(size=(n, p))


def _exact_variances(variances, n=16):
    """Columns of a Hadamard matrix (orthogonal, zero mean) with exact variances."""
    H = hadamard(n)[:, 1 : len(variances) + 1].astype(float)
    return H * np.sqrt(np.asarray(variances) * (n - 1) / n)


@pytest.mark.parametrize("r", [1, 3, 7])
def test_known_rank(r):
    X = _low_rank(200, 40, r)
    s = spectrum(X, standardize=False, thresholds=(0.8, 1.0))
    assert s.rank == r
    assert s.n_for(1.0) == r
    assert s.n_for(0.8) <= r
    assert s.cumulative[-1] == pytest.approx(1.0)
    assert np.all(np.diff(s.eigenvalues) <= 1e-9)
    assert np.all(np.diff(s.cumulative) >= -1e-12)
    assert s.eigenvalues[r:].max(initial=0) < 1e-8 * s.eigenvalues[0]


def test_known_rank_standardized():
    X = _low_rank(300, 25, 4, seed=1) * np.logspace(-3, 3, 25)  # wildly different column units
    s = spectrum(X, standardize=True, thresholds=(1.0,))
    assert s.rank == 4 and s.n_for(1.0) == 4


def test_threshold_counts_exact():
    # variances 4, 3, 2, 1 -> cumulative 0.4, 0.7, 0.9, 1.0
    X = _exact_variances([4.0, 3.0, 2.0, 1.0])
    s = spectrum(X, standardize=False, thresholds=(0.3, 0.7, 0.8, 0.95))
    np.testing.assert_allclose(s.eigenvalues, [4, 3, 2, 1], rtol=1e-10)
    np.testing.assert_allclose(s.cumulative, [0.4, 0.7, 0.9, 1.0], rtol=1e-10)
    assert s.n_components == {"0.3": 1, "0.7": 2, "0.8": 3, "0.95": 4}
    assert s.n_for(0.8) == 3
    assert threshold_key(0.8) == "0.8"


def test_fewer_samples_than_features():
    X = np.random.default_rng(2).normal(size=(10, 50))
    s = spectrum(X, thresholds=(0.8, 1.0))
    assert len(s.eigenvalues) == 9  # rank <= n - 1 after centring
    assert s.rank == 9
    assert s.n_for(1.0) == 9
    assert s.cumulative[-1] == pytest.approx(1.0)


def test_constant_columns_dropped_and_counted():
    X = _low_rank(100, 10, 3)
    Xc = np.c_[X[:, :5], np.full(100, 7.0), X[:, 5:], np.zeros(100)]
    s = spectrum(Xc, standardize=True)
    assert s.n_constant_dropped == 2
    assert s.n_features_in == 12 and s.n_features == 10
    np.testing.assert_allclose(s.eigenvalues, spectrum(X, standardize=True).eigenvalues, rtol=1e-8, atol=1e-12)
    Z, info = preprocess(Xc)
    assert Z.shape == (100, 10) and list(info["kept_columns"]) == [0, 1, 2, 3, 4, 6, 7, 8, 9, 10]
    np.testing.assert_allclose(Z.std(axis=0), 1.0)


def test_standardize_is_unit_invariant_raw_is_not():
    X = _low_rank(150, 8, 8, seed=3)
    Y = X * np.array([1, 1, 1, 1000, 1, 1, 1, 1.0])
    assert spectrum(X).n_components == spectrum(Y).n_components
    np.testing.assert_allclose(spectrum(X).explained_variance_ratio, spectrum(Y).explained_variance_ratio)
    assert spectrum(Y, standardize=False).explained_variance_ratio[0] > 0.99


@pytest.mark.parametrize("solver", ["full", "covariance_eigh", "randomized", "incremental"])
def test_solvers_agree(solver):
    X = _low_rank(400, 60, 6, seed=4, noise=0.01)
    ref = spectrum(X, svd_solver="auto", thresholds=(0.8, 0.99))
    s = spectrum(X, svd_solver=solver, thresholds=(0.8, 0.99), max_components=20, random_state=0)
    np.testing.assert_allclose(s.eigenvalues[:6], ref.eigenvalues[:6], rtol=1e-3)
    assert s.n_components == ref.n_components
    assert s.elbow == ref.elbow
    if solver in ("randomized", "incremental"):
        assert s.truncated and len(s.eigenvalues) == 20
        np.testing.assert_allclose(np.abs(s.scores), np.abs(ref.scores), rtol=1e-3, atol=1e-6)


def test_truncated_threshold_not_reached_is_none():
    X = np.random.default_rng(5).normal(size=(300, 100))  # isotropic: 80 % needs many components
    s = spectrum(X, svd_solver="randomized", max_components=10, thresholds=(0.05, 0.8))
    assert s.n_for(0.05) is not None
    assert s.n_for(0.8) is None
    assert s.to_dict()["n_components"]["0.8"] is None


def test_scores_and_signs():
    X = _exact_variances([9.0, 4.0, 1.0], n=32)
    sc = scores(X, n=2, standardize=False)
    assert sc.shape == (32, 2)
    np.testing.assert_allclose(sc.var(axis=0, ddof=1), [9.0, 4.0], rtol=1e-10)
    np.testing.assert_allclose(sc[:, 0], X[:, 0], atol=1e-10)  # PC1 is column 0, sign fixed positive
    np.testing.assert_allclose(scores(-X, n=2, standardize=False), -sc, atol=1e-10)
    s = spectrum(X, standardize=False, n_scores=3)
    assert s.scores.shape == (32, 3)
    assert spectrum(X, n_scores=0).scores is None


def test_elbow_reported():
    X = _low_rank(500, 30, 3, seed=6, noise=1e-3)
    s = spectrum(X, standardize=False)
    assert s.elbow in (2, 3, 4)
    assert 1 <= s.elbow <= s.rank


def test_to_dict_is_json():
    s = spectrum(_low_rank(50, 12, 3), thresholds=(0.8, 0.9))
    d = json.loads(json.dumps(s.to_dict(), allow_nan=False))
    assert d["n_components"] == {"0.8": s.n_for(0.8), "0.9": s.n_for(0.9)}
    assert len(d["eigenvalues"]) == len(d["cumulative"]) == len(d["explained_variance_ratio"])
    assert "scores" not in d


def test_degenerate_and_bad_inputs():
    s = spectrum(np.ones((5, 4)))
    assert s.rank == 0 and s.elbow is None and s.n_constant_dropped == 4
    assert s.n_for(0.8) is None
    two = spectrum(np.array([[0.0, 1.0], [1.0, 3.0]]))
    assert two.rank == 1 and two.n_for(0.8) == 1
    with pytest.raises(ValueError, match="at least 2"):
        spectrum(np.ones((1, 3)))
    with pytest.raises(ValueError):
        spectrum(np.ones(5))
    with pytest.raises(ValueError):
        spectrum(np.array([[0.0, np.nan], [1.0, 2.0]]))
    with pytest.raises(ValueError):
        spectrum(np.eye(4), thresholds=(1.5,))
    with pytest.raises(ValueError):
        spectrum(np.eye(4), svd_solver="magic")
