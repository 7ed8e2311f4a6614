"""Calibration curves on synthetic references whose raw estimates follow known laws."""

import numpy as np
import pandas as pd
import pytest

from latentcsp.calibration.curves import COMBINED, Calibration, Curve, trend, weighted_quantile


def _references(law, d_max=10, patterns=4, noise=0.1, seed=0, names=("A",), trend_value=None):
    """Rows d, pattern, (trend) and one raw estimate per name: law[name](d) + Gaussian noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(1, d_max + 1):
        for p in range(patterns):
            row = {"d": d, "pattern": f"d{d}p{p}{trend_value}"}
            if trend_value is not None:
                row["trend"] = trend_value
            for name in names:
                row[name] = law[name](d) + rng.normal(0, noise)
            rows.append(row)
    return pd.DataFrame(rows)


def test_inversion_recovers_the_dimension_of_a_known_law():
    law = {"A": lambda d: 0.7 * d + 0.5}  # an under-estimating estimator with an offset
    cal = Calibration(_references(law), ["A"])
    for true_d in (2.0, 6.3, 9.0):
        result = cal.calibrate({"A": law["A"](true_d)}, {}, None, "A")
        assert result.resolved and result.value == pytest.approx(true_d, abs=0.25)
        assert result.low <= true_d <= result.high
    assert np.nanmax(np.abs(cal.held_out_errors().A)) < 0.6  # 0.1 noise / slope 0.7: a few sigma at most


def test_curve_is_monotone_even_when_the_means_are_not():
    d = np.repeat(np.arange(1, 6), 3)
    raw = np.array([1, 1.1, 0.9, 2.5, 2.4, 2.6, 2.2, 2.3, 2.1, 4, 4.1, 3.9, 5, 5.1, 4.9])  # d=3 dips below d=2
    curve = Curve.fit("A", d, raw)
    assert np.all(np.diff(curve.mean) >= 0)
    assert curve.invert(4.5)[0] == pytest.approx(4.5, abs=0.05)


def test_flat_curve_is_unresolved():
    cal = Calibration(_references({"A": lambda d: 5.0}, noise=0.3), ["A"])
    result = cal.calibrate({"A": 5.0}, {}, None, "A")
    assert not result.resolved and "wider than" in result.reason


def test_raw_value_outside_the_calibrated_range_is_unresolved():
    cal = Calibration(_references({"A": lambda d: d}), ["A"])
    result = cal.calibrate({"A": 25.0}, {}, None, "A")
    assert not result.resolved and result.value is None and "outside the calibrated range" in result.reason


def test_resampling_interval_widens_the_calibrated_interval():
    cal = Calibration(_references({"A": lambda d: d}), ["A"], max_width=20)
    narrow = cal.calibrate({"A": 5.0}, {}, None, "A")
    wide = cal.calibrate({"A": 5.0}, {"A": (3.0, 7.0)}, None, "A")
    assert wide.high - wide.low > narrow.high - narrow.low + 3.0


def test_interval_stays_within_the_possible_dimensions():
    cal = Calibration(_references({"A": lambda d: d}, noise=1.0), ["A"], max_width=50)
    assert cal.calibrate({"A": 1.0}, {"A": (0.0, 3.0)}, None, "A").low == 1.0
    refs = _references({"A": lambda d: d}, noise=1.5, seed=1)
    free = Calibration(refs, ["A"], max_width=3).calibrate({"A": 10.0}, {}, None, "A")
    capped = Calibration(refs, ["A"], max_width=3, ceiling=10).calibrate({"A": 10.0}, {}, None, "A")
    assert free.high > 10 and not free.resolved and "wider than 3" in free.reason  # the spread alone
    assert capped.value == free.value and capped.low == free.low and capped.high == 10
    assert capped.resolved and 10 - capped.low <= 3  # a dimension above the DoF is not possible


def test_combined_reads_the_estimators_together():
    """Two sampling geometries that no single estimator tells apart: B reads both alike, and
    A's two laws cross the same raw values at different d. Together (A/B) they are told
    apart, so the combined value recovers d where each estimator's curve cannot."""
    wide = _references({"A": lambda d: 1.5 * d, "B": lambda d: d}, names=("A", "B"), noise=0.05, seed=3)
    local = _references({"A": lambda d: 0.8 * d, "B": lambda d: d}, names=("A", "B"), noise=0.05, seed=4)
    local["pattern"] = "local-" + local.pattern
    cal = Calibration(pd.concat([wide, local]), ["A", "B"])
    for a_slope in (1.5, 0.8):
        raw = {"A": a_slope * 6, "B": 6.0}
        assert abs(cal.calibrate(raw, {}, None, "A").value - 6.0) > 1.0  # the mixed curve misleads
        got = cal.calibrate(raw, {}, None, COMBINED)
        assert got.value == 6.0 and got.resolved and got.low <= 6.0 <= got.high
    assert np.nanmean(np.abs(cal.held_out_errors()[COMBINED])) < 0.3
    assert np.nanmean(np.abs(cal.held_out_errors().A)) > 1.0


def test_combined_is_unresolved_where_no_estimator_is_in_range():
    cal = Calibration(_references({"A": lambda d: d, "B": lambda d: d}, names=("A", "B")), ["A", "B"])
    got = cal.calibrate({"A": 25.0, "B": 30.0}, {}, None, COMBINED)
    assert got.value is None and not got.resolved and "calibrated range" in got.reason
    assert cal.calibrate({"A": 25.0, "B": 7.0}, {}, None, COMBINED).value is not None  # B still reads


def test_references_with_the_groups_trend_decide():
    """Two sampling geometries: one over-estimates (rising trend), one under-estimates
    (falling trend); a group is calibrated with the curve of the geometry it resembles."""
    wide = _references({"A": lambda d: 1.5 * d}, trend_value=0.2, seed=1)
    local = _references({"A": lambda d: 0.7 * d}, trend_value=-0.2, seed=2)
    cal = Calibration(pd.concat([wide, local]), ["A"], bandwidth=0.05)
    assert cal.calibrate({"A": 1.5 * 6}, {}, 0.2, "A").value == pytest.approx(6.0, abs=0.3)
    assert cal.calibrate({"A": 0.7 * 6}, {}, -0.2, "A").value == pytest.approx(6.0, abs=0.3)
    pooled = Calibration(pd.concat([wide, local]), ["A"], bandwidth=1e9)
    assert abs(pooled.calibrate({"A": 1.5 * 6}, {}, 0.2, "A").value - 6.0) > 1.5  # the mixture misleads
    assert np.nanmean(np.abs(cal.held_out_errors().A)) < 0.3


def test_weighted_quantile_counts_each_value_its_weight():
    rng = np.random.default_rng(3)
    values, weights = rng.normal(size=40), rng.integers(1, 5, 40)
    for q in (0.1, 0.5, 0.9, 1.0):
        expected = np.quantile(np.repeat(values, weights), q, method="inverted_cdf")
        assert weighted_quantile(values, weights.astype(float), q) == expected


def test_interval_comes_from_the_references_that_look_like_the_group():
    """References of another sampling geometry (another trend) that calibrate badly must not
    widen the interval of a group that resembles the well-calibrated ones."""
    good = _references({"A": lambda d: d}, trend_value=0.0, noise=0.05, seed=4)
    bad = _references({"A": lambda d: d}, trend_value=0.5, noise=3.0, seed=5)
    cal = Calibration(pd.concat([good, bad]), ["A"], bandwidth=0.05)
    near = cal.calibrate({"A": 6.0}, {}, 0.0, "A")
    far = cal.calibrate({"A": 6.0}, {}, 0.5, "A")
    assert near.resolved and near.high - near.low < 1.0
    assert not far.resolved


def test_interval_carries_the_error_of_references_that_read_the_same():
    """Some d = 7 references (DoF subsets that fold the manifold) read like d = 11: a group
    that reads 11 may then be a 7, and its interval must say so, though the references
    whose true d is near 11 calibrate well."""
    rows = _references({"A": lambda d: d}, d_max=12, patterns=4, noise=0.05, seed=6, trend_value=0.0)
    folded = pd.DataFrame([{"d": 7, "pattern": f"fold{p}", "trend": 0.0, "A": 11.0 + 0.1 * p} for p in range(3)])
    cal = Calibration(pd.concat([rows, folded]), ["A"], bandwidth=0.05)
    got = cal.calibrate({"A": 11.1}, {}, 0.0, "A")
    assert got.low <= 7.0 and not got.resolved
    clean = cal.calibrate({"A": 4.0}, {}, 0.0, "A")  # nothing else reads 4
    assert clean.resolved and clean.low <= 4.0 <= clean.high and clean.high - clean.low < 1.0


def test_trend_of_gride_scales():
    assert trend([4.0, 4.5, 5.0, 5.5, 6.0, 9.0]) == pytest.approx(0.5)  # up to n1 = 16
    assert trend([6.0, 5.0, 3.0]) == pytest.approx(-0.5)  # the largest available
    assert trend([5.0]) is None and trend(None) is None
