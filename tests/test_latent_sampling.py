"""Latent sampling, decoding and the realism score."""

import numpy as np
import pytest

pytest.importorskip("torch")

from latentcsp.latent import (  # noqa: E402
    Autoencoder,
    fit_latent_density,
    pca_gaussian_samples,
    realism,
    sample_and_score,
    sample_latent,
)
from latentcsp.latent.synthetic import nonlinear_manifold  # noqa: E402

FAST = dict(hidden=(32, 16), max_epochs=40, patience=10)


@pytest.fixture(scope="module")
def X():
    return nonlinear_manifold(100, 2, 25, seed=2)


def test_realism_known_answers(X):
    same = realism(X, X)
    assert same["sample_nn"]["median"] == pytest.approx(0.0, abs=1e-12)
    assert same["inside_support"] == 1.0 and same["coverage"] == 1.0
    far = realism(X + 100.0 * X.std(axis=0), X)
    assert far["inside_support"] == 0.0
    assert far["median_ratio"] > 10
    # the threshold is the 95th percentile of the landscape's nearest-neighbour distances
    assert same["threshold"] == pytest.approx(same["landscape_nn"]["p95"])
    assert same["centroid_distance_ratio"] == pytest.approx(1.0)
    # blurred averages: in many dimensions the centroid is "inside the support", the ratio says why
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(50, 200))
    blur = realism(np.repeat(noise.mean(axis=0, keepdims=True), 10, axis=0), noise)
    assert blur["inside_support"] == 1.0
    assert blur["centroid_distance_ratio"] < 0.05 and blur["coverage"] <= 0.02
    assert blur["centroid_inside_support"]
    ring = np.c_[np.cos(np.linspace(0, 6.2, 60)), np.sin(np.linspace(0, 6.2, 60))]
    assert not realism(ring, ring)["centroid_inside_support"]  # the hole of a ring is outside
    one = realism(X[:1], X)
    assert one["n_samples"] == 1 and one["coverage"] == pytest.approx(1 / 100)


def test_gmm_sampling_of_plain_autoencoder(X):
    ae = Autoencoder(latent_dim=2, hidden=(32, 16), max_epochs=200, patience=20).fit(X)
    Z, how = sample_latent(ae, X, 50, seed=1)
    assert Z.shape == (50, 2) and how["method"] == "gmm" and how["n_components"] >= 1
    Z2, _ = sample_latent(ae, X, 50, seed=1)
    assert np.array_equal(Z, Z2)
    with pytest.raises(ValueError):
        sample_latent(ae, X, 5, method="prior")
    with pytest.raises(ValueError):
        sample_latent(ae, None, 5, method="gmm")
    res = sample_and_score(ae, X, 200, seed=0)
    assert 0.0 <= res["inside_support"] <= 1.0
    assert 0.0 <= res["reference_inside_support"] <= 1.0
    # decoded GMM samples stay near the landscape, unlike far-off vectors
    assert res["inside_support"] > 0.5
    assert res["sample_nn"]["median"] < 3 * res["landscape_nn"]["p95"]


def test_vae_prior_sampling(X):
    vae = Autoencoder(latent_dim=2, variational=True, **FAST).fit(X)
    res = sample_and_score(vae, X, 100, seed=0)
    assert res["sampling"] == {"method": "prior"}
    assert res["n_samples"] == 100 and np.isfinite(res["sample_nn"]["median"])


def test_density_and_pca_baseline(X):
    gm = fit_latent_density(np.random.default_rng(0).normal(size=(30, 3)), max_components=4)
    assert 1 <= gm.n_components <= 4
    S = pca_gaussian_samples(X, 3, 40, seed=0)
    assert S.shape == (40, 25)
    assert np.array_equal(S, pca_gaussian_samples(X, 3, 40, seed=0))
    assert realism(S, X)["inside_support"] >= 0.0
