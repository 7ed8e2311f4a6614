"""Calibration curves: raw estimate against true dimension, and their inversion.

The references of one group are a table with one row per reference ensemble: its true
dimension ``d``, a ``pattern`` label (the subset of DoF it varies; ensembles that vary
the same subset share it), its multiscale ``trend`` (below) and one column per raw
estimate. For an estimator e:

* the curve mu_e(d) is the mean raw estimate of the references at d, made
  non-decreasing in d (isotonic regression), and sigma_e(d) their standard deviation;
* the calibrated dimension of a raw value r is where mu_e crosses r (linear in d
  between integers), or ``None`` with the reason when r lies outside
  [mu_e(1), mu_e(d_max)] by more than twice the spread there.

The *combined* dimension reads all estimators at once: it is the weighted median of the
true d of the references, each weighted by how close its *signature* (the logarithms of
its raw estimates and :data:`TREND_WEIGHT` times its trend) lies to the group's. The
estimators disagree in ways that tell sampling geometries apart (TwoNN reads a curved
manifold higher than MLE does; lPCA counts directions, however short), so references
that read like the group in all of them at once are more alike than references that
match in one; on the held-out references of sixteen 1 000-1 500-structure landscapes,
88 % came within +-1 of their d this way against 71 % with the mean of the estimators'
calibrated values.

Why the trend: the same raw estimate means different dimensions for different sampling
geometries. Sampled over wide ranges, a landscape's manifold curves within the
nearest-neighbour scale and estimates come out too high; sampled locally, some
directions are much shorter than others and estimates come out too low. The two show
opposite multiscale trends, GRIDE's estimate rising (curvature) or falling
(anisotropy, edges) with the neighbour rank: ``trend`` = (d at the largest scale -
d at the smallest) / d at the smallest. For the estimators' own curves, each reference
counts with the weight exp(-(trend_ref - trend) ** 2 / (2 h ** 2)), h the bandwidth or,
where fewer than five references lie within it, the trend difference that takes in five;
so references that look like the group dominate its curves. The combined value's weights
are the same Gaussian in the distance between signatures.

Each calibrated value's interval is measured, not assumed: every reference is
calibrated as if unknown from the references of the other patterns (leave one DoF
subset out), and the ``coverage`` quantile of the absolute errors is added in
quadrature to the resampling spread of the group's raw estimates carried through the
calibration, and the interval is cut to what is possible: at least 1, at most
``ceiling`` (the group's DoF plus the molecule's torsions). For an estimator, the
errors are those of the references whose calibrated value came out near the group's
(weighted by trend, as the curves are); for the combined value, those of all references
weighted by signature, as the value is. A value is *resolved* when that interval is at
most ``max_width`` wide.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression

GRID_STEP = 0.01
MIN_SPREAD = 0.05  # floor of sigma_e(d): identical references must not give infinite weight
COMBINED = "combined"
MIN_CLOSE = 5  # references that always count fully, however far their trend or signature
MIN_ERRORS = 10  # references that always count fully in the combined value's held-out error quantile
TREND_WEIGHT = 3.0  # the trend's weight in a signature, next to the log raw estimates
LOG_FLOOR = 0.3  # raw estimates below this count as this in a signature


def trend(scale_dimensions, top: int = 4) -> float | None:
    """Relative change of GRIDE's estimate from its smallest neighbour scale to scale
    ``top`` (n1 = 2**top, 16) or the largest available: positive when the estimate rises
    with the scale. ``scale_dimensions``: GRIDE's estimates at n1 = 1, 2, 4, ..."""
    d = [x for x in (scale_dimensions or [])[: top + 1] if x is not None and np.isfinite(x)]
    if len(d) < 2 or d[0] <= 0:
        return None
    return float((d[-1] - d[0]) / d[0])


def signature(raw: dict, trend: float | None, estimators: list[str]) -> np.ndarray:
    """A group's or reference's position among the references, shape (len(estimators) + 1,):
    log of each raw estimate (NaN where missing) and :data:`TREND_WEIGHT` x its trend."""
    values = np.array([np.nan if raw.get(e) is None else raw[e] for e in estimators], dtype=float)
    return np.r_[np.log(np.maximum(values, LOG_FLOOR)), TREND_WEIGHT * (np.nan if trend is None else trend)]


def gaussian_weights(gap: np.ndarray, bandwidth: float, close: int = MIN_CLOSE) -> np.ndarray:
    """exp(-gap**2 / 2w**2), w the bandwidth or, when wider, the ``close``-th smallest gap (so
    that never fewer count fully); NaN gaps weigh 0."""
    gap = np.where(np.isfinite(gap), gap, np.inf)
    close = np.sort(gap)[min(close, len(gap)) - 1] if len(gap) else 0.0
    width = max(bandwidth, float(close) if np.isfinite(close) else bandwidth)
    return np.exp(-0.5 * (gap / width) ** 2)


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The q quantile of ``values`` each counted ``weights`` times (the smallest value whose
    cumulative weight reaches q of the total; equal weights give the lower empirical quantile)."""
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    return float(values[order][min(np.searchsorted(cum, q * cum[-1] - 1e-12), len(values) - 1)])


@dataclass
class Curve:
    """mu(d) and sigma(d) of one estimator at d = 1 .. d_max (integers)."""

    name: str
    d: np.ndarray
    mean: np.ndarray
    spread: np.ndarray
    weight: np.ndarray

    @classmethod
    def fit(cls, name: str, d: np.ndarray, raw: np.ndarray, weight: np.ndarray | None = None) -> "Curve | None":
        """The curve of references with true dimensions ``d`` and raw estimates ``raw``,
        each counted with ``weight`` (default 1); None with fewer than two levels of d."""
        raw = np.asarray(raw, dtype=float)
        weight = np.ones(len(raw)) if weight is None else np.asarray(weight, dtype=float)
        ok = np.isfinite(raw) & (weight > 1e-3)
        d, raw, weight = np.asarray(d)[ok], raw[ok], weight[ok]
        levels = np.unique(d)
        if len(levels) < 2:
            return None
        mean, spread, total = (np.empty(len(levels)) for _ in range(3))
        for k, level in enumerate(levels):
            r, w = raw[d == level], weight[d == level]
            mean[k] = np.average(r, weights=w)
            spread[k] = np.sqrt(np.average((r - mean[k]) ** 2, weights=w) * len(r) / (len(r) - 1)) if len(r) > 1 \
                else np.nan
            total[k] = w.sum()
        fill = np.nanmax(spread) if np.isfinite(spread).any() else MIN_SPREAD
        spread = np.fmax(np.nan_to_num(spread, nan=fill), MIN_SPREAD)
        mean = IsotonicRegression().fit(levels, mean, sample_weight=total).predict(levels)
        return cls(name, levels.astype(float), mean, spread, total)

    def at(self, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """mu and sigma at (fractional) dimensions ``d``."""
        return np.interp(d, self.d, self.mean), np.interp(d, self.d, self.spread)

    def invert(self, raw: float | None) -> tuple[float | None, str | None]:
        """The d where the curve reaches ``raw``, or None and why."""
        if raw is None or not np.isfinite(raw):
            return None, "no raw estimate"
        lo, hi = self.mean[0] - 2 * self.spread[0], self.mean[-1] + 2 * self.spread[-1]
        if not lo <= raw <= hi:
            return None, (f"raw {self.name} {raw:.2f} outside the calibrated range {self.mean[0]:.2f}-"
                          f"{self.mean[-1]:.2f} (d = {self.d[0]:g}-{self.d[-1]:g})")
        grid = np.arange(self.d[0], self.d[-1] + GRID_STEP / 2, GRID_STEP)
        gap = np.abs(self.at(grid)[0] - raw)
        return float(grid[gap <= gap.min() + 1e-9].mean()), None


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


class Calibration:
    """The calibration of one group from its reference table (see the module docstring).

    ``refs``: columns ``d``, ``pattern``, ``trend`` (optional) and one per estimator.
    """

    def __init__(self, refs: pd.DataFrame, estimators: list[str], bandwidth: float = 0.1,
                 coverage: float = 0.95, max_width: float = 2.0, ceiling: float = np.inf):
        self.refs = refs.reset_index(drop=True)
        self.ceiling = ceiling
        self.estimators = [e for e in estimators if e in refs]
        self.bandwidth, self.coverage, self.max_width = bandwidth, coverage, max_width
        self._errors: pd.DataFrame | None = None
        self._signatures = np.stack([signature(r, r.get("trend"), self.estimators)
                                     for r in self.refs.to_dict("records")]) if len(self.refs) \
            else np.empty((0, len(self.estimators) + 1))

    def weights(self, trend: float | None, rows: pd.DataFrame | None = None) -> np.ndarray:
        """Weight of each reference for a group of multiscale trend ``trend``
        (:func:`gaussian_weights` of the trend difference)."""
        rows = self.refs if rows is None else rows
        if trend is None or not np.isfinite(trend) or "trend" not in rows:
            return np.ones(len(rows))
        return gaussian_weights(np.abs(rows.trend.to_numpy(dtype=float) - trend), self.bandwidth)

    def similarity(self, point: np.ndarray, keep: np.ndarray | None = None, close: int = MIN_CLOSE) -> np.ndarray:
        """Weight of each reference (those where ``keep``, default all) for a group of
        :func:`signature` ``point``: :func:`gaussian_weights` of the distance over the
        point's finite entries, at least ``close`` references counting fully."""
        own = self._signatures if keep is None else self._signatures[keep]
        use = np.isfinite(point)
        if not use.any():
            return np.ones(len(own))
        return gaussian_weights(np.sqrt(((own[:, use] - point[use]) ** 2).sum(axis=1)), self.bandwidth, close)

    def curves(self, trend: float | None = None, without: str | None = None) -> dict[str, Curve]:
        """Curves weighted for ``trend``, leaving out the references of pattern ``without``."""
        rows = self.refs if without is None else self.refs[self.refs.pattern != without]
        w = self.weights(trend, rows)
        fitted = {e: Curve.fit(e, rows.d.to_numpy(), rows[e].to_numpy(dtype=float), w) for e in self.estimators}
        return {e: c for e, c in fitted.items() if c is not None}

    def point(self, raw: dict[str, float | None], trend: float | None, name: str, without: str | None = None,
              curves: dict[str, Curve] | None = None) -> tuple[float | None, str | None]:
        """Calibrated value of estimator ``name`` or the combined one for a group with raw
        estimates ``raw`` and multiscale trend ``trend``, from the references not of pattern
        ``without`` (``curves``: theirs, when already fitted); None and why not."""
        curves = self.curves(trend, without) if curves is None else curves
        if name == COMBINED:
            if all(c.invert(raw.get(e))[0] is None for e, c in curves.items()):
                return None, "no estimator's raw value lies within its calibrated range"
            return self.nearest(raw, trend, without)
        if name not in curves:
            return None, f"{name}: no calibration curve (too few references)"
        return curves[name].invert(raw.get(name))

    def nearest(self, raw: dict[str, float | None], trend: float | None,
                without: str | None = None) -> tuple[float | None, str | None]:
        """The combined value: the weighted median true d of the references (not of pattern
        ``without``), weighted by :meth:`similarity` to the group's signature."""
        point = signature(raw, trend, self.estimators)
        keep = np.ones(len(self.refs), dtype=bool) if without is None else (self.refs.pattern != without).to_numpy()
        if not np.isfinite(point[:-1]).any() or not keep.any():
            return None, "no raw estimate to compare with the references"
        return weighted_quantile(self.refs.d.to_numpy(dtype=float)[keep], self.similarity(point, keep), 0.5), None

    def held_out_errors(self) -> pd.DataFrame:
        """Calibrated minus true d of every reference, from the references of the other
        patterns: columns d, pattern, one per estimator and ``combined`` (NaN where not calibrated)."""
        if self._errors is None:
            rows = []
            for _, r in self.refs.iterrows():
                raw = {e: r[e] for e in self.estimators}
                curves = self.curves(r.get("trend"), without=r.pattern)
                row = {"d": r.d, "pattern": r.pattern}
                for name in [*self.estimators, COMBINED]:
                    v = self.point(raw, r.get("trend"), name, r.pattern, curves)[0]
                    row[name] = np.nan if v is None else v - r.d
                rows.append(row)
            self._errors = pd.DataFrame(rows, columns=["d", "pattern", *self.estimators, COMBINED])
        return self._errors

    def error_scale(self, name: str, value: float, raw: dict[str, float | None], trend: float | None,
                    window: float = 1.5) -> float | None:
        """The ``coverage`` quantile of |held-out error| of ``name``. Combined: over all
        references, each weighted by :meth:`similarity` to the group (as the value is, but with
        at least :data:`MIN_ERRORS` counting fully: a quantile of five errors is no measure). An
        estimator: over the references whose own held-out calibrated value lies within
        ``window`` of ``value`` (all references when fewer than 5 do), weighted by trend;
        conditioned on the calibrated value, not on the true d, because a group calibrated
        to 11 must carry the error of every reference that also came out near 11, whatever
        its true d."""
        weights = self.similarity(signature(raw, trend, self.estimators), close=MIN_ERRORS) if name == COMBINED \
            else self.weights(trend)
        e = self.held_out_errors()[[name, "d"]].assign(w=weights).dropna()
        if e.empty:
            return None
        if name != COMBINED:
            near = e[np.abs(e.d + e[name] - value) <= window]
            e = near if len(near) >= MIN_CLOSE else e
        return weighted_quantile(np.abs(e[name].to_numpy()), e.w.to_numpy(), self.coverage)

    def calibrate(self, raw: dict[str, float | None], intervals: dict[str, tuple], trend: float | None,
                  name: str) -> Calibrated:
        """The calibrated dimension of estimator ``name`` (or ``combined``) for a group with raw
        estimates ``raw``, resampling intervals ``intervals`` and multiscale trend ``trend``."""
        curves = self.curves(trend)
        value, reason = self.point(raw, trend, name, curves=curves)
        if value is None:
            return Calibrated(None, None, None, False, reason)
        ends = []
        for side in (0, 1):
            shifted = {e: (intervals.get(e) or (None, None))[side] for e in raw}
            v = self.point({**raw, **{e: x for e, x in shifted.items() if x is not None}}, trend, name,
                           curves=curves)[0]
            if v is not None:
                ends.append(abs(v - value))
        scale = self.error_scale(name, value, raw, trend)
        if scale is None:
            return Calibrated(value, None, None, False, "no held-out calibration error")
        half = float(np.hypot(scale, max(ends, default=0.0)))
        low, high = max(value - half, 1.0), min(value + half, self.ceiling)
        if high - low > self.max_width:
            return Calibrated(value, low, high, False,
                              f"interval {low:.1f}-{high:.1f} wider than {self.max_width:g}: at this size, "
                              f"references of other dimensions read like this group")
        return Calibrated(value, low, high, True, None)
