"""The elbow (knee) of a decreasing eigenvalue spectrum.

Method: **maximum distance to the chord on the normalised curve**, which is the
offline form of Kneedle (Satopää et al., 2011, "Finding a 'Kneedle' in a
Haystack", ICDCS Workshops, doi:10.1109/ICDCSW.2011.20).

1. Take the eigenvalues ``lam_1 >= ... >= lam_m`` (the first ``max_components``
   of them, optionally on a log10 scale).
2. Normalise both axes to [0, 1]: ``x_i = (i - 1) / (m - 1)``,
   ``y_i = (lam_i - lam_m) / (lam_1 - lam_m)``.
3. The chord from the first point (0, 1) to the last (1, 0) is ``y = 1 - x``;
   the elbow is the point farthest below it, ``argmax_i (1 - x_i) - y_i``.

Kneedle's difference curve for a convex decreasing curve is exactly this
vertical distance, and the perpendicular distance to a straight chord is
proportional to it, so the two classic methods agree here; Kneedle's
sensitivity parameter only matters for streaming data and is not needed.
Why this method: it has no tuning parameter, is invariant to the scale of the
eigenvalues (standardised or raw descriptors give comparable answers), and is
what a reader does by eye on the seed's scree plots (Figure 4).

Caveats, stated in the report: the elbow depends on the range plotted — a
long flat tail moves the chord and hence the elbow — so the analysis uses the
spectrum up to the numerical rank; on a log scale the knee of an
exponentially decaying spectrum moves to the start of the noise floor.

The result is a 1-based component number: the point at which the curve bends
most (Kneedle's knee). For a corner — a steep fall over components 1..k, then a
gentle one — it is k; for a step — k large eigenvalues, then a flat noise floor —
it is k + 1, the first value of the floor (Cattell's scree convention keeps the
components before the elbow). The seed compared the elbow position itself with
the degrees of freedom; the report does the same and states this.
"""

from __future__ import annotations

import numpy as np

__all__ = ["elbow", "chord_distance"]


def chord_distance(values, scale: str = "linear") -> np.ndarray:
    """Distance below the chord of the normalised curve, one value per point.

    ``values`` must be non-increasing (a sorted spectrum); on ``scale="log"``
    non-positive values are clipped to the smallest positive one.
    """
    y = np.asarray(values, dtype=float).ravel()
    if y.size == 0:
        return y
    if not np.all(np.isfinite(y)):
        raise ValueError("spectrum contains non-finite values")
    if np.any(np.diff(y) > 1e-12 * max(1.0, float(np.abs(y).max()))):
        raise ValueError("spectrum must be non-increasing (sort the eigenvalues first)")
    if scale == "log":
        pos = y[y > 0]
        if pos.size == 0:
            return np.zeros_like(y)
        y = np.log10(np.clip(y, pos.min(), None))
    elif scale != "linear":
        raise ValueError(f"scale must be 'linear' or 'log', got {scale!r}")
    m = y.size
    if m < 3:
        return np.zeros(m)
    span = y[0] - y[-1]
    if span <= 0:
        return np.zeros(m)
    x = np.arange(m) / (m - 1)
    yn = (y - y[-1]) / span
    return (1.0 - x) - yn


def elbow(values, scale: str = "linear", max_components: int | None = None) -> int:
    """1-based index of the elbow of a decreasing spectrum.

    Parameters
    ----------
    values
        Eigenvalues (or explained-variance ratios) in decreasing order.
    scale
        ``"linear"`` (default, the scree plot as drawn in the seed) or ``"log"``.
    max_components
        Use only the first ``max_components`` values (the plotted range).

    Returns
    -------
    int
        The elbow component (1 for flat or convex-free spectra, or when fewer
        than three values are given: no bend can be located).
    """
    y = np.asarray(values, dtype=float).ravel()
    if max_components is not None:
        if max_components < 1:
            raise ValueError("max_components must be >= 1")
        y = y[:max_components]
    if y.size == 0:
        raise ValueError("empty spectrum")
    d = chord_distance(y, scale=scale)
    if d.size < 3 or np.max(d) <= 1e-9:  # straight or concave: no bend
        return 1
    return int(np.argmax(d)) + 1
