"""Landscape analysis: PCA spectra, elbows, intrinsic dimension, near-duplicate removal.

Every function takes a descriptor matrix (n_structures x n_features) of one
group and returns plain data; the pipeline writes it to
``results/{landscape}/analysis/{set}/{window}/{spacegroup}/`` (``pca.json``,
``id.json``, ``scores.csv``).
"""

from .dedup import DedupResult, dedup
from .elbow import elbow
from .intrinsic import ESTIMATORS, estimate
from .pca import Spectrum, preprocess, scores, spectrum

__all__ = [
    "DedupResult",
    "ESTIMATORS",
    "Spectrum",
    "dedup",
    "elbow",
    "estimate",
    "preprocess",
    "scores",
    "spectrum",
]
