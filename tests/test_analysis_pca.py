"""latentcsp.analysis.pca: spectra, threshold counts, ranks, solvers, scores."""

import json

import numpy as np
import pytest
from scipy.linalg import hadamard

from latentcsp.analysis.pca import (
    covariance_eigenvalues,
    fixed_size,
    parallel_analysis,
    preprocess,
    scores,
    spectrum,
    threshold_key,
)


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


def _signal_plus_noise(n, p, k, seed=0, noise="gaussian"):
    """k orthogonal signal directions with variances 60, 50, ... 20 plus unit noise per column."""
    rng = np.random.default_rng(seed)
    variances = np.array([60.0, 50.0, 40.0, 30.0, 25.0, 20.0])[:k]
    Q = np.linalg.qr(rng.normal(size=(p, max(k, 1))))[0][:, :k]
    S = rng.normal(size=(n, k)) * np.sqrt(variances)
    if noise == "gaussian":
        E = rng.normal(size=(n, p))
    else:  # skewed, sparse and of very different scales per column
        E = rng.exponential(size=(n, p)) * (rng.uniform(size=(n, p)) < 0.3) * np.logspace(-2, 2, p)
        E = E / E.std(axis=0)
    return S @ Q.T + E


def test_covariance_eigenvalues_match_numpy_both_ways():
    rng = np.random.default_rng(7)
    for n, p in ((12, 40), (40, 12)):
        Z = rng.normal(size=(n, p))
        Z -= Z.mean(axis=0)
        ref = np.sort(np.linalg.eigvalsh(np.cov(Z, rowvar=False)))[::-1][: min(n - 1, p)]
        np.testing.assert_allclose(covariance_eigenvalues(Z), ref, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(covariance_eigenvalues(Z, 3), ref[:3], rtol=1e-10)


@pytest.mark.parametrize("n, p", [(100, 400), (400, 60)])  # Gram path (p > n) and covariance path
@pytest.mark.parametrize("k", [0, 3, 6])
def test_parallel_analysis_counts_the_signal_components(n, p, k):
    s = spectrum(_signal_plus_noise(n, p, k, seed=k), null_permutations=20)
    assert s.noise_null["n_components"] == k
    assert len(s.noise_null["null_eigenvalues"]) == len(s.eigenvalues)
    if p > n:  # the threshold count says something else entirely: it is driven by the noise
        assert s.n_for(0.8) > k + 5


def test_parallel_analysis_with_non_gaussian_columns():
    X = _signal_plus_noise(200, 150, 4, seed=3, noise="sparse")
    s = spectrum(X, null_permutations=20)
    assert s.noise_null["n_components"] == 4
    again = spectrum(X, null_permutations=20)
    assert again.noise_null == s.noise_null  # seeded
    assert spectrum(X).noise_null is None and spectrum(X).to_dict()["noise_null"] is None
    with pytest.raises(ValueError):
        parallel_analysis(X, s.eigenvalues, n_permutations=0)


def test_fixed_size_counts_do_not_grow_with_n():
    # the same 5-component landscape at four sizes: the full-sample n80 grows with n,
    # the count on subsets of 30 structures stays put
    full, fixed, elbows = [], [], []
    for n in (40, 80, 160, 320):
        X = _signal_plus_noise(n, 200, 5, seed=1)
        full.append(spectrum(X).n_for(0.8))
        f = fixed_size(X, 30, repeats=20, seed=0)
        assert f["size"] == 30 and f["repeats"] == 20 and f["reason"] is None
        fixed.append(f["n_components"]["0.8"]["mean"])
        elbows.append(f["elbow"]["mean"])
        assert f["n_components"]["0.8"]["min"] <= f["n_components"]["0.8"]["mean"] <= f["n_components"]["0.8"]["max"]
    assert all(b > a + 5 for a, b in zip(full, full[1:])), full
    assert max(fixed) - min(fixed) <= 1.5, fixed
    assert max(elbows) - min(elbows) <= 1.0, elbows


def test_fixed_size_small_group_and_flag():
    X = _signal_plus_noise(20, 50, 2)
    f = fixed_size(X, 30)
    assert f["n_components"] == {"0.8": None} and f["elbow"] is None and "20 structures" in f["reason"]
    assert f["sample_limited"] == {"0.8": None}
    # exactly m rows: every subset is the whole group
    g = fixed_size(X, 20, repeats=3, thresholds=(0.8, 0.9))
    s = spectrum(X, thresholds=(0.8, 0.9))
    assert g["n_components"]["0.9"] == {"mean": s.n_for(0.9), "std": 0.0, "min": s.n_for(0.9), "max": s.n_for(0.9)}
    assert s.sample_limited() == {"0.8": s.n_for(0.8) >= 9.5, "0.9": s.n_for(0.9) >= 9.5}
    # 20 structures of pure noise in 200 columns: 80 % needs at least half of the 19 possible components
    noise = spectrum(np.random.default_rng(0).normal(size=(20, 200)), thresholds=(0.8, 0.9))
    assert noise.n_for(0.8) >= 19 / 2 and noise.sample_limited() == {"0.8": True, "0.9": True}
    assert noise.to_dict()["sample_limited"] == {"0.8": True, "0.9": True}
    assert spectrum(_low_rank(200, 40, 3)).sample_limited() == {"0.8": False}
    assert fixed_size(_low_rank(200, 40, 3), 30)["sample_limited"] == {"0.8": False}
    at_m = fixed_size(np.random.default_rng(1).normal(size=(60, 200)), 30)
    assert at_m["n_components"]["0.8"]["mean"] >= 14.5 and at_m["sample_limited"] == {"0.8": True}
