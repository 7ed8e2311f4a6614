"""Autoencoder estimator: determinism, save/load without pickle, VAE sampling, lazy torch."""

import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from latentcsp.latent import Autoencoder  # noqa: E402
from latentcsp.latent.synthetic import nonlinear_manifold  # noqa: E402

FAST = dict(hidden=(32, 16), max_epochs=40, patience=10, batch_size=32)


@pytest.fixture(scope="module")
def X():
    return nonlinear_manifold(80, 2, 30, seed=1) * 3.0 + 10.0


@pytest.fixture(scope="module")
def fitted(X):
    return Autoencoder(latent_dim=2, seed=0, **FAST).fit(X)


def test_import_does_not_import_torch():
    code = ("import sys, latentcsp.latent, latentcsp.analysis.neighbourhood, "
            "latentcsp.analysis.similarity; print('torch' in sys.modules, 'amd' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_shapes_and_scores(fitted, X):
    Z = fitted.transform(X)
    assert Z.shape == (80, 2) and Z.dtype == np.float64
    R = fitted.inverse_transform(Z)
    assert R.shape == X.shape
    err = fitted.score(X)
    assert err == pytest.approx(fitted.reconstruction_error(X))
    assert fitted.reconstruction_error(X, per_structure=True).shape == (80,)
    assert 0.0 < err < 0.9  # better than predicting the mean (≈ 1 in standardized units)
    assert fitted.fit_info_["n_val"] == 8 and fitted.fit_info_["monitor"] == "val"
    assert 1 <= fitted.fit_info_["best_epoch"] <= fitted.fit_info_["epochs"] <= 40
    assert fitted.components_.shape[1] == 30


def test_deterministic_with_seed(fitted, X):
    again = Autoencoder(latent_dim=2, seed=0, **FAST).fit(X)
    assert np.array_equal(again.transform(X), fitted.transform(X))
    other = Autoencoder(latent_dim=2, seed=1, **FAST).fit(X)
    assert not np.allclose(other.transform(X), fitted.transform(X))


def test_leaves_global_torch_state_alone(X):
    threads = torch.get_num_threads()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    Autoencoder(latent_dim=1, n_threads=1, **FAST).fit(X)
    assert torch.equal(torch.rand(3), expected)
    assert torch.get_num_threads() == threads


def test_save_load_reproduces_exactly(fitted, X, tmp_path):
    path = fitted.save(tmp_path / "model.npz")
    # the file is plain arrays: loadable with pickle disabled
    with np.load(path, allow_pickle=False) as f:
        assert "params_json" in f.files and any(k.startswith("w__") for k in f.files)
    loaded = Autoencoder.load(path)
    assert loaded.get_params() == fitted.get_params()
    assert np.array_equal(loaded.transform(X), fitted.transform(X))
    Z = np.linspace(-1, 1, 10).reshape(5, 2)
    assert np.array_equal(loaded.inverse_transform(Z), fitted.inverse_transform(Z))
    assert loaded.fit_info_["epochs"] == fitted.fit_info_["epochs"]


def test_load_rejects_other_files(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, a=np.arange(3))
    with pytest.raises(ValueError, match="not a"):
        Autoencoder.load(bad)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, format=np.array([{"evil": 1}], dtype=object))
    with pytest.raises(ValueError):  # object arrays need pickle, which load() refuses
        Autoencoder.load(pickled)


def test_vae_sampling(X, tmp_path):
    vae = Autoencoder(latent_dim=2, variational=True, beta=1.0, seed=3, **FAST).fit(X)
    S = vae.sample(25, random_state=7)
    assert S.shape == (25, 30) and np.all(np.isfinite(S))
    S2, Z = vae.sample(25, random_state=7, return_latent=True)
    assert np.array_equal(S, S2) and Z.shape == (25, 2)
    # samples are in the input's units, near the data
    assert np.abs(S.mean(axis=0) - X.mean(axis=0)).max() < 3 * X.std(axis=0).max()
    loaded = Autoencoder.load(vae.save(tmp_path / "vae.npz"))
    assert loaded.variational
    assert np.array_equal(loaded.sample(5, random_state=1), vae.sample(5, random_state=1))
    assert np.array_equal(loaded.transform(X), vae.transform(X))


def test_plain_autoencoder_cannot_sample_from_prior(fitted):
    with pytest.raises(ValueError, match="variational"):
        fitted.sample(3)


def test_tiny_group_trains_without_validation():
    X = np.random.default_rng(0).normal(size=(6, 12))
    ae = Autoencoder(latent_dim=2, **FAST).fit(X)
    assert ae.fit_info_["n_val"] == 0 and ae.fit_info_["monitor"] == "train"
    assert ae.transform(X).shape == (6, 2)
    assert ae.components_.shape[0] <= 5  # 6 points span at most 5 dimensions


def test_without_input_pca_and_constant_features(X):
    Xc = np.c_[X, np.full(len(X), 4.2)]  # a zero-variance feature must not give NaN
    ae = Autoencoder(latent_dim=2, input_pca=False, **FAST).fit(Xc)
    assert ae.components_ is None
    assert np.all(np.isfinite(ae.transform(Xc)))
    assert np.isfinite(ae.score(Xc))


def test_input_checks(fitted, X):
    with pytest.raises(RuntimeError):
        Autoencoder().transform(X)
    with pytest.raises(ValueError):
        fitted.transform(X[:, :5])
    with pytest.raises(ValueError):
        fitted.inverse_transform(np.zeros((2, 3)))
    with pytest.raises(ValueError):
        Autoencoder(latent_dim=0).fit(X)
    with pytest.raises(ValueError):
        Autoencoder(activation="sigmoid").fit(X)
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError):
        Autoencoder().fit(bad)


def test_sklearn_clone_and_params():
    from sklearn.base import clone

    ae = Autoencoder(latent_dim=4, hidden=(8,), variational=True)
    c = clone(ae)
    assert c.get_params() == ae.get_params()
    assert "latent_dim=4" in repr(ae)


def test_constant_columns_are_dropped_by_the_analysis_rule(X):
    """Dust columns (spread at most const_tol x the largest) get an infinite scale exactly where PCA's
    preprocessing drops them: they weigh nothing in the errors and decode to their training mean."""
    from latentcsp.analysis.pca import preprocess
    from latentcsp.latent.autoencoder import feature_scale

    rng = np.random.default_rng(3)
    dust = 1e-3 + 1e-12 * rng.normal(size=len(X))  # alive against itself, dust against the rest
    Xd = np.c_[X, dust, np.full(len(X), 4.2)]
    scale = feature_scale(Xd)
    _, info = preprocess(Xd)
    assert np.array_equal(np.flatnonzero(np.isfinite(scale)), info["kept_columns"])
    assert np.isinf(scale[-2:]).all() and np.isfinite(scale[:-2]).all()
    ae = Autoencoder(latent_dim=2, **FAST).fit(Xd)
    np.testing.assert_allclose(ae.reconstruct(Xd)[:, -2:], np.broadcast_to(Xd[:, -2:].mean(0), (len(X), 2)))
    moved = Xd.copy()
    moved[:, -2] += 1e-6  # 1e6 of its own spreads: would dominate the error if standardized by it
    assert ae.reconstruction_error(moved) == pytest.approx(ae.reconstruction_error(Xd), rel=1e-12)
