"""One table of every group's search.json, with a total per landscape (``results/search/``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = ["landscape", "group", "status", "recovered", "latent_width", "latent_width_source", "samples",
           "validity", "converged", "relaxed_to_known", "new_minima", "median_relaxed", "median_landscape", "seeds",
           "budget", "low_energy_minima_latent", "low_energy_minima_sobol", "ratio", "global_minimum_latent",
           "global_minimum_sobol", "rediscoveries_latent", "rediscoveries_sobol", "validity_latent", "reason"]


def gather(paths) -> pd.DataFrame:
    """One row per search.json, then one ``total`` row per landscape: sums of the counts,
    validity = clash-free / all samples, relaxed_to_known weighted by converged relaxations,
    ratio = sum latent / sum Sobol."""
    rows = []
    for path in paths:
        r = json.loads(Path(path).read_text())
        row = {c: r.get(c) for c in COLUMNS}
        row["seeds"] = len(r["seeds"]) if isinstance(r.get("seeds"), list) else None
        for col, key in (("median_relaxed", "energy_relaxed"), ("median_landscape", "energy_landscape")):
            row[col] = (r.get(key) or {}).get("median")
        rows.append(row)
    table = pd.DataFrame(rows, columns=COLUMNS)
    totals = [_total(name, part) for name, part in table[table.status == "ok"].groupby("landscape", sort=False)]
    return pd.concat([table, pd.DataFrame(totals, columns=COLUMNS)], ignore_index=True) if totals else table


def _total(landscape: str, part: pd.DataFrame) -> dict:
    def total(col):
        return float(part[col].fillna(0).sum())

    latent, sobol = total("low_energy_minima_latent"), total("low_energy_minima_sobol")
    converged = part.converged.fillna(0).astype(float)
    known = (part.relaxed_to_known.fillna(0).astype(float) * converged).sum()
    return {"landscape": landscape, "group": "total", "status": "ok", "recovered": total("recovered"),
            "samples": total("samples"),
            "validity": float((part.validity * part.samples).sum() / part.samples.sum()) if total("samples") else None,
            "converged": converged.sum(), "relaxed_to_known": known / converged.sum() if converged.sum() else None,
            "new_minima": total("new_minima"), "seeds": part.seeds.max(), "budget": total("budget"),
            "low_energy_minima_latent": latent, "low_energy_minima_sobol": sobol,
            "ratio": latent / sobol if sobol else None, "global_minimum_latent": total("global_minimum_latent"),
            "global_minimum_sobol": total("global_minimum_sobol"),
            "rediscoveries_latent": total("rediscoveries_latent"), "rediscoveries_sobol": total("rediscoveries_sobol"),
            "validity_latent": float(part.validity_latent.mean()) if part.validity_latent.notna().any() else None}


POOLED_COLUMNS = ["landscape", "seed", "method", "minimisations", "groups", "found"]


def pooled_curves(paths) -> pd.DataFrame:
    """The search-efficiency curves of a landscape's groups added up: new low-energy minima
    found against minimisations spent per group (``POOLED_COLUMNS``; ``groups``: how many
    groups ran the test, so ``minimisations * groups`` were spent in all). Read from the
    efficiency.csv beside each search.json; a shorter run keeps its last count."""
    parts = []
    for path in paths:
        r = json.loads(Path(path).read_text())
        curves = pd.read_csv(Path(path).parent / "efficiency.csv")
        if r.get("efficiency") == "ok" and len(curves):
            parts.append(curves.assign(landscape=r["landscape"], group=r["group"]))
    if not parts:
        return pd.DataFrame(columns=POOLED_COLUMNS)
    rows = []
    for landscape, part in pd.concat(parts).groupby("landscape", sort=False):
        steps = np.arange(1, int(part.minimisations.max()) + 1)
        for (seed, method), runs in part.groupby(["seed", "method"]):
            found = sum(run.set_index("minimisations").found.reindex(steps).ffill().fillna(0).to_numpy()
                        for _, run in runs.groupby("group"))
            rows.append(pd.DataFrame({"landscape": landscape, "seed": seed, "method": method, "minimisations": steps,
                                      "groups": runs.group.nunique(), "found": found}))
    return pd.concat(rows, ignore_index=True)[POOLED_COLUMNS]


def markdown(table: pd.DataFrame) -> str:
    """The table as markdown: per group and per landscape total."""
    show = ["landscape", "group", "recovered", "latent_width", "validity", "relaxed_to_known", "new_minima",
            "median_relaxed", "median_landscape", "budget", "low_energy_minima_latent", "low_energy_minima_sobol",
            "ratio", "global_minimum_latent", "global_minimum_sobol", "rediscoveries_latent", "rediscoveries_sobol"]
    lines = ["| " + " | ".join(show) + " |", "|" + " --- |" * len(show)]
    for _, row in table.iterrows():
        if row.status != "ok":
            lines.append(f"| {row.landscape} | {row.group} | skipped: {row.reason} |" + " |" * (len(show) - 3))
            continue
        lines.append("| " + " | ".join(_cell(row[c]) for c in show) + " |")
    head = ("Decoded crystals and search efficiency per group (latentcsp search). validity: clash-free "
            "share of decoded samples; relaxed_to_known: share of converged relaxations that reach a "
            "landscape structure; new_minima: distinct relaxed decoded crystals that are none; "
            "median_relaxed, median_landscape: median energy (kJ/mol above the landscape's lowest) of the "
            "relaxed decoded samples and of the group's landscape structures; low_energy_minima_*: new minima "
            "within the window of the lowest energy found by any run, summed over seeds, for the same budget "
            "of minimisations; global_minimum_*: seeds in which the method reached the lowest-energy "
            "structure (summed over groups in the totals); rediscoveries_*: minimisations that ended in a "
            "minimum of the first quarter.")
    return head + "\n\n" + "\n".join(lines) + "\n"


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.3g}" if not value.is_integer() else f"{int(value)}"
    return str(value)
