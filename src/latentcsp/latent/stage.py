"""The latent stage for one group: files in, files out around :func:`.group.run_group`.

Reads the structures the analysis kept (``scores.csv``: near-duplicates
removed), their descriptor rows and crystal geometry, and writes into
``results/{landscape}/latent/{set}/{window}/{group}/``:

* ``sweep.csv``: held-out reconstruction error per width and fold (AE and PCA);
* ``metrics.json``: effective dimension, neighbourhood and sampling metrics,
  the true DoF from ``pca.json``, and the job's wall time and peak memory (``job``);
* ``coordinates.csv``: id, rel_energy, density, and the encoded coordinates
  (AE, VAE and PCA at the effective width; AE and PCA 2-d maps);
* ``models/{ae,vae,ae_2d}.npz``: the fitted models (no pickle).

A group larger than the analysis's subsample (``scores.csv`` → ``estimated``
false for some rows) is never held in memory: the width sweep, the
preprocessing (mean, scale, input principal axes), the neighbourhood, PDD and
sampling metrics use the analysis's subsample (held in memory, as a group of
that size would be), the final autoencoders (AE, 2-d AE, VAE) are trained on
minibatches of every structure read from the descriptor files
(:class:`~latentcsp.analysis.rows.GroupRows`), and ``coordinates.csv`` covers
every structure of the group (near-duplicates included: the analysis removed
them on its subsample only); ``metrics.json`` → ``subsample`` says which is
which. A group within the subsample is analysed in memory, as before.

The figures are drawn by the CLI from these files (:mod:`latentcsp.report`
sits above this module).
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import pandas as pd

from ..analysis.rows import GroupRows, load_rows
from ..store import COORDINATES_COLUMNS, SWEEP_COLUMNS, job_record, read_json, read_structures, write_csv, write_json


def run(descriptor_files, scores_csv, pca_json, structures_h5, outdir, config: dict) -> dict:
    """Latent analysis of one group; returns metrics.json's content."""
    from .group import run_group

    start = time.perf_counter()
    outdir = Path(outdir)
    every = pd.read_csv(scores_csv, dtype={"id": str})
    kept = every[every.estimated.astype(bool)].reset_index(drop=True) if "estimated" in every else every
    streamed = len(kept) < len(every)  # a large group: the analysis estimated on a subsample
    pca = read_json(pca_json)
    X, _ = load_rows(descriptor_files, list(kept.id))
    structures = read_structures(structures_h5, kept.id) if structures_h5 else None
    crystals = None if structures is None else [
        (structures.cell[s], structures.positions[structures.atoms_of(s)], structures.numbers[structures.atoms_of(s)])
        for s in range(len(structures))]
    props = {name: kept[column].to_numpy(float) for name, column in (("energy", "rel_energy"), ("density", "density"))
             if kept[column].notna().all()}  # a landscape without energies has none
    with GroupRows(descriptor_files, list(every.id)) if streamed else contextlib.nullcontext() as rows:
        out = run_group(X, props, list(kept.id), config, structures=crystals, rows=rows)
    coords = (every if streamed else kept)[COORDINATES_COLUMNS].copy()
    results = {"key": pca.get("key"), **out["results"], "dof": pca["dof"].get("total"), "job": job_record(start)}
    write_json(results, outdir / "metrics.json")
    if results.get("status") != "ok":
        write_csv(pd.DataFrame(columns=SWEEP_COLUMNS), outdir / "sweep.csv")
        write_csv(coords, outdir / "coordinates.csv")
        return results
    write_csv(out["sweep"], outdir / "sweep.csv")
    for name, Z in out["coordinates"].items():
        for k in range(Z.shape[1]):
            coords[f"{name}_{k + 1}"] = Z[:, k]
    write_csv(coords, outdir / "coordinates.csv")
    (outdir / "models").mkdir(parents=True, exist_ok=True)
    for name, model in out["models"].items():
        model.save(outdir / "models" / f"{name}.npz")
    return results
