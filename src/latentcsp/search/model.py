"""A generative model of one space group's crystals whose latent space is shared by the
descriptors and the DoF coordinates, so that a point of the latent map is a crystal.

Each training crystal is one row of two blocks, every column standardised:

* its descriptor vector (the landscape's symmetry functions), reduced to its leading
  ``descriptor_components`` principal components (default: as many as the DoF features,
  so both blocks weigh the same);
* its DoF vector in the encoding without wrap-around jumps (:class:`.encoding.DofEncoding`).

The model is probabilistic PCA (Tipping & Bishop, J. R. Stat. Soc. B 61, 611 (1999)) of
the joined rows with a latent space of ``width`` dimensions, the linear variational
autoencoder, fitted in closed form (maximum likelihood: scikit-learn's PCA gives the
loadings and the noise variance, the mean of the discarded eigenvalues): one latent space
for both blocks, so a crystal's latent coordinates (the posterior mean) come from its
descriptors and its geometry together and every latent point decodes to both. Sampling
draws latent points from a Gaussian mixture
(:func:`~latentcsp.latent.sampling.fit_latent_density`) fitted to the latent coordinates
of the training crystals within ``low_energy`` kJ/mol of the lowest (all of them when None
or when fewer than two are), decodes them with the model's Gaussian noise (``noise`` times
its fitted standard deviation) and turns the DoF features into DoF vectors.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

from ..latent.autoencoder import feature_scale, unstandardize
from ..latent.sampling import fit_latent_density
from .encoding import DofEncoding


@dataclass
class GeneratorSettings:
    """The ``search.model`` config section. descriptor_components: descriptor principal
    components in each row (None: as many as DoF features); low_energy: kJ/mol window of
    the training crystals the latent density is fitted to (None: all); noise: the decoder's
    noise in units of its fitted standard deviation; max_components: of the latent
    Gaussian mixture."""

    descriptor_components: int | None = None
    low_energy: float | None = 5.0
    noise: float = 1.0
    max_components: int = 3

    @classmethod
    def from_config(cls, cfg: dict | None) -> "GeneratorSettings":
        known = {f.name for f in fields(cls)}
        unknown = set(cfg or {}) - known
        if unknown:
            raise ValueError(f"unknown search.model settings {sorted(unknown)}; known: {sorted(known)}")
        return cls(**(cfg or {}))

    def to_dict(self) -> dict:
        return asdict(self)


class CrystalGenerator:
    """Joint descriptor + DoF probabilistic PCA of one group (see the module docstring)."""

    def __init__(self, encoding: DofEncoding, width: int, settings: GeneratorSettings | None = None,
                 seed: int = 0):
        self.encoding = encoding
        self.width = int(width)
        self.settings = settings or GeneratorSettings()
        self.seed = int(seed)

    def _joined(self, descriptors, thetas) -> np.ndarray:
        """Joint rows (n, k + n_features): descriptor principal components, DoF features."""
        d = ((np.asarray(descriptors, float) - self.desc_mean_) / self.desc_scale_) @ self.desc_axes_.T
        return np.hstack([d, self.encoding.encode(thetas)])

    def _rows(self, descriptors, thetas) -> np.ndarray:
        """Standardised joint rows."""
        return (self._joined(descriptors, thetas) - self.row_mean_) / self.row_scale_

    def fit(self, descriptors, thetas, energies) -> "CrystalGenerator":
        """Fit to crystals: descriptors (n, p), DoF vectors (n, n_dof), energies (n,) kJ/mol.
        The latent width is capped at n - 2 (the noise variance needs a discarded axis)."""
        from sklearn.decomposition import PCA

        X, thetas = np.asarray(descriptors, dtype=float), np.asarray(thetas, dtype=float)
        energies = np.asarray(energies, dtype=float)
        if not len(X) == len(thetas) == len(energies) or len(X) < 3:
            raise ValueError(f"need at least 3 crystals with descriptors, DoF vectors and energies "
                             f"(got {len(X)}, {len(thetas)}, {len(energies)})")
        s = self.settings
        self.desc_mean_, self.desc_scale_ = X.mean(axis=0), feature_scale(X)
        _, sv, vt = np.linalg.svd((X - self.desc_mean_) / self.desc_scale_, full_matrices=False)
        k = min(s.descriptor_components or self.encoding.n_features, int(np.sum(sv > sv[0] * 1e-8)))
        self.desc_axes_ = vt[:k]
        raw = self._joined(X, thetas)
        self.row_mean_, self.row_scale_ = raw.mean(axis=0), feature_scale(raw)
        rows = (raw - self.row_mean_) / self.row_scale_
        self.width_fitted_ = max(1, min(self.width, len(rows) - 2, rows.shape[1] - 1))
        self.pca_ = PCA(n_components=self.width_fitted_, svd_solver="full").fit(rows)
        sigma2 = self.pca_.noise_variance_
        self.loadings_ = self.pca_.components_.T * np.sqrt(np.maximum(self.pca_.explained_variance_ - sigma2, 0.0))
        self.noise_ = s.noise * np.sqrt(sigma2)
        self.latent_ = self._posterior_mean(rows)
        low = np.ones(len(rows), bool) if s.low_energy is None else energies <= energies.min() + s.low_energy
        if low.sum() < 2:
            low[:] = True
        self.density_ = fit_latent_density(self.latent_[low], max_components=s.max_components, seed=self.seed)
        self.n_density_ = int(low.sum())
        return self

    def _posterior_mean(self, rows: np.ndarray) -> np.ndarray:
        """E[z | row] = M^-1 W^T (row - mean), M = W^T W + sigma^2 I."""
        w = self.loadings_
        m = w.T @ w + self.pca_.noise_variance_ * np.eye(w.shape[1])
        return np.linalg.solve(m, w.T @ (rows - self.pca_.mean_).T).T

    def encode(self, descriptors, thetas) -> np.ndarray:
        """Latent coordinates (n, width) of crystals (their descriptors and DoF vectors)."""
        return self._posterior_mean(self._rows(descriptors, thetas))

    def decode(self, latent, rng=None) -> np.ndarray:
        """DoF vectors (m, n_dof) of latent points (m, width): the model's mean, plus its
        Gaussian noise when ``rng`` (a numpy Generator) is given."""
        rows = np.atleast_2d(latent) @ self.loadings_.T + self.pca_.mean_
        if rng is not None:
            rows = rows + rng.standard_normal(rows.shape) * self.noise_
        k = self.desc_axes_.shape[0]
        return self.encoding.decode(unstandardize(rows, self.row_mean_, self.row_scale_)[:, k:])

    def sample(self, n: int, rng) -> tuple[np.ndarray, np.ndarray]:
        """``n`` DoF vectors (n, n_dof) and the latent points (n, width) they were decoded
        from; rng: a numpy Generator."""
        self.density_.random_state = int(rng.integers(2**31))
        z, _ = self.density_.sample(int(n))
        z = z[rng.permutation(len(z))]  # GaussianMixture.sample returns them grouped by component
        return self.decode(z, rng), z
