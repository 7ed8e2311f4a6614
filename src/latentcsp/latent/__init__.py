"""Latent spaces of CSP landscapes: autoencoders, the width sweep, sampling.

Library choice: PyTorch's CPU build (the ``latent`` extra, ``torch==2.13.0``).
The variational autoencoder needs a custom loss (reconstruction + KL) and the
reparameterisation trick, and every model needs its bottleneck read out and
decoded on its own, none of which scikit-learn's ``MLPRegressor`` can do;
torch on the CPU is fast for networks this small, deterministic with a seed,
and its weights save as plain arrays (npz, no pickle). Details in
:mod:`latentcsp.latent.autoencoder`. Importing this package does not import
torch; building or loading a model does.

Entry points::

    from latentcsp.latent import Autoencoder, width_sweep, effective_dimension, run_group

* :class:`Autoencoder` - sklearn-style estimator (``fit``, ``fit_stream`` for
  rows read a chunk at a time, ``transform``,
  ``inverse_transform``, ``score`` = reconstruction MSE, ``sample`` for a VAE,
  ``save``/``load`` as npz).
* :func:`width_sweep`, :func:`effective_dimension`, :func:`knee_report`,
  :func:`resolution` - held-out error per width for AE and PCA, the knee, and
  whether the sweep resolves a dimension at all.
* :func:`sample_and_score`, :func:`realism` - sampling, decoding, realism.
* :func:`run_group` - all of it for one group, JSON-ready.
"""

from .autoencoder import Autoencoder
from .group import DEFAULT_CONFIG, merge_config, run_group
from .sampling import fit_latent_density, pca_gaussian_samples, realism, sample_and_score, sample_latent
from .sweep import effective_dimension, fold_indices, knee_report, resolution, summarize_sweep, width_sweep

__all__ = [
    "Autoencoder",
    "DEFAULT_CONFIG",
    "effective_dimension",
    "fit_latent_density",
    "fold_indices",
    "knee_report",
    "merge_config",
    "pca_gaussian_samples",
    "realism",
    "resolution",
    "run_group",
    "sample_and_score",
    "sample_latent",
    "summarize_sweep",
    "width_sweep",
]
