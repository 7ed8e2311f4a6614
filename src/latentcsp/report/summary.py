"""``results/summary/``: the seed's tables (CSV + Markdown) and the landscape-level figures."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..store import atomic_path, read_manifest, write_csv
from . import figures, tables


def build(results: str | Path, pca_files: list[str], out: str | Path, estimators: list[str],
          calibrations: list[str] = (), sets: list[str] = ()) -> list[Path]:
    """Write every summary table and figure into ``out``; returns the written paths.

    ``calibrations``: the calibration stage's dimensions.csv files (their folders hold
    curves.csv and held_out.csv); ``sets``: descriptor sets in config order, the first the main one.
    """
    results, out = Path(results), Path(out)
    table = tables.collect(pca_files)
    folders = [Path(f).parent for f in calibrations]
    dims = tables.collect_dimensions(list(calibrations), list(sets))
    ladder = tables.ladder_errors([f / "held_out.csv" for f in folders])
    landscapes = sorted(table.landscape.unique())
    manifests = {name: read_manifest(results / name / "manifest.csv") for name in landscapes}
    groups = {name: pd.read_csv(results / name / "groups.csv", dtype={"id": str, "window": str})
              for name in landscapes}
    t1 = tables.table1(manifests, groups)
    numbers = sorted({int(n) for g in groups.values() for n in g.spacegroup_number.unique() if n > 0})
    t2 = tables.table2(numbers)
    written = []
    for name, frame in (("table1_counts", t1), ("table2_dof", t2), ("table3_dimensions", table),
                        ("dimensions", dims), ("ladder_errors", ladder)):
        write_csv(frame, out / f"{name}.csv")
        written.append(out / f"{name}.csv")
    md = _markdown(t1, t2, table, estimators, dims, ladder)
    with atomic_path(out / "summary.md") as tmp:
        Path(tmp).write_text(md)
    written.append(out / "summary.md")
    written += _figures(table, pca_files, out / "figures", estimators)
    written += _calibration_figures(folders, dims, out / "figures")
    return written


DIMENSIONS_NOTE = (
    "The calibrated dimension maps each group's raw intrinsic-dimension estimates onto the "
    "dimensions of reference landscapes made by the generator with the landscape's own rigid "
    "molecule, space group, size, descriptors and estimators (d = 1 to the group's DoF, DoF "
    "subsets sampled over the full range and locally): it is the median true dimension of the "
    "references whose raw estimates and multiscale trend read most like the group's. Its "
    "interval is the held-out error of those references (each calibrated with its own DoF "
    "subset left out) combined with the group's resampling spread. "
    "'unresolved' means no dimension could be checked against known truth at this size; the "
    "reason says why. For a flexible molecule the DoF of the rigid molecule is a lower bound "
    "and the rotatable bonds are counted beside it. The group 'all' combines space groups "
    "and has no DoF of its own. "
    "For a rigid molecule (Z' = 1), the rigid-body count adds the dimensions of the crystals' "
    "lattice, orientation and position, each read off the crystals' own coordinates: an upper "
    "bound that equals the dimension when these vary independently, as in a landscape made by "
    "freezing some DoF and sampling the others. It replaces the descriptor calibration where it "
    "was exact on at least 90 % of the references checked at the group's size and does not "
    "exceed the calibration's interval (then the interval is the count itself).")


def _markdown(t1, t2, t3, estimators, dims=None, ladder=None) -> str:
    calibrated = []
    if dims is not None and len(dims):
        calibrated.append("## Dimensions\n\n" + DIMENSIONS_NOTE + "\n\n" + tables.dimensions_markdown(dims))
    if ladder is not None and len(ladder):
        calibrated.append("### Error of each descriptor set on its reference ladders\n\n"
                          "Calibrated minus true dimension of every reference ensemble, its DoF subset left out "
                          "of the curves.\n\n" + ladder.to_markdown(index=False))
    return "\n\n".join([
        "# latentcsp summary",
        *calibrated,
        "## Table 1: structures per landscape and energy window\n\n" + t1.to_markdown(index=False),
        "## Table 2: degrees of freedom of a rigid molecule (general position, Z' = 1)\n\n"
        + t2.to_markdown(index=False),
        "## Table 3: dimensionality per space group and window\n\n" + tables.table3_markdown(t3, dims=dims),
        "## Intrinsic-dimension estimates\n\n" + tables.estimates_markdown(t3, estimators),
    ]) + "\n"


def _figures(table: pd.DataFrame, pca_files: list[str], outdir: Path, estimators) -> list[Path]:
    by_key: dict[tuple, dict] = {}
    for path in map(Path, pca_files):
        m = tables.ANALYSIS_PATH.search(path.as_posix())
        by_key.setdefault((m["landscape"], m["dset"], m["window"]), {})[m["group"]] = json.loads(path.read_text())
    written = []
    for (landscape, dset, window), spectra in sorted(by_key.items()):
        ordered = dict(sorted(spectra.items(), key=lambda kv: tables.group_order(kv[0])))
        title = f"{landscape}, lowest {window} kJ/mol, {dset}"
        written += figures.save(figures.eigenvalue_spectra(ordered, title),
                                outdir / f"spectra_{landscape}_{dset}_L{window}")
        sub = table[(table.landscape == landscape) & (table.dset == dset) & (table.window == window)]
        written += figures.save(figures.dimensions_vs_dof(sub, estimators, title),
                                outdir / f"dimensions_{landscape}_{dset}_L{window}")
    return written


def _calibration_figures(folders: list[Path], dims: pd.DataFrame, outdir: Path) -> list[Path]:
    """Calibration curves per landscape and set, and the held-out validation per set."""
    written, held = [], {}
    for folder in folders:
        curves = pd.read_csv(folder / "curves.csv", dtype={"window": str, "group": str})
        if curves.empty:
            continue
        landscape, dset = curves.landscape.iloc[0], curves["set"].iloc[0]
        mine = dims[(dims.landscape == landscape) & (dims["set"] == dset)]
        written += figures.save(figures.calibration_curves(curves, mine, f"{landscape}, {dset}"),
                                outdir / f"calibration_{landscape}_{dset}")
        held.setdefault(dset, []).append(pd.read_csv(folder / "held_out.csv"))
    for dset, parts in held.items():
        written += figures.save(figures.calibration_validation(pd.concat(parts), f"descriptor set {dset}"),
                                outdir / f"calibration_validation_{dset}")
    return written
