"""Calibration curves on synthetic references whose raw estimates follow known laws."""

import numpy as np
import pandas as pd
import pytest

from latentcsp.calibration.curves import Curve, calibrate, combined_d, fit_curves, held_out_errors


def _references(law, d_max=10, patterns=4, noise=0.1, seed=0, names=("A",)):
    """Rows d, pattern, and one raw estimate per name: law[name](d) + Gaussian noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(1, d_max + 1):
        for p in range(patterns):
            row = {"d": d, "pattern": f"d{d}p{p}"}
            for name in names:
                row[name] = law[name](d) + rng.normal(0, noise)
            rows.append(row)
    return pd.DataFrame(rows)


def test_inversion_recovers_the_dimension_of_a_known_law():
    law = {"A": lambda d: 0.7 * d + 0.5}  # an under-estimating estimator with an offset
    refs = _references(law)
    (curve,) = fit_curves(refs, ["A"])
    errors = held_out_errors(refs, ["A"])
    for true_d in (2.0, 6.3, 9.0):
        result = calibrate([curve], errors, {"A": law["A"](true_d)}, {}, "A")
        assert result.resolved and result.value == pytest.approx(true_d, abs=0.25)
        assert result.low <= true_d <= result.high
    assert np.nanmax(np.abs(errors.A)) < 0.6  # held-out: 0.1 noise / slope 0.7, a few sigma at most


def test_curve_is_monotone_even_when_the_means_are_not():
    d = np.repeat(np.arange(1, 6), 3)
    raw = np.array([1, 1.1, 0.9, 2.5, 2.4, 2.6, 2.2, 2.3, 2.1, 4, 4.1, 3.9, 5, 5.1, 4.9])  # d=3 dips below d=2
    curve = Curve.fit("A", d, raw)
    assert np.all(np.diff(curve.mean) >= 0)
    assert curve.invert(4.5)[0] == pytest.approx(4.5, abs=0.05)


def test_flat_curve_is_unresolved():
    refs = _references({"A": lambda d: 5.0}, noise=0.3)
    curves = fit_curves(refs, ["A"])
    result = calibrate(curves, held_out_errors(refs, ["A"]), {"A": 5.0}, {}, "A")
    assert not result.resolved and "wider than" in result.reason


def test_raw_value_outside_the_calibrated_range_is_unresolved():
    refs = _references({"A": lambda d: d})
    result = calibrate(fit_curves(refs, ["A"]), held_out_errors(refs, ["A"]), {"A": 25.0}, {}, "A")
    assert not result.resolved and result.value is None and "outside the calibrated range" in result.reason


def test_resampling_interval_widens_the_calibrated_interval():
    refs = _references({"A": lambda d: d})
    curves, errors = fit_curves(refs, ["A"]), held_out_errors(refs, ["A"])
    narrow = calibrate(curves, errors, {"A": 5.0}, {}, "A", max_width=20)
    wide = calibrate(curves, errors, {"A": 5.0}, {"A": (3.0, 7.0)}, "A", max_width=20)
    assert wide.high - wide.low > narrow.high - narrow.low + 3.0


def test_interval_never_goes_below_zero():
    refs = _references({"A": lambda d: d}, noise=1.0)
    result = calibrate(fit_curves(refs, ["A"]), held_out_errors(refs, ["A"]), {"A": 1.0}, {"A": (0.0, 3.0)}, "A",
                       max_width=50)
    assert result.low >= 0.0


def test_combined_uses_the_sharper_estimator():
    law = {"sharp": lambda d: 1.2 * d, "blunt": lambda d: 0.2 * d + 3}
    refs = _references(law, names=("sharp", "blunt"), noise=0.15, seed=3)
    curves = fit_curves(refs, ["sharp", "blunt"])
    raw = {"sharp": law["sharp"](7.0), "blunt": law["blunt"](7.0) + 0.3}  # blunt is off by 1.5 dimensions
    assert combined_d(curves, raw) == pytest.approx(7.0, abs=0.4)
    errors = held_out_errors(refs, ["sharp", "blunt"])
    assert np.nanmean(np.abs(errors.combined)) < np.nanmean(np.abs(errors.blunt))
