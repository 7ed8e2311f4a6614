"""The seed report's tables, gathered from the per-group analysis outputs.

* Table 1: structures (and PCA eigenvalues) per landscape and energy window.
* Table 2: true degrees of freedom of a rigid molecule per space group.
* Table 3: components for 80 % of the variance per group and window, beside
  the DoF, the elbow and every intrinsic-dimension estimate; one block per
  descriptor set.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .. import symmetry
from ..select import slug
from ..symmetry import TOP10

ANALYSIS_PATH = re.compile(r"(?P<landscape>[^/]+)/analysis/(?P<dset>[^/]+)/(?P<window>[^/]+)/(?P<group>[^/]+)/pca\.json$")


def _group_order(group: str) -> tuple:
    """Seed order for the top-10 groups, then others alphabetically, 'all' last."""
    top = [slug(symmetry.spacegroup_symbol(n)) for n in TOP10]
    if group == "all":
        return (2, 0, "")
    return (0, top.index(group), "") if group in top else (1, 0, group)


def collect(pca_files: list[str | Path]) -> pd.DataFrame:
    """One row per analysed group with the numbers of Table 3."""
    rows = []
    for path in map(Path, pca_files):
        m = ANALYSIS_PATH.search(path.as_posix())
        if m is None:
            raise ValueError(f"not an analysis output path: {path}")
        pca = json.loads(path.read_text())
        ids = json.loads((path.parent / "id.json").read_text())
        row = {**m.groupdict(), "n": pca["dedup"]["n_input"], "n_unique": pca["dedup"]["n_kept"],
               "rank": pca["rank"], "dof": pca["dof"].get("total"),
               "dof_assumption": pca["dof"].get("assumption", ""),
               "elbow": pca["elbow"]}
        for key, value in pca["n_components"].items():
            row[f"n{round(float(key) * 100):d}"] = value
        latent = path.parents[4] / "latent" / m["dset"] / m["window"] / m["group"] / "metrics.json"
        if latent.exists():
            metrics = json.loads(latent.read_text())
            row["AE"] = metrics.get("effective_dimension")
            row["PCA_knee"] = metrics.get("effective_dimension_pca")
        for name, est in ids.get("estimators", {}).items():
            row[name] = est.get("dimension")
            row[f"{name}_lo"], row[f"{name}_hi"] = est.get("ci_low"), est.get("ci_high")
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table["_order"] = table.group.map(_group_order)
    table["_w"] = table.window.astype(float)
    table = table.sort_values(["dset", "landscape", "_order", "_w"]).drop(columns=["_order", "_w"])
    return table.reset_index(drop=True)


def table1(manifests: dict[str, pd.DataFrame], groups: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Structures per landscape and window (all, and in the selected space groups), their energy
    spread (kJ/mol) and density (g/cm^3)."""
    rows = []
    for name, man in manifests.items():
        g = groups[name]
        for window in sorted(g.window.unique(), key=float):
            selected = g[(g.window == window) & (g.group == "all")]
            inside = man[man.rel_energy <= float(window) + 1e-9]
            rows.append({"landscape": name, "window": window,
                         "n_structures": len(inside),
                         "n_selected": len(selected),
                         "n_spacegroups": int(g[(g.window == window) & (g.group != "all")].group.nunique()),
                         "energy_spread": round(float(inside.rel_energy.max()), 2),
                         "density_median": round(float(inside.density.median()), 3),
                         "density_range": f"{inside.density.min():.2f}-{inside.density.max():.2f}"})
    return pd.DataFrame(rows)


def table2(numbers: list[int]) -> pd.DataFrame:
    """DoF of a rigid molecule in a general position (Z' = 1) per space group."""
    rows = []
    for n in numbers:
        d = symmetry.describe_dof(n)
        rows.append({"spacegroup": d["symbol"], "number": n, "crystal_system": d["crystal_system"],
                     "lattice": d["lattice"], "rotations": d["rotations"], "translations": d["translations"],
                     "polar": d["polar"], "dof": d["total"]})
    return pd.DataFrame(rows)


def table3_markdown(table: pd.DataFrame, threshold: str = "n80") -> str:
    """Markdown blocks, one per descriptor set: groups down, landscape x window across."""
    out = []
    for dset, sub in table.groupby("dset", sort=False):
        pivot = sub.pivot_table(index="group", columns=["landscape", "window"], values=threshold, aggfunc="first")
        elbow = sub.pivot_table(index="group", columns=["landscape", "window"], values="elbow", aggfunc="first")
        elbow = elbow.reindex(index=pivot.index, columns=pivot.columns)
        cells = pd.DataFrame([[_count_cell(a, b) for a, b in zip(rn, re)] for rn, re in zip(pivot.values, elbow.values)],
                             index=pivot.index, columns=pivot.columns)
        cells.columns = [f"{landscape} L{window}" for landscape, window in cells.columns]
        dof = sub.groupby("group").dof.first()
        cells.insert(0, "DoF", dof.reindex(cells.index).astype("Int64").astype(str))
        cells = cells.loc[sorted(cells.index, key=_group_order)]
        out.append(f"### Descriptor set `{dset}`: components for 80 % of the variance (elbow)\n\n"
                   + cells.reset_index().to_markdown(index=False))
    return "\n\n".join(out)


def _count_cell(n80, elbow) -> str:
    """'33 (9)' for n80 = 33 and elbow 9; '—' where the group was not analysed."""
    if pd.isna(n80):
        return "—"
    return f"{int(n80)} ({'—' if pd.isna(elbow) else int(elbow)})"


def _estimate_cell(value, lo, hi) -> str:
    """'10.1 [9.0, 11.3]', '10.1' without an interval, '' when not estimated."""
    if pd.isna(value):
        return ""
    return f"{value:.1f}" + ("" if pd.isna(lo) or pd.isna(hi) else f" [{lo:.1f}, {hi:.1f}]")


def estimates_markdown(table: pd.DataFrame, estimators: list[str]) -> str:
    """Markdown: each group's DoF, n80, elbow and intrinsic-dimension estimates (with CI)."""
    cols = ["landscape", "window", "group", "n_unique", "dof", "n80", "elbow"]
    cols += [c for c in ("AE", "PCA_knee") if c in table]
    out = []
    for dset, sub in table.groupby("dset", sort=False):
        show = sub[cols].copy()
        for col in ("AE", "PCA_knee"):
            if col in show:
                show[col] = show[col].map(lambda v: "" if pd.isna(v) else f"{int(v)}")
        for name in estimators:
            if name in sub:
                show[name] = [_estimate_cell(v, lo, hi) for v, lo, hi in
                              zip(sub[name], sub.get(f"{name}_lo", sub[name] * np.nan),
                                  sub.get(f"{name}_hi", sub[name] * np.nan))]
        out.append(f"### Descriptor set `{dset}`: dimension estimates\n\n" + show.to_markdown(index=False))
    return "\n\n".join(out)
