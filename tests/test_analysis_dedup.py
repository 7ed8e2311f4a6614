"""latentcsp.analysis.dedup: near-duplicate removal by descriptor distance."""

import numpy as np
import pytest

from latentcsp.analysis.dedup import dedup


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(40, 30)) * 10


def test_exact_duplicates_tol_zero():
    X = _data()
    Xd = np.r_[X, X[:7], X[3:5]]
    kept, n_removed = dedup(Xd, 0.0)
    assert n_removed == 9
    np.testing.assert_array_equal(kept, np.arange(40))  # first occurrences, input order


def test_large_magnitude_exact_duplicates_are_found():
    # the |x|^2 + |y|^2 - 2x.y shortcut alone rounds an exact duplicate to ~1e-4 here
    X = _data() * 1e5 + 1e6
    r = dedup(np.r_[X, X[:3]], 0.0)
    assert r.n_removed == 3


def test_lowest_energy_representative():
    X = _data()
    Xd = np.r_[X, X[:10] + 1e-6]
    e = np.r_[np.arange(40.0), np.arange(10.0) - 50.0]  # the copies are lower in energy
    r = dedup(Xd, tol=1e-4, energies=e)
    assert r.n_removed == 10
    np.testing.assert_array_equal(r.kept, np.r_[np.arange(10, 40), np.arange(40, 50)])
    np.testing.assert_array_equal(r.representative[:10], np.arange(40, 50))
    np.testing.assert_array_equal(r.removed, np.arange(10))
    assert r.to_dict() == {"n_input": 50, "n_kept": 40, "n_removed": 10, "tol": 1e-4, "distance": "euclidean"}


def test_greedy_chain_and_guarantees():
    # points on a line 0.6 apart; tol 1: the lowest-energy point claims its neighbours
    X = np.c_[np.arange(6) * 0.6, np.zeros(6)]
    e = np.array([5.0, 4.0, 0.0, 3.0, 2.0, 1.0])
    r = dedup(X, tol=1.0, energies=e)
    # order 2 (claims 1, 3), 5 (claims 4), 0 (kept: 1.2 from 2, not within tol)
    np.testing.assert_array_equal(r.kept, [0, 2, 5])
    np.testing.assert_array_equal(r.representative, [0, 2, 2, 2, 5, 5])
    rng = np.random.default_rng(1)
    Y = rng.normal(size=(300, 5))
    r = dedup(Y, tol=0.8, energies=rng.normal(size=300))
    K = Y[r.kept]
    d = np.sqrt(((K[:, None] - K[None]) ** 2).sum(-1)) + np.eye(len(K)) * 1e9
    assert d.min() > 0.8  # kept structures are pairwise farther than tol
    dist_to_rep = np.sqrt(((Y - Y[r.representative]) ** 2).sum(-1))
    assert dist_to_rep.max() <= 0.8  # every removed one is within tol of its representative


def test_stable_without_energies_and_nan_energies():
    X = np.zeros((4, 3))
    assert list(dedup(X, 0.0).kept) == [0]
    e = np.array([np.nan, 2.0, np.nan, 1.0])
    assert list(dedup(X, 0.0, energies=e).kept) == [3]
    assert list(dedup(X, 0.0, energies=[np.nan] * 4).kept) == [0]


def test_rms_distance():
    X = np.zeros((2, 100))
    X[1] = 0.1  # Euclidean 1.0, RMS 0.1
    assert dedup(X, 0.5).n_removed == 0
    assert dedup(X, 0.5, distance="rms").n_removed == 1
    assert dedup(X, 0.05, distance="rms").n_removed == 0


def test_bad_inputs():
    with pytest.raises(ValueError):
        dedup(np.zeros((3, 2)), -1.0)
    with pytest.raises(ValueError):
        dedup(np.zeros(3), 0.0)
    with pytest.raises(ValueError):
        dedup(np.zeros((3, 2)), 0.0, energies=[1.0, 2.0])
    with pytest.raises(ValueError):
        dedup(np.zeros((3, 2)), 0.0, distance="cosine")
    r = dedup(np.zeros((0, 4)), 0.1)
    assert r.n_removed == 0 and len(r.kept) == 0
