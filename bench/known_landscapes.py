#!/usr/bin/env python
"""Calibrated dimension against the truth, for landscapes of known dimension run through the workflow.

    .venv/bin/python bench/known_landscapes.py results/summary/dimensions.csv \\
        mol-d7=test/mol-d7 pyr-d4=test/pyr-d4 [--set smooth]

Each ``name=folder`` pairs a landscape of the config (its ``landscapes:`` key) with the
folder ``latentcsp synth-ensemble`` wrote it to (its ``truth.json`` holds the true
dimension ``d``). For each landscape, the space-group group with the most structures
(the widest window on a tie) of the descriptor set: the calibrated dimension, its interval,
whether it is resolved, what gave it (the descriptor calibration or the rigid-body count,
with the count and its checks), and whether it lies within +-1 of d. Last line: how many are
within +-1, resolved, and resolved but off by more than 1.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd


def largest_group(dims: pd.DataFrame, landscape: str, dset: str) -> pd.Series | None:
    """The row of ``landscape``'s space-group group with the most structures in set ``dset``."""
    rows = dims[(dims.landscape == landscape) & (dims["set"] == dset) & (dims.group != "all")]
    if rows.empty:
        return None
    order = rows.assign(width=pd.to_numeric(rows.window, errors="coerce").fillna(float("inf")))
    return order.sort_values(["n", "width"], ascending=False).iloc[0]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dimensions", help="results/summary/dimensions.csv (or a calibration's dimensions.csv)")
    ap.add_argument("landscapes", nargs="+", help="name=folder: a landscape and the folder holding its truth.json")
    ap.add_argument("--set", default=None, help="descriptor set (default: the first in the table)")
    args = ap.parse_args(argv)
    dims = pd.read_csv(args.dimensions, dtype={"window": str, "group": str})
    dset = args.set or dims["set"].iloc[0]
    hits = resolved = wrong = 0
    for item in args.landscapes:
        name, _, folder = item.partition("=")
        d = json.loads((Path(folder) / "truth.json").read_text())["d"]
        row = largest_group(dims, name, dset)
        if row is None or pd.isna(row.calibrated):
            why = "no such landscape in the table" if row is None else row.reason
            print(f"{name:12s} d={d:2d}  not calibrated: {why}")
            continue
        hit, res = abs(row.calibrated - d) <= 1, str(row.resolved) == "True"
        hits, resolved, wrong = hits + hit, resolved + res, wrong + (res and not hit)
        by = row.get("calibrated_by", "descriptors")
        count = row.get("rigid_count")
        extra = "" if pd.isna(count) else (f"; rigid-body count {count:g} (exact on {row.rigid_exact:g} of "
                                           f"{row.rigid_checked:g} references)" if not pd.isna(row.get("rigid_checked"))
                                           else f"; rigid-body count {count:g}")
        print(f"{name:12s} d={d:2d}  {row.group} window {row.window} n={row.n}: {row.calibrated:g} "
              f"[{row.calibrated_low:.1f}, {row.calibrated_high:.1f}]{' resolved' if res else ''} by {by}{extra}"
              f"  {'within ±1' if hit else 'MISS'}")
    print(f"{dset}: {hits} of {len(args.landscapes)} within ±1, {resolved} resolved, {wrong} resolved and off by > 1")


if __name__ == "__main__":
    main()
