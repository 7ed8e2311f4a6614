"""latentcsp.analysis.elbow: knee of a decreasing spectrum (max distance to the chord)."""

import numpy as np
import pytest

from latentcsp.analysis.elbow import chord_distance, elbow


def _corner(k, m=30, top=100.0, knee=10.0):
    """Steep linear fall from `top` to `knee` over components 1..k, then a gentle one to 0."""
    steep = np.linspace(top, knee, k)
    flat = np.linspace(knee, 0.0, m - k + 1)[1:]
    return np.r_[steep, flat]


@pytest.mark.parametrize("k", [2, 3, 5, 8, 12])
def test_corner_spectra(k):
    assert elbow(_corner(k)) == k


@pytest.mark.parametrize("k", [1, 3, 6])
def test_step_spectrum_knee_is_first_small_value(k):
    # k large eigenvalues then a noise floor: the curve bends at component k + 1
    values = np.r_[np.full(k, 10.0) - np.arange(k) * 0.01, np.full(20, 0.1) - np.arange(20) * 1e-3]
    assert elbow(values) == k + 1


def test_scale_invariance_and_ratio_input():
    v = _corner(5)
    assert elbow(v * 1e-6) == elbow(v) == elbow(v / v.sum()) == 5


def test_log_scale_geometric_decay_with_floor():
    # exponential decay over 6 components then a flat noise floor: on a log scale the
    # curve bends at the first floor value (component 7); on a linear scale much earlier
    v = np.r_[10.0 ** -np.arange(6), np.full(24, 1e-6) * np.linspace(1, 0.9, 24)]
    assert elbow(v, scale="log") == 7
    assert elbow(v) < 7


def test_max_components_limits_the_range():
    v = _corner(4, m=200)
    assert elbow(v, max_components=20) == 4


def test_degenerate_inputs():
    assert elbow([5.0]) == 1
    assert elbow([5.0, 1.0]) == 1
    assert elbow([3.0, 3.0, 3.0]) == 1
    assert elbow(np.linspace(10, 0, 11)) == 1  # straight line: no bend
    with pytest.raises(ValueError):
        elbow([])
    with pytest.raises(ValueError, match="non-increasing"):
        elbow([1.0, 2.0, 3.0])
    with pytest.raises(ValueError):
        elbow([3.0, np.nan, 1.0])
    with pytest.raises(ValueError):
        elbow([3.0, 2.0, 1.0], scale="sqrt")


def test_chord_distance_vanishes_at_ends():
    d = chord_distance(_corner(5))
    assert d[0] == pytest.approx(0.0) and d[-1] == pytest.approx(0.0)
    assert np.argmax(d) == 4
