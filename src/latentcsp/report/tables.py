"""The seed report's tables, gathered from the per-group analysis outputs.

* Dimensions: the calibrated dimension of every group with its interval beside the
  rigid-molecule DoF, or "unresolved" with the reason (calibration stage), and each
  descriptor set's error on its reference ladder.
* Table 1: structures (and PCA eigenvalues) per landscape and energy window.
* Table 2: true degrees of freedom of a rigid molecule per space group.
* Table 3: components for 80 % of the variance per group and window, beside
  the DoF, the elbow and every intrinsic-dimension estimate; one block per
  descriptor set, each followed by the linear measures that say what the
  counts measure: n, the rank of the centred data, the counts at the fixed
  subsample size, the noise-null count and the sample-size flag.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..structure import symmetry
from ..select import slug
from ..structure.symmetry import TOP10

ANALYSIS_PATH = re.compile(r"(?P<landscape>[^/]+)/analysis/(?P<dset>[^/]+)/(?P<window>[^/]+)/(?P<group>[^/]+)/pca\.json$")


def group_order(group: str) -> tuple:
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
        row.update(_linear_measures(pca))
        latent = path.parents[4] / "latent" / m["dset"] / m["window"] / m["group"] / "metrics.json"
        if latent.exists():
            row.update(_latent_columns(json.loads(latent.read_text())))
        for name, est in ids.get("estimators", {}).items():
            row[name] = est.get("dimension")
            row[f"{name}_lo"], row[f"{name}_hi"] = est.get("ci_low"), est.get("ci_high")
            row[f"{name}_bias"] = est.get("bias")
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table["_order"] = table.group.map(group_order)
    table["_w"] = table.window.astype(float)
    table = table.sort_values(["dset", "landscape", "_order", "_w"]).drop(columns=["_order", "_w"])
    return table.reset_index(drop=True)


def _latent_columns(metrics: dict) -> dict:
    """AE and PCA_knee (the reconstruction knees, None unless the sweep resolves one), their
    held-out R² (``AE_r2``, ``PCA_knee_r2``) and a status text (``AE_status``, ``PCA_knee_status``)."""
    from ..latent.sweep import describe_resolution

    row = {}
    for col, suffix in (("AE", ""), ("PCA_knee", "_pca")):
        res = metrics.get(f"resolution{suffix}")
        resolved = bool(res and res["resolved"])
        row[col] = metrics.get(f"effective_dimension{suffix}") if resolved else None
        row[f"{col}_r2"] = res["r2"] if res else None
        ok = metrics.get("status") == "ok"
        row[f"{col}_status"] = describe_resolution(res) if ok else f"skipped: {metrics.get('reason')}"
    return row


def _linear_measures(pca: dict) -> dict:
    """Table 3's columns from the newer pca.json keys (None where an older file lacks them).

    ``n_pca``: structures in the PCA (after deduplication); per threshold
    ``n80_limited`` (n80 >= (n_pca - 1) / 2), ``n80_fixed`` and ``n80_fixed_sd``
    (mean and standard deviation at the fixed size m), ``n80_fixed_limited``
    (n80_fixed >= (m - 1) / 2); ``elbow_fixed``,
    ``elbow_fixed_sd``, ``fixed_size`` (m) and ``noise_null`` (components above
    the parallel-analysis null).
    """
    fixed = pca.get("fixed_size") or {}
    elbow_m = fixed.get("elbow") or {}
    row = {"n_pca": pca["n_samples"], "fixed_size": fixed.get("size"),
           "elbow_fixed": elbow_m.get("mean"), "elbow_fixed_sd": elbow_m.get("std"),
           "noise_null": (pca.get("noise_null") or {}).get("n_components")}
    for key, flag in (pca.get("sample_limited") or {}).items():
        name = f"n{round(float(key) * 100):d}"
        at_m = (fixed.get("n_components") or {}).get(key) or {}
        row.update({f"{name}_limited": flag, f"{name}_fixed": at_m.get("mean"), f"{name}_fixed_sd": at_m.get("std"),
                    f"{name}_fixed_limited": (fixed.get("sample_limited") or {}).get(key)})
    return row


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


def table3_markdown(table: pd.DataFrame, threshold: str = "n80", dims: pd.DataFrame | None = None) -> str:
    """Markdown blocks, one per descriptor set: groups down, landscape x window across: the
    calibrated dimension with its interval (``dims``, from the calibration stage) beside the
    DoF, then the components for 80 % and the elbow, then the set's linear measures."""
    out = []
    for dset, sub in table.groupby("dset", sort=False):
        if dims is not None and len(dims) and (dims["set"] == dset).any():
            out.append(_calibrated_pivot(dset, dims[dims["set"] == dset]))
        flag = f"{threshold}_limited"
        sub = sub.assign(**{flag: sub[flag] if flag in sub else False})
        index, columns = "group", ["landscape", "window"]
        pivot = sub.pivot_table(index=index, columns=columns, values=threshold, aggfunc="first")
        elbow, limited = (sub.pivot_table(index=index, columns=columns, values=v, aggfunc="first")
                          .reindex(index=pivot.index, columns=pivot.columns) for v in ("elbow", flag))
        cells = pd.DataFrame([[_count_cell(a, b, c) for a, b, c in zip(rn, re, rl)]
                              for rn, re, rl in zip(pivot.values, elbow.values, limited.values)],
                             index=pivot.index, columns=pivot.columns)
        cells.columns = [f"{landscape} L{window}" for landscape, window in cells.columns]
        dof = sub.groupby("group").dof.first()
        cells.insert(0, "DoF", ["" if g == "all" else v for g, v in
                                zip(cells.index, dof.reindex(cells.index).astype("Int64").astype(str))])
        cells = cells.loc[sorted(cells.index, key=group_order)]
        out.append(f"### Descriptor set `{dset}`: components for 80 % of the variance (elbow)\n\n"
                   + cells.reset_index().to_markdown(index=False)
                   + f"\n\n† {threshold} >= (n - 1) / 2 (at m: >= (m - 1) / 2): the count is set by the "
                   "number of structures, not by the landscape.\n\n" + _linear_markdown(sub, threshold))
    return "\n\n".join(out)


def _calibrated_pivot(dset: str, dims: pd.DataFrame) -> str:
    """Groups down, landscape x window across: the calibrated dimension [interval], or
    'unresolved'; the DoF beside it (a lower bound with the torsions for a flexible molecule)."""
    cell = {(r.group, f"{r.landscape} L{r.window}"): (_dimension_cell(r) if r.resolved else "unresolved")
            for r in dims.itertuples()}
    groups = sorted({g for g, _ in cell}, key=group_order)
    columns = list(dict.fromkeys(c for _, c in cell))
    dof = {r.group: _dof_cell(r) for r in dims.itertuples()}
    rows = [{"group": g, "DoF (rigid)": dof.get(g, ""), **{c: cell.get((g, c), "—") for c in columns}} for g in groups]
    return (f"### Descriptor set `{dset}`: calibrated dimension [interval]\n\n" + pd.DataFrame(rows).to_markdown(index=False)
            + "\n\nThe reasons for 'unresolved' are in the Dimensions table and in dimensions.csv.")


def _linear_markdown(sub: pd.DataFrame, threshold: str) -> str:
    """The linear measures of one descriptor set, one row per landscape, window and group."""
    sizes = sorted({int(m) for m in sub.get("fixed_size", pd.Series(dtype=float)).dropna()})
    at = f"m = {sizes[0]}" if len(sizes) == 1 else "m"
    rows = []
    for _, r in sub.iterrows():
        rows.append({
            "landscape": r.landscape, "window": r.window, "group": r.group,
            "DoF": "" if r.group == "all" else _int_cell(r.dof),
            "n": _int_cell(r.get("n_pca")), "rank": _int_cell(r["rank"]),
            threshold: _flagged(r[threshold], r.get(f"{threshold}_limited")),
            f"{threshold} at {at}": _mean_sd_cell(r.get(f"{threshold}_fixed"), r.get(f"{threshold}_fixed_sd"),
                                                  r.get(f"{threshold}_fixed_limited")),
            "elbow": _int_cell(r.elbow),
            f"elbow at {at}": _mean_sd_cell(r.get("elbow_fixed"), r.get("elbow_fixed_sd")),
            "above noise": _int_cell(r.get("noise_null")),
        })
    return (f"Linear measures: n structures after deduplication, the rank of the centred data (at most n - 1), "
            f"{threshold} and the elbow on random subsets of {at} structures (mean ± sd; — for smaller groups), "
            "and the components above the noise null (parallel analysis: eigenvalues above the 95th percentile "
            "of column-permuted data).\n\n" + pd.DataFrame(rows).to_markdown(index=False))


def _count_cell(n80, elbow, limited=False) -> str:
    """'33 (9)' for n80 = 33 and elbow 9, '33† (9)' when n80 >= (n - 1) / 2; '—' where not analysed."""
    if pd.isna(n80):
        return "—"
    return f"{_flagged(n80, limited)} ({_int_cell(elbow)})"


def _flagged(count, limited) -> str:
    """'33', or '33†' when the count is sample-limited; '—' when missing."""
    if count is None or pd.isna(count):
        return "—"
    return f"{int(count)}{_dagger(limited)}"


def _dagger(limited) -> str:
    """'†' where a count is flagged as sample-limited."""
    return "†" if limited is not None and not pd.isna(limited) and bool(limited) else ""


def _int_cell(value) -> str:
    return "—" if value is None or pd.isna(value) else f"{int(value)}"


def _mean_sd_cell(mean, sd, limited=None) -> str:
    """'13.2 ± 0.8', '15.2† ± 0.7' when the mean is sample-limited, or '—'."""
    if mean is None or pd.isna(mean):
        return "—"
    return f"{mean:.1f}{_dagger(limited)} ± {0.0 if sd is None or pd.isna(sd) else sd:.1f}"


def _latent_cell(value, status) -> str:
    """'knee 7, uncalibrated' where the sweep resolves a knee (no reference of known dimension
    checks it), else the status ('unresolved (R² = 0.065)'); 'not run' where the group has no
    latent analysis (``latent.sets``, ``latent.windows``)."""
    if value is not None and not pd.isna(value):
        return f"knee {int(value)}, uncalibrated"
    return "not run" if status is None or pd.isna(status) else str(status)


def _estimate_cell(value, lo, hi, bias=np.nan) -> str:
    """'10.1 [9.0, 11.3] -0.4' (estimate, resampling interval, bias), '10.1' without an
    interval, '' when not estimated."""
    if pd.isna(value):
        return ""
    cell = f"{value:.1f}" + ("" if pd.isna(lo) or pd.isna(hi) else f" [{lo:.1f}, {hi:.1f}]")
    return cell + ("" if pd.isna(bias) else f" {bias:+.1f}")


def estimates_markdown(table: pd.DataFrame, estimators: list[str]) -> str:
    """Markdown: each group's DoF, n80, elbow and intrinsic-dimension estimates (with CI)."""
    cols = ["landscape", "window", "group", "n_unique", "dof", "n80", "elbow"]
    cols += [c for c in ("AE", "PCA_knee") if c in table]
    out = []
    for dset, sub in table.groupby("dset", sort=False):
        show = sub[cols].copy()
        show["dof"] = ["" if g == "all" else _int_cell(v) for g, v in zip(sub.group, sub.dof)]
        for col in ("AE", "PCA_knee"):
            if col in show:
                show[col] = [_latent_cell(v, status) for v, status in
                             zip(sub[col], sub.get(f"{col}_status", pd.Series(None, index=sub.index)))]
        for name in estimators:
            if name in sub:
                show[name] = [_estimate_cell(*v) for v in
                              zip(sub[name], *(sub.get(f"{name}_{k}", sub[name] * np.nan) for k in ("lo", "hi", "bias")))]
        out.append(f"### Descriptor set `{dset}`: dimension estimates\n\n" + show.to_markdown(index=False))
    return ("Raw estimates, not dimensions: each has a bias that depends on the size of the group and on how the "
            "landscape was sampled; the Dimensions table gives them calibrated. Each estimate is followed by the 95 % "
            "interval of the same estimator on random halves of the group and its bias (median on the halves minus "
            "the full estimate; negative: the estimate still grows with the number of structures). The group `all` "
            "combines space groups and has no DoF of its own. AE and PCA_knee are the widths where the "
            "autoencoder's and PCA's held-out reconstruction stop improving, where the sweep resolves one; "
            "no reference of known dimension calibrates them, and on generated landscapes they came out well "
            "below the truth (README, 'AE / PCA_knee'), so they are not dimensions. They are 'not run' outside "
            "the sets and windows that `latent.sets` and `latent.windows` name.\n\n"
            + "\n\n".join(out))


def collect_dimensions(files: list[str | Path], sets: list[str]) -> pd.DataFrame:
    """One row per landscape x set x window x group from the calibration stage's
    dimensions.csv files; sets in the order given (the first is the main one)."""
    parts = [pd.read_csv(f, dtype={"window": str, "group": str}) for f in map(Path, files)]
    table = pd.concat([p for p in parts if len(p)], ignore_index=True) if parts else pd.DataFrame()
    if table.empty:
        return table
    table["resolved"] = table.resolved.fillna(False).astype(bool)
    table["_s"] = table["set"].map({name: k for k, name in enumerate(sets)}).fillna(len(sets))
    table["_g"] = table.group.map(group_order)
    table["_w"] = table.window.astype(float)
    table = table.sort_values(["_s", "landscape", "_g", "_w"]).drop(columns=["_s", "_g", "_w"])
    return table.reset_index(drop=True)


def _dimension_cell(row) -> str:
    """'9.6 [8.7, 10.5]' when resolved, else 'unresolved: reason'."""
    if row.resolved:
        return f"{row.calibrated:.1f} [{row.calibrated_low:.1f}, {row.calibrated_high:.1f}]"
    return f"unresolved: {row.reason}"


def _rigid_cell(row) -> str:
    """'7 = 4 + 2 + 1, exact on 12 of 12 references, used' (lattice + orientation + position)
    or '—' where there is no count (a flexible molecule, too few structures)."""
    count = getattr(row, "rigid_count", None)
    if count is None or pd.isna(count):
        return "—"
    blocks = " + ".join(f"{int(getattr(row, f'rigid_{b}'))}" for b in ("lattice", "orientation", "position"))
    checked = getattr(row, "rigid_checked", None)
    checks = ("" if checked is None or pd.isna(checked)
              else f", exact on {int(row.rigid_exact)} of {int(checked)} references")
    used = "used" if getattr(row, "calibrated_by", "") == "rigid-body count" else "not used"
    return f"{int(count)} = {blocks}{checks}, {used}"


def _dof_cell(row) -> str:
    """The rigid-molecule DoF; a lower bound (with the torsions) for a flexible molecule;
    blank for a group that mixes space groups."""
    if pd.isna(row.dof) or (row.group == "all" and isinstance(row.reason, str) and "combines" in row.reason):
        return ""
    torsions = int(row.torsions) if not pd.isna(row.torsions) else 0
    return f">= {int(row.dof)} (+{torsions} torsions)" if torsions else f"{int(row.dof)}"


def dimensions_markdown(dims: pd.DataFrame) -> str:
    """Markdown: per descriptor set (main first), each group's calibrated dimension beside its DoF."""
    out = []
    for k, (dset, sub) in enumerate(dims.groupby("set", sort=False)):
        show = pd.DataFrame({"landscape": sub.landscape, "window": sub.window, "group": sub.group, "n": sub.n,
                             "DoF (rigid)": [_dof_cell(r) for r in sub.itertuples()],
                             "calibrated dimension [interval]": [_dimension_cell(r) for r in sub.itertuples()]})
        if "rigid_count" in sub:
            show["rigid-body count"] = [_rigid_cell(r) for r in sub.itertuples()]
        head = "main set" if k == 0 else "set"
        out.append(f"### {head} `{dset}`\n\n" + show.to_markdown(index=False))
    return "\n\n".join(out)


def ladder_errors(held_out_files: list[str | Path]) -> pd.DataFrame:
    """Per descriptor set: each estimator's and the combination's error on its reference
    ladders (calibrated minus true d, leaving each DoF subset out): the number of references,
    the mean absolute error and the fraction within +-1."""
    parts = [pd.read_csv(f) for f in map(Path, held_out_files)]
    table = pd.concat([p for p in parts if len(p)], ignore_index=True) if parts else pd.DataFrame()
    if table.empty:
        return table
    skip = {"landscape", "set", "window", "group", "d", "pattern"}
    rows = []
    for dset, sub in table.groupby("set", sort=False):
        for name in [c for c in sub.columns if c not in skip]:
            err = sub[name].dropna().abs()
            rows.append({"set": dset, "estimator": name, "references": len(err),
                         "mean_abs_error": round(float(err.mean()), 3) if len(err) else None,
                         "within_1": round(float((err <= 1).mean()), 3) if len(err) else None})
    return pd.DataFrame(rows)
