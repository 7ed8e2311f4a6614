"""Synthetic data whose manifold dimension is known, for tests and benchmarks."""

from __future__ import annotations

import numpy as np

__all__ = ["nonlinear_manifold"]


def nonlinear_manifold(n: int = 400, dim: int = 3, ambient: int = 50, *, noise: float = 0.01,
                       hidden: int = 32, curvature: float = 1.0, seed: int = 0, return_latent: bool = False):
    """Points on a smooth, curved ``dim``-dimensional manifold embedded in ``ambient`` dimensions.

    ``t ~ U[-1, 1]^dim`` is mapped through a random two-layer network,
    ``x = B · sin(A t + c)`` (``A`` (hidden, dim) with unit-variance entries,
    so each hidden unit bends over about one period), then Gaussian noise of
    standard deviation ``noise`` times the typical feature scale is added. The
    map is an immersion with probability 1, so the data fill a curved
    ``dim``-dimensional sheet: PCA needs more than ``dim`` components, a
    nonlinear bottleneck of width ``dim`` suffices.

    Returns ``X`` (n, ambient), and the latent ``t`` (n, dim) too if asked.
    """
    rng = np.random.default_rng(seed)
    t = rng.uniform(-1.0, 1.0, size=(n, dim))
    A = rng.normal(size=(dim, hidden)) * curvature
    c = rng.uniform(0, 2 * np.pi, size=hidden)
    B = rng.normal(size=(hidden, ambient)) / np.sqrt(hidden)
    X = np.sin(t @ A + c) @ B
    X += noise * X.std() * rng.normal(size=X.shape)
    return (X, t) if return_latent else X
