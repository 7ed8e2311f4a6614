#!/usr/bin/env python
"""How often a "resolved" calibrated dimension is wrong, measured on the reference ladders.

    .venv/bin/python bench/calibration_reliability.py results/roy/calibration/smooth/references.csv
    .venv/bin/python bench/calibration_reliability.py refs.csv --max-width 2 3 --coverage 0.95

Each DoF subset (pattern) of a group's references is held out in turn and calibrated as if
it were a landscape of unknown dimension, with the curves and the interval rule of
:class:`latentcsp.calibration.curves.Calibration` built from the other patterns only
(which themselves use leave-one-pattern-out errors for their intervals). Prints, per
(window, group) and ``max_width``: the share of held-out references calibrated within ±1
of their true d, the share resolved, the share resolved but off by more than 1 (of all,
and of the resolved), and how often the interval covers the true d. Groups ``all`` and
groups with fewer than 20 references are left out.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from latentcsp.calibration.curves import COMBINED, Calibration

ESTIMATORS = ("TwoNN", "MLE", "lPCA", "GRIDE", "DANCo")


def held_out(refs: pd.DataFrame, estimators: list[str], max_width: float, coverage: float,
             bandwidth: float, ceiling: float) -> pd.DataFrame:
    """One row per reference: d, error (calibrated - d), resolved, covered."""
    out = []
    for pattern, rows in refs.groupby("pattern"):
        cal = Calibration(refs[refs.pattern != pattern], estimators, bandwidth, coverage, max_width, ceiling)
        for _, r in rows.iterrows():
            got = cal.calibrate({e: r[e] for e in estimators}, {}, r.get("trend"), COMBINED)
            if got.value is None:
                out.append((r.d, np.nan, False, False))
            else:
                out.append((r.d, got.value - r.d, got.resolved, got.low - 1e-9 <= r.d <= got.high + 1e-9))
    return pd.DataFrame(out, columns=["d", "error", "resolved", "covered"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("references", nargs="+", help="references.csv of calibrate jobs")
    ap.add_argument("--max-width", type=float, nargs="+", default=[2.0])
    ap.add_argument("--coverage", type=float, default=0.95)
    ap.add_argument("--bandwidth", type=float, default=0.1)
    args = ap.parse_args()
    for path in args.references:
        refs = pd.read_csv(path, dtype={"window": str, "group": str})
        estimators = [e for e in ESTIMATORS if e in refs]
        for (window, group), rows in refs.groupby(["window", "group"]):
            if group == "all" or len(rows) < 20:
                continue
            ceiling = float(rows.d.max()) + 3  # the DoF plus a few torsions: the cut barely matters here
            for width in args.max_width:
                o = held_out(rows.reset_index(drop=True), estimators, width, args.coverage, args.bandwidth, ceiling)
                wrong = o.resolved & (np.abs(o.error) > 1)
                print(f"{path}  {window:>4s} {group:8s} n={int(rows.n.iloc[0]):5d} max_width={width:g}: "
                      f"{len(o)} references, within ±1 {np.mean(np.abs(o.error) <= 1):.0%}, "
                      f"resolved {o.resolved.mean():.0%}, resolved and off by > 1 {wrong.mean():.1%} "
                      f"({wrong.sum() / max(o.resolved.sum(), 1):.1%} of the resolved), "
                      f"interval covers d {o.covered.mean():.0%}", flush=True)


if __name__ == "__main__":
    main()
