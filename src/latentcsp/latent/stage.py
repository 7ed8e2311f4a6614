"""The latent stage for one group: files in, files out around :func:`.group.run_group`.

Reads the structures the analysis kept (``scores.csv``: near-duplicates
removed), their descriptor rows and crystal geometry, and writes into
``results/{landscape}/latent/{set}/{window}/{group}/``:

* ``sweep.csv``: held-out reconstruction error per width and fold (AE and PCA);
* ``metrics.json``: effective dimension, neighbourhood and sampling metrics,
  and the true DoF from ``pca.json``;
* ``coordinates.csv``: id, rel_energy, density, and the encoded coordinates
  (AE, VAE and PCA at the effective width; AE and PCA 2-d maps);
* ``models/{ae,vae,ae_2d}.npz``: the fitted models (no pickle).

The figures are drawn by the CLI from these files (:mod:`latentcsp.report`
sits above this module).
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from ..analysis.rows import load_rows
from ..store import job_record, read_json, read_structures, write_csv, write_json


SWEEP_COLUMNS = ["width", "fold", "ae_mse", "pca_mse", "null_mse"]


def write_skipped(outdir, key: dict, reason: str) -> dict:
    """The outputs of a group without a latent analysis: metrics.json with the status "skipped"
    and the reason, an empty sweep.csv and coordinates.csv; returns metrics.json's content."""
    outdir = Path(outdir)
    results = {"key": key, "status": "skipped", "reason": reason}
    write_json(results, outdir / "metrics.json")
    write_csv(pd.DataFrame(columns=SWEEP_COLUMNS), outdir / "sweep.csv")
    write_csv(pd.DataFrame(columns=["id", "rel_energy", "density"]), outdir / "coordinates.csv")
    return results


def run(descriptor_files, scores_csv, pca_json, structures_h5, outdir, config: dict) -> dict:
    """Latent analysis of one group; returns metrics.json's content."""
    from .group import run_group

    start = time.perf_counter()
    outdir = Path(outdir)
    kept = pd.read_csv(scores_csv, dtype={"id": str})
    if "estimated" in kept:  # a large group: the structures of the analysis's subsample
        kept = kept[kept.estimated.astype(bool)].reset_index(drop=True)
    pca = read_json(pca_json)
    X, _ = load_rows(descriptor_files, list(kept.id))
    structures = read_structures(structures_h5, kept.id) if structures_h5 else None
    crystals = None if structures is None else [
        (structures.cell[s], structures.positions[structures.atoms_of(s)], structures.numbers[structures.atoms_of(s)])
        for s in range(len(structures))]
    props = {name: kept[column].to_numpy(float) for name, column in (("energy", "rel_energy"), ("density", "density"))
             if kept[column].notna().all()}  # a landscape without energies has none
    out = run_group(X, props, list(kept.id), config, structures=crystals)
    results = {"key": pca.get("key"), **out["results"], "dof": pca["dof"].get("total"), "job": job_record(start)}
    write_json(results, outdir / "metrics.json")
    if results.get("status") != "ok":
        write_csv(pd.DataFrame(columns=SWEEP_COLUMNS), outdir / "sweep.csv")
        write_csv(kept[["id", "rel_energy", "density"]], outdir / "coordinates.csv")
        return results
    write_csv(out["sweep"], outdir / "sweep.csv")
    coords = kept[["id", "rel_energy", "density"]].copy()
    for name, Z in out["coordinates"].items():
        for k in range(Z.shape[1]):
            coords[f"{name}_{k + 1}"] = Z[:, k]
    write_csv(coords, outdir / "coordinates.csv")
    (outdir / "models").mkdir(parents=True, exist_ok=True)
    for name, model in out["models"].items():
        model.save(outdir / "models" / f"{name}.npz")
    return results
