"""latentcsp.analysis.intrinsic: nonlinear ID estimators, intervals, skips, local ID."""

import json
import warnings

import numpy as np
import pytest

from latentcsp.analysis import intrinsic
from latentcsp.analysis.intrinsic import ESTIMATORS, estimate, local_pca_eigenvalues, pointwise_lpca
from latentcsp.analysis.pca import spectrum


def swiss_roll(n, rng):
    """2-d swiss roll in 3-d."""
    t = 1.5 * np.pi * (1 + 2 * rng.uniform(size=n))
    h = 21 * rng.uniform(size=n)
    return np.c_[t * np.cos(t), h, t * np.sin(t)]


def curved(n, d, D, rng, amp=0.15, freq=1.0):
    """A d-dim manifold: [0,1]^d, bent by 3d sinusoidal features, isometrically placed in R^D."""
    t = rng.uniform(0, 1, (n, d))
    W = rng.normal(0, freq, (d, 3 * d))
    F = np.c_[t, amp * np.sin(2 * np.pi * t @ W / np.sqrt(d))]
    Q, _ = np.linalg.qr(rng.normal(size=(D, F.shape[1])))
    return F @ Q.T


@pytest.fixture(scope="module")
def swiss_result():
    X = swiss_roll(500, np.random.default_rng(0))
    return X, estimate(X, n_boot=8, seed=0)


def test_swiss_roll_all_estimators(swiss_result):
    _, r = swiss_result
    assert set(r["estimators"]) == set(ESTIMATORS)
    for name, e in r["estimators"].items():
        assert e["status"] == "ok", (name, e["reason"])
        assert abs(e["dimension"] - 2.0) < 0.5, (name, e["dimension"])


def test_intervals_are_replicate_quantiles(swiss_result):
    _, r = swiss_result
    for name, e in r["estimators"].items():
        boot = e["boot"]
        assert boot["n_ok"] == 8 and len(boot["values"]) == 8, name
        lo, med, hi = np.quantile(boot["values"], [0.025, 0.5, 0.975])
        assert (e["ci_low"], e["ci_high"]) == (pytest.approx(lo), pytest.approx(hi)), name
        assert boot["median"] == pytest.approx(med)
        assert e["bias"] == pytest.approx(med - e["dimension"]), name  # f = 1/2: the plain shift
        assert e["resample_size"] == boot["rows_per_resample"] == 250
        if name == "lPCA":  # 20 neighbours at half the density span more of the roll and see its curvature
            assert e["bias"] > 0
        else:  # the others have converged on a 2-d manifold at n = 500
            assert abs(e["bias"]) < 0.3, name
    g = r["estimators"]["GRIDE"]
    assert g["n1"] == 4 and g["n2"] == 8 and g["error"] > 0
    sc = g["scales"]
    assert sc["n1"][:3] == [1, 2, 4] and sc["n2"][:3] == [2, 4, 8]
    assert len(sc["dimension"]) == len(sc["ci_low"]) == len(sc["error"]) == len(sc["radius"]) == len(sc["bias"])
    assert sc["dimension"][2] == pytest.approx(g["dimension"])
    assert sc["ci_low"][2] == pytest.approx(g["ci_low"]) and sc["bias"][2] == pytest.approx(g["bias"])
    for lo, hi in zip(sc["ci_low"], sc["ci_high"]):
        assert 0 <= lo <= hi
    assert np.all(np.diff(sc["radius"]) > 0)
    assert r["estimators"]["DANCo"]["ver"] == "DANCoFit"


def test_interval_is_made_of_the_refits(monkeypatch):
    """Every replicate is a real refit on a half-sized subset, and the interval is their quantiles."""
    calls = []
    fit = intrinsic._SPECS["TwoNN"].fit

    def recording(X, p, seed):
        vec, extra = fit(X, p, seed)
        calls.append((len(X), float(vec[0])))
        return vec, extra

    monkeypatch.setitem(intrinsic._SPECS, "TwoNN", intrinsic._Spec(lambda p: 3, recording))
    X = swiss_roll(120, np.random.default_rng(11))
    e = estimate(X, estimators=("TwoNN",), n_boot=12, pointwise=False)["estimators"]["TwoNN"]
    (n_full, full), reps = calls[0], calls[1:]
    assert n_full == 120 and e["dimension"] == pytest.approx(full)
    assert [n for n, _ in reps] == [60] * 12
    values = [v for _, v in reps]
    assert e["boot"]["values"] == pytest.approx(values)
    assert e["ci_low"] == pytest.approx(np.quantile(values, 0.025))
    assert e["ci_high"] == pytest.approx(np.quantile(values, 0.975))


def test_bounds_never_negative(monkeypatch):
    # an estimator whose replicates scatter around zero: the interval is clipped, not shifted
    def noisy(X, p, seed):
        return np.array([np.random.default_rng(seed).normal(0.5, 2.0)]), {}

    monkeypatch.setitem(intrinsic._SPECS, "TwoNN", intrinsic._Spec(lambda p: 3, noisy))
    X = swiss_roll(60, np.random.default_rng(12))
    e = estimate(X, estimators=("TwoNN",), n_boot=30, pointwise=False)["estimators"]["TwoNN"]
    assert min(e["boot"]["values"]) < 0  # the replicates do go below zero
    assert e["ci_low"] == 0.0 and e["ci_high"] == pytest.approx(np.quantile(e["boot"]["values"], 0.975))


def test_small_noisy_group_interval_is_not_negative():
    # ROY P-1 was 28 structures: TwoNN there had a re-centred interval of [-5.5, 34.0]
    X = np.random.default_rng(13).normal(size=(28, 300))
    for e in estimate(X, estimators=("TwoNN", "GRIDE"), min_size=3, n_boot=20,
                      pointwise=False)["estimators"].values():
        assert e["status"] == "ok" and 0 <= e["ci_low"] <= e["ci_high"]
        assert e["ci_low"] == pytest.approx(max(0.0, np.quantile(e["boot"]["values"], 0.025)))


def test_bias_of_mle_on_an_8d_cube_has_the_sign_of_its_n_dependence():
    """MLE under-estimates an 8-d cube and less so with more points: E[MLE] grows from n = 100 to 200.

    The reported bias (half-sample median minus full estimate) is negative, about that growth.
    """
    import warnings

    from skdim.id import MLE

    def mle(n, seed):
        X = np.random.default_rng(1000 + seed).uniform(size=(n, 8))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return MLE().fit(X, n_neighbors=20, comb="mle").dimension_

    growth = np.mean([mle(100, s) for s in range(20)]) - np.mean([mle(200, s) for s in range(20)])
    assert growth < -0.2  # the estimator depends on n here
    biases = []
    for seed in range(1, 5):
        X = np.random.default_rng(seed).uniform(size=(200, 8))
        e = estimate(X, estimators=("MLE",), n_boot=20, seed=seed, pointwise=False)["estimators"]["MLE"]
        assert e["bias"] < 0 and e["resample_size"] == 100
        biases.append(e["bias"])
    assert np.mean(biases) == pytest.approx(growth, abs=0.15)


def test_json_and_pointwise(swiss_result):
    X, r = swiss_result
    r2 = json.loads(json.dumps(r, allow_nan=False))
    assert r2["n_samples"] == 500 and r2["seed"] == 0
    for name in ("MLE", "lPCA"):
        pw = r["pointwise"][name]
        assert pw["status"] == "ok" and len(pw["values"]) == len(X)
        assert abs(pw["summary"]["median"] - 2.0) < 0.5
    assert r["resampling"] == {"method": "subsample", "n_boot": 8, "fraction": 0.5, "ci": 0.95}


def test_curved_10d_in_500d():
    X = curved(800, 10, 500, np.random.default_rng(0))
    # the embedding is genuinely nonlinear: PCA needs far more than 10 directions
    assert spectrum(X).rank > 20
    r = estimate(X, n_boot=0, pointwise=False)
    for name, e in r["estimators"].items():
        assert e["status"] == "ok", (name, e["reason"])
        assert abs(e["dimension"] - 10.0) <= 2.5, (name, e["dimension"])
        assert e["boot"]["reason"] == "n_boot=0"


@pytest.mark.slow
def test_curved_10d_in_500d_with_intervals():
    X = curved(1500, 10, 500, np.random.default_rng(1))
    r = estimate(X, n_boot=30, seed=3)
    for name, e in r["estimators"].items():
        assert e["status"] == "ok", (name, e["reason"])
        assert abs(e["dimension"] - 10.0) <= 2.5, (name, e["dimension"])
        assert 0 <= e["ci_low"] <= e["ci_high"] and e["resample_size"] == 750
    assert abs(r["pointwise"]["MLE"]["summary"]["median"] - 10) <= 2.5


def test_skip_below_min_size():
    X = swiss_roll(15, np.random.default_rng(1))
    r = estimate(X, n_boot=4)
    for name, e in r["estimators"].items():
        assert e["status"] == "skipped", name
        assert "n=15" in e["reason"] and e["dimension"] is None
    assert r["pointwise"]["MLE"]["status"] == "skipped"
    json.dumps(r, allow_nan=False)


def test_estimator_minimum_and_per_estimator_min_size():
    X = swiss_roll(18, np.random.default_rng(2))
    r = estimate(X, estimators=("TwoNN", "MLE", "GRIDE"), min_size={"TwoNN": 10, "MLE": 10, "GRIDE": 30},
                 n_boot=0, pointwise=False)
    assert r["estimators"]["TwoNN"]["status"] == "ok"
    mle = r["estimators"]["MLE"]  # n_neighbors=20 needs 21 rows whatever min_size says
    assert mle["status"] == "skipped" and mle["min_size"] == 21 and "needs >= 21" in mle["reason"]
    assert r["estimators"]["GRIDE"]["status"] == "skipped"
    r = estimate(X, estimators=("MLE",), min_size=5, params={"MLE": {"n_neighbors": 5}}, n_boot=0)
    assert r["estimators"]["MLE"]["status"] == "ok"
    assert r["estimators"]["MLE"]["params"]["n_neighbors"] == 5
    assert r["pointwise"]["MLE"]["n_neighbors"] == 5


def test_bootstrap_skipped_when_resamples_too_small():
    X = swiss_roll(30, np.random.default_rng(3))
    r = estimate(X, estimators=("MLE",), n_boot=5, min_size=20, pointwise=False)
    e = r["estimators"]["MLE"]
    assert e["status"] == "ok" and e["ci_low"] is None
    assert "below the MLE minimum" in e["boot"]["reason"]


def test_deterministic_with_seed():
    X = swiss_roll(200, np.random.default_rng(4))
    kw = dict(estimators=("TwoNN", "MLE", "GRIDE"), n_boot=5, pointwise=False)
    a, b, c = estimate(X, seed=7, **kw), estimate(X, seed=7, **kw), estimate(X, seed=8, **kw)
    assert a == b
    assert a["estimators"]["TwoNN"]["dimension"] == c["estimators"]["TwoNN"]["dimension"]
    assert a["estimators"]["TwoNN"]["ci_low"] != c["estimators"]["TwoNN"]["ci_low"]
    # results of an estimator do not depend on which others run (shared resamples)
    solo = estimate(X, seed=7, estimators=("MLE",), n_boot=5, pointwise=False)
    assert solo["estimators"]["MLE"] == a["estimators"]["MLE"]


def test_classical_bootstrap_mode():
    X = swiss_roll(300, np.random.default_rng(5))
    r = estimate(X, estimators=("TwoNN", "MLE"), n_boot=6, resample="bootstrap", pointwise=False)
    assert r["resampling"]["method"] == "bootstrap" and r["resampling"]["fraction"] is None
    for e in r["estimators"].values():
        assert e["boot"]["n_ok"] == 6
        assert e["ci_low"] < e["ci_high"]
        assert 150 < e["boot"]["rows_per_resample"] < 250  # ~63 % distinct rows


def test_local_id_separates_regions():
    rng = np.random.default_rng(6)
    line = np.c_[np.linspace(0, 10, 300), np.zeros((300, 4))] + 1e-4 * rng.normal(size=(300, 5))
    blob = np.c_[np.zeros((300, 1)) + 30, rng.normal(size=(300, 4))]
    X = np.r_[line, blob]
    r = estimate(X, estimators=("MLE",), n_boot=0, standardize=False)
    mle = np.array(r["pointwise"]["MLE"]["values"])
    lpca = np.array(r["pointwise"]["lPCA"]["values"])
    assert np.median(mle[:300]) < 1.6 and np.median(mle[300:]) > 3.0
    assert np.median(lpca[:300]) == 1 and np.median(lpca[300:]) >= 3
    assert "lPCA" not in r["estimators"]  # pointwise-only request


def test_batched_local_pca_matches_skdim():
    from skdim.id import lPCA
    from sklearn.decomposition import PCA

    X = curved(120, 3, 12, np.random.default_rng(7), amp=0.3)
    ref = lPCA(alphaFO=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref.fit_pw(X, n_neighbors=10)
    np.testing.assert_array_equal(pointwise_lpca(X, n_neighbors=10, alphaFO=0.1), ref.dimension_pw_)
    knn = intrinsic._knn_indices(X, 10)
    ev = local_pca_eigenvalues(X, knn)
    np.testing.assert_allclose(ev[5], PCA().fit(X[knn[5]]).explained_variance_, rtol=1e-8, atol=1e-12)
    # other lPCA versions go through skdim's rule on the same eigenvalues
    ref_mg = lPCA(ver="maxgap")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref_mg.fit_pw(X, n_neighbors=10)
    np.testing.assert_array_equal(pointwise_lpca(X, n_neighbors=10, ver="maxgap"), ref_mg.dimension_pw_)


def test_failures_are_recorded(monkeypatch):
    def boom(X, p, seed):
        raise RuntimeError("kaput")

    monkeypatch.setitem(intrinsic._SPECS, "TwoNN", intrinsic._Spec(lambda p: 3, boom))
    X = swiss_roll(100, np.random.default_rng(8))
    r = estimate(X, estimators=("TwoNN", "GRIDE"), n_boot=0, pointwise=False)
    assert r["estimators"]["TwoNN"]["status"] == "failed"
    assert "RuntimeError: kaput" in r["estimators"]["TwoNN"]["reason"]
    assert r["estimators"]["GRIDE"]["status"] == "ok"


def test_too_few_columns_and_bad_arguments():
    X = np.c_[np.arange(50.0), np.ones(50)]  # one varying column
    r = estimate(X, n_boot=0)
    assert r["n_features"] == 1 and r["n_constant_dropped"] == 1
    assert all(e["status"] == "skipped" and "column" in e["reason"] for e in r["estimators"].values())
    Y = swiss_roll(50, np.random.default_rng(9))
    with pytest.raises(ValueError):
        estimate(Y, estimators=("TwoNN", "Magic"))
    with pytest.raises(ValueError):
        estimate(Y, resample="jackknife")
    with pytest.raises(ValueError):
        estimate(Y, fraction=1.0)
    with pytest.raises(ValueError):
        estimate(Y, params={"Magic": {}})
    with pytest.raises(ValueError):
        estimate(Y, pointwise=("TwoNN",))


def test_estimates_do_not_change_when_features_outnumber_structures():
    """With more descriptor columns than structures the estimators run on distance-preserving
    coordinates (n of them): the same numbers as on the columns themselves."""
    from latentcsp.analysis import intrinsic

    rng = np.random.default_rng(5)
    t = rng.random((60, 3))
    X = np.tanh(t @ rng.normal(size=(3, 400)))
    Z = intrinsic.preprocess(X)[0]
    coords = intrinsic._isometric(Z)
    assert coords.shape[1] < 60
    i, j = rng.integers(0, 60, (2, 50))
    np.testing.assert_allclose(np.linalg.norm(coords[i] - coords[j], axis=1), np.linalg.norm(Z[i] - Z[j], axis=1),
                               rtol=1e-9, atol=1e-9)
    wide = estimate(X, ["TwoNN", "MLE", "lPCA", "GRIDE"], n_boot=0, pointwise=False)
    tall = estimate(X[:, :59], ["TwoNN"], n_boot=0, pointwise=False)
    assert tall["n_features"] == 59  # p < n: the columns themselves
    direct = {}
    for name in ("TwoNN", "MLE", "lPCA", "GRIDE"):
        fit = intrinsic._SPECS[name].fit
        p = dict(intrinsic.DEFAULT_PARAMS[name])
        direct[name] = fit(Z, p, 0)[0][0]  # on all p columns, no projection
        assert wide["estimators"][name]["dimension"] == pytest.approx(direct[name], rel=1e-9)
