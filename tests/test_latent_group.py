"""run_group: the whole per-group analysis, JSON-ready."""

import json

import numpy as np
import pytest

pytest.importorskip("torch")

from latentcsp.latent import DEFAULT_CONFIG, Autoencoder, merge_config, run_group  # noqa: E402
from latentcsp.latent.synthetic import nonlinear_manifold  # noqa: E402

SMALL = {
    "widths": [1, 2, 3],
    "n_folds": 2,
    "autoencoder": {"hidden": [16, 8], "max_epochs": 25, "patience": 8},
    "sampling": {"n_samples": 60},
}


def toy_structures(n, seed=0):
    """n one-atom-type toy crystals with varying cells, for the PDD comparison."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        cell = np.diag(rng.uniform(4.0, 6.0, 3)) + rng.uniform(-0.5, 0.5, (3, 3)) * (1 - np.eye(3))
        frac = rng.uniform(size=(3, 3))
        out.append({"cell": cell, "positions": frac @ cell, "numbers": np.array([6, 6, 8])})
    return out


@pytest.fixture(scope="module")
def group():
    X, t = nonlinear_manifold(40, 2, 30, seed=4, return_latent=True)
    props = {"energy": t[:, 0] + 0.1 * t[:, 1], "density": 1.4 + 0.05 * t[:, 1]}
    props["density"][3] = np.nan  # missing values are left out of that comparison
    return X, props


def test_merge_config():
    cfg = merge_config({"autoencoder": {"lr": 1e-2}, "max_width": 4})
    assert cfg["autoencoder"]["lr"] == 1e-2
    assert cfg["autoencoder"]["hidden"] == DEFAULT_CONFIG["autoencoder"]["hidden"]
    assert cfg["max_width"] == 4 and DEFAULT_CONFIG["max_width"] == 12


def test_run_group_outputs(group, tmp_path):
    X, props = group
    ids = [f"s{i:03d}" for i in range(len(X))]
    out = run_group(X, props, ids, SMALL, structures=toy_structures(len(X)))
    res = out["results"]
    json.dumps(res, allow_nan=False)  # strictly JSON
    assert res["status"] == "ok" and res["n"] == 40 and res["d"] == 30
    d_eff = res["final_width"]
    assert d_eff == max(1, res["knee_width"]) and d_eff in (1, 2, 3)
    for suffix in ("", "_pca"):  # a dimension only where the sweep resolves one
        resolved = res[f"resolution{suffix}"]["resolved"]
        assert res[f"resolved{suffix}"] == resolved
        assert res[f"effective_dimension{suffix}"] == (res[f"knee_width{suffix}"] if resolved else None)
    assert set(res["knee"]) >= {"autoencoder", "pca"}
    assert len(out["sweep"]) == 3 * 2
    c = out["coordinates"]
    assert c["ae"].shape == (40, d_eff) and c["pca"].shape == (40, d_eff) and c["vae"].shape == (40, d_eff)
    assert c["ae_2d"].shape == (40, 2) and c["pca_2d"].shape == (40, 2)
    assert out["ids"] == ids
    nb = res["neighbourhoods"]
    assert set(nb) == {"descriptors", "pdd", "energy", "density"}
    assert set(nb["descriptors"]) >= {"ae", "pca", "vae"}
    assert "descriptors" in nb["pdd"] and "descriptors" not in nb["descriptors"]
    assert nb["density"]["ae"]["n"] == 39
    row = nb["descriptors"]["ae"]["by_k"][0]
    assert 0.0 <= row["trustworthiness"] <= 1.0
    assert set(res["sampling"]) == {"ae_gmm", "vae_prior", "pca_gaussian"}
    assert all(0.0 <= s["inside_support"] <= 1.0 for s in res["sampling"].values())
    # the returned models save and reload to the same coordinates
    path = out["models"]["ae"].save(tmp_path / "ae.npz")
    assert np.array_equal(Autoencoder.load(path).transform(X), c["ae"])


def test_run_group_is_deterministic(group):
    X, props = group
    cfg = dict(SMALL, vae={"enabled": False})
    a = run_group(X, props, None, cfg)
    b = run_group(X, props, None, cfg)
    assert a["results"]["effective_dimension"] == b["results"]["effective_dimension"]
    assert np.array_equal(a["coordinates"]["ae"], b["coordinates"]["ae"])
    assert "vae" not in a["coordinates"] and "vae_prior" not in a["results"]["sampling"]
    assert a["results"]["sampling"]["ae_gmm"] == b["results"]["sampling"]["ae_gmm"]


def test_precomputed_pdd_and_checks(group):
    X, props = group
    rng = np.random.default_rng(0)
    P = rng.uniform(size=(40, 40))
    P = P + P.T
    np.fill_diagonal(P, 0)
    cfg = dict(SMALL, vae={"enabled": False}, map_width=None)
    out = run_group(X, {}, None, cfg, pdd_distances=P)
    assert set(out["results"]["neighbourhoods"]) == {"descriptors", "pdd"}
    assert "ae_2d" not in out["coordinates"]
    with pytest.raises(ValueError):
        run_group(X, {}, None, cfg, pdd_distances=P[:5, :5])
    with pytest.raises(ValueError):
        run_group(X, {"energy": np.zeros(3)}, None, cfg)
    with pytest.raises(ValueError):
        run_group(X, {}, ["a"], cfg)


def test_small_group_is_skipped():
    out = run_group(np.random.default_rng(0).normal(size=(6, 5)), {"energy": np.arange(6.0)})
    assert out["results"]["status"] == "skipped" and "min_structures" in out["results"]["reason"]
    assert out["sweep"] is None and out["coordinates"] == {}
    json.dumps(out["results"], allow_nan=False)


def test_noise_is_unresolved_but_still_mapped():
    X = np.random.default_rng(1).normal(size=(40, 30))
    res = run_group(X, {}, None, dict(SMALL, vae={"enabled": False}))
    r = res["results"]
    assert r["effective_dimension"] is None and r["effective_dimension_pca"] is None
    assert not r["resolved"] and r["resolution"]["r2"] < 0.1 and "R²" in r["resolution"]["reason"]
    assert r["final_width"] >= 1 and res["coordinates"]["ae"].shape == (40, r["final_width"])
    json.dumps(r, allow_nan=False)


def test_pdd_neighbourhoods_on_a_capped_subset(group, monkeypatch):
    """The PDD EMD matrix is quadratic: above pdd.max_structures it is computed on a seeded
    subset only, and results say so."""
    import latentcsp.analysis.similarity as similarity

    X, props = group
    sizes = []
    real = similarity.pdd_distance_matrix
    monkeypatch.setattr(similarity, "pdd_distance_matrix", lambda s, **kw: sizes.append(len(s)) or real(s, **kw))
    out = run_group(X, props, None, {**SMALL, "pdd": {"max_structures": 25}}, structures=toy_structures(len(X)))
    assert sizes == [25]
    assert out["results"]["pdd_subset"] == {"size": 25, "of": 40, "seed": 0}
    assert set(out["results"]["neighbourhoods"]["pdd"]) >= {"ae", "pca", "descriptors"}
    full = run_group(X, props, None, SMALL, structures=toy_structures(len(X)))
    assert sizes == [25, 40] and "pdd_subset" not in full["results"]
