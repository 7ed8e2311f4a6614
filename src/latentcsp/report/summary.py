"""``results/summary/``: the seed's tables (CSV + Markdown) and the landscape-level figures."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..store import atomic_path, read_manifest, write_csv
from . import figures, tables


def build(results: str | Path, pca_files: list[str], out: str | Path, estimators: list[str]) -> list[Path]:
    """Write every summary table and figure into ``out``; returns the written paths."""
    results, out = Path(results), Path(out)
    table = tables.collect(pca_files)
    landscapes = sorted(table.landscape.unique())
    manifests = {name: read_manifest(results / name / "manifest.csv") for name in landscapes}
    groups = {name: pd.read_csv(results / name / "groups.csv", dtype={"id": str, "window": str})
              for name in landscapes}
    t1 = tables.table1(manifests, groups)
    numbers = sorted({int(n) for g in groups.values() for n in g.spacegroup_number.unique() if n > 0})
    t2 = tables.table2(numbers)
    written = []
    for name, frame in (("table1_counts", t1), ("table2_dof", t2), ("table3_dimensions", table)):
        write_csv(frame, out / f"{name}.csv")
        written.append(out / f"{name}.csv")
    md = _markdown(t1, t2, table, estimators)
    with atomic_path(out / "summary.md") as tmp:
        Path(tmp).write_text(md)
    written.append(out / "summary.md")
    written += _figures(table, pca_files, out / "figures", estimators)
    return written


def _markdown(t1, t2, t3, estimators) -> str:
    return "\n\n".join([
        "# latentcsp summary",
        "## Table 1: structures per landscape and energy window\n\n" + t1.to_markdown(index=False),
        "## Table 2: degrees of freedom of a rigid molecule (general position, Z' = 1)\n\n"
        + t2.to_markdown(index=False),
        "## Table 3: dimensionality per space group and window\n\n" + tables.table3_markdown(t3),
        "## Intrinsic-dimension estimates\n\n" + tables.estimates_markdown(t3, estimators),
    ]) + "\n"


def _figures(table: pd.DataFrame, pca_files: list[str], outdir: Path, estimators) -> list[Path]:
    by_key: dict[tuple, dict] = {}
    for path in map(Path, pca_files):
        m = tables.ANALYSIS_PATH.search(path.as_posix())
        by_key.setdefault((m["landscape"], m["dset"], m["window"]), {})[m["group"]] = json.loads(path.read_text())
    written = []
    for (landscape, dset, window), spectra in sorted(by_key.items()):
        ordered = dict(sorted(spectra.items(), key=lambda kv: tables._group_order(kv[0])))
        title = f"{landscape}, lowest {window} kJ/mol, {dset}"
        written += figures.save(figures.eigenvalue_spectra(ordered, title),
                                outdir / f"spectra_{landscape}_{dset}_L{window}")
        sub = table[(table.landscape == landscape) & (table.dset == dset) & (table.window == window)]
        written += figures.save(figures.dimensions_vs_dof(sub, estimators, title),
                                outdir / f"dimensions_{landscape}_{dset}_L{window}")
    return written
