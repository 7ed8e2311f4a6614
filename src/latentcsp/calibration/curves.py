"""Calibration curves: raw estimate against true dimension, and their inversion.

The references of one group are a table with one row per reference ensemble: its true
dimension ``d``, a ``pattern`` label (the subset of DoF it varies; ensembles that vary
the same subset share it) and one column per raw estimate. For an estimator e:

* the curve mu_e(d) is the mean raw estimate of the references at d, made
  non-decreasing in d (isotonic regression), and sigma_e(d) their standard deviation;
* the calibrated dimension of a raw value r is where mu_e crosses r (linear in d
  between integers), or ``None`` with the reason when r lies outside
  [mu_e(1), mu_e(d_max)] by more than the spread there, or where the curve is flat;
* the *combined* dimension inverts every estimator at once: the d minimising
  sum_e ((r_e - mu_e(d)) / sigma_e(d))^2.

Each calibrated value's interval is measured, not assumed: every reference ensemble is
calibrated with curves built without its pattern (leave one DoF subset out), and the
spread of those errors near the estimate (their ``coverage`` quantile of the absolute
error) is added in quadrature to the resampling spread of the data's raw estimate carried
through the curve. A value is *resolved* when that interval is at most ``max_width`` wide.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression

GRID_STEP = 0.01
MIN_SPREAD = 0.05  # floor of sigma_e(d): identical references must not give infinite weight


@dataclass
class Curve:
    """mu(d) and sigma(d) of one estimator at d = 1 .. d_max (integers)."""

    name: str
    d: np.ndarray
    mean: np.ndarray
    spread: np.ndarray
    count: np.ndarray

    @classmethod
    def fit(cls, name: str, d: np.ndarray, raw: np.ndarray) -> "Curve | None":
        ok = np.isfinite(raw)
        d, raw = np.asarray(d)[ok], np.asarray(raw, dtype=float)[ok]
        levels = np.unique(d)
        if len(levels) < 2:
            return None
        mean = np.array([raw[d == k].mean() for k in levels])
        spread = np.array([raw[d == k].std(ddof=1) if (d == k).sum() > 1 else np.nan for k in levels])
        spread = np.fmax(np.nan_to_num(spread, nan=np.nanmax(spread) if np.isfinite(spread).any() else MIN_SPREAD),
                         MIN_SPREAD)
        count = np.array([(d == k).sum() for k in levels])
        mean = IsotonicRegression().fit(levels, mean, sample_weight=count).predict(levels)
        return cls(name, levels.astype(float), mean, spread, count)

    def at(self, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.interp(grid, self.d, self.mean), np.interp(grid, self.d, self.spread)

    def grid(self) -> np.ndarray:
        return np.arange(self.d[0], self.d[-1] + GRID_STEP / 2, GRID_STEP)

    def invert(self, raw: float) -> tuple[float | None, str | None]:
        """The d where the curve reaches ``raw``, or None and why."""
        if raw is None or not np.isfinite(raw):
            return None, "no raw estimate"
        lo, hi = self.mean[0] - 2 * self.spread[0], self.mean[-1] + 2 * self.spread[-1]
        if not lo <= raw <= hi:
            return None, (f"raw estimate {raw:.2f} outside the calibrated range {self.mean[0]:.2f}-"
                          f"{self.mean[-1]:.2f} (d = {self.d[0]:g}-{self.d[-1]:g})")
        grid = self.grid()
        mu, _ = self.at(grid)
        close = np.flatnonzero(np.abs(mu - raw) <= np.abs(mu - raw).min() + 1e-9)
        return float(grid[close].mean()), None


def combined_d(curves: list[Curve], raw: dict[str, float]) -> float | None:
    """The d minimising sum_e ((r_e - mu_e(d)) / sigma_e(d))^2 over the estimators with a value."""
    use = [c for c in curves if raw.get(c.name) is not None and np.isfinite(raw[c.name])]
    if not use:
        return None
    grid = use[0].grid()
    chi2 = np.zeros_like(grid)
    for c in use:
        mu, sd = c.at(grid)
        chi2 += ((raw[c.name] - mu) / sd) ** 2
    return float(grid[int(np.argmin(chi2))])


def fit_curves(refs: pd.DataFrame, estimators: list[str]) -> list[Curve]:
    return [c for c in (Curve.fit(e, refs.d.to_numpy(), refs[e].to_numpy(dtype=float)) for e in estimators
                        if e in refs) if c is not None]


def held_out_errors(refs: pd.DataFrame, estimators: list[str]) -> pd.DataFrame:
    """Calibrated minus true d of every reference, from curves fit without its pattern:
    columns d, pattern and one per estimator and ``combined`` (NaN where not calibrated)."""
    rows = []
    for pattern, test in refs.groupby("pattern", sort=False):
        curves = fit_curves(refs[refs.pattern != pattern], estimators)
        by_name = {c.name: c for c in curves}
        for _, r in test.iterrows():
            raw = {e: r[e] for e in estimators if e in r}
            row = {"d": r.d, "pattern": pattern}
            for e in estimators:
                cal = by_name[e].invert(raw[e])[0] if e in by_name else None
                row[e] = np.nan if cal is None else cal - r.d
            comb = combined_d(curves, raw)
            row["combined"] = np.nan if comb is None else comb - r.d
            rows.append(row)
    return pd.DataFrame(rows)


def error_scale(errors: pd.DataFrame, name: str, d: float, coverage: float = 0.9, window: float = 1.5) -> float | None:
    """The ``coverage`` quantile of |held-out error| of ``name`` among references with true d
    within ``window`` of ``d`` (all references when fewer than 5 are that close)."""
    e = errors[[name, "d"]].dropna()
    if e.empty:
        return None
    near = e[np.abs(e.d - d) <= window]
    use = near if len(near) >= 5 else e
    return float(np.quantile(np.abs(use[name]), coverage))


@dataclass
class Calibrated:
    """One calibrated dimension: value, interval, resolved, and the reason when not."""

    value: float | None
    low: float | None
    high: float | None
    resolved: bool
    reason: str | None

    def to_dict(self) -> dict:
        return {"calibrated": self.value, "calibrated_low": self.low, "calibrated_high": self.high,
                "resolved": self.resolved, "reason": self.reason}


def calibrate(curves: list[Curve], errors: pd.DataFrame, raw: dict[str, float],
              raw_interval: dict[str, tuple[float | None, float | None]], name: str,
              coverage: float = 0.9, max_width: float = 3.0) -> Calibrated:
    """The calibrated dimension of estimator ``name`` (or ``combined``) for one group.

    ``raw``: the group's raw estimates; ``raw_interval``: their resampling intervals,
    carried through the curve and added in quadrature to the held-out calibration error.
    """
    by_name = {c.name: c for c in curves}
    if name == "combined":
        value = combined_d(curves, raw)
        reason = None if value is not None else "no estimator has a calibration curve and a raw value"
        if value is not None:
            lows = {e: (raw_interval.get(e) or (None, None))[0] for e in raw}
            highs = {e: (raw_interval.get(e) or (None, None))[1] for e in raw}
            shifted = [combined_d(curves, {**raw, **{e: v for e, v in side.items() if v is not None}})
                       for side in (lows, highs)]
            resample = _half_width(value, shifted)
    else:
        if name not in by_name:
            return Calibrated(None, None, None, False, f"{name}: no calibration curve (too few references)")
        value, reason = by_name[name].invert(raw.get(name))
        if value is not None:
            lo, hi = raw_interval.get(name) or (None, None)
            shifted = [by_name[name].invert(v)[0] if v is not None else None for v in (lo, hi)]
            resample = _half_width(value, shifted)
    if value is None:
        return Calibrated(None, None, None, False, reason)
    scale = error_scale(errors, name, value, coverage)
    if scale is None:
        return Calibrated(value, None, None, False, "no held-out calibration error")
    half = float(np.hypot(scale, resample))
    low, high = max(value - half, 0.0), value + half
    if high - low > max_width:
        return Calibrated(value, low, high, False,
                          f"interval {low:.1f}-{high:.1f} wider than {max_width:g}: the curve is too flat "
                          f"or the references too spread at this size")
    return Calibrated(value, low, high, True, None)


def _half_width(value: float, shifted: list[float | None]) -> float:
    """Half the spread of ``value`` under the raw interval's ends (0 when unknown)."""
    ends = [abs(s - value) for s in shifted if s is not None]
    return max(ends) if ends else 0.0
