"""Analysis of one structure group (landscape x descriptor set x window x space group | all).

Reads the group's descriptor rows, removes near-duplicates, and writes:

* ``pca.json``: the PCA spectrum (:mod:`.pca`) with the noise-null count
  (``noise_null``) and the sample-size flag (``sample_limited``), the counts at
  a fixed subsample size (``fixed_size``), the duplicate count and the true
  degrees of freedom of a rigid molecule with the assumption used;
* ``id.json``: intrinsic-dimension estimates with bootstrap intervals
  (:mod:`.intrinsic`);
* ``scores.csv``: per structure id, rel_energy, density, PC1, PC2, local ID,
  whether it is a known polymorph, and whether the estimators saw it
  (``estimated``).

Groups of more than ``subsample`` structures are not held in memory
(:func:`analyse_streamed`): the spectrum and the PC scores use every row,
streamed from the files (randomized PCA); near-duplicate removal, the
intrinsic-dimension estimators (exact neighbours), the local ID, the noise
null and the fixed-size counts use a seeded random subsample of ``subsample``
rows, as a group of that size would; ``pca.json`` → ``subsample`` says so.
Every output JSON records the job's wall time and peak memory (``job``).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..structure import symmetry
from ..store import job_record, write_csv, write_json
from .dedup import dedup
from .pca import fixed_size, moments, spectrum, streamed_spectrum
from .rows import GroupRows


@dataclass
class AnalysisConfig:
    """The ``analysis:`` config section (documented in config/README.md)."""

    standardize: bool = True
    thresholds: tuple = (0.8,)
    dedup_tol: float = 1e-4
    estimators: tuple = ("TwoNN", "MLE", "lPCA", "GRIDE")
    n_boot: int = 20
    min_size: int = 20
    local: str = "MLE"
    params: dict = field(default_factory=dict)
    seed: int = 0
    fixed_size: int | None = 30
    fixed_size_repeats: int = 20
    null_permutations: int = 20
    subsample: int = 2000

    @classmethod
    def from_config(cls, cfg: dict) -> "AnalysisConfig":
        known = {k: (tuple(v) if isinstance(v, list) else v) for k, v in cfg.items() if k in cls.__dataclass_fields__}
        return cls(**known)



def _phase(what: str, start: float) -> None:
    """Log a finished phase of a streamed analysis with the time since ``start`` and the peak memory."""
    job = job_record(start)
    print(f"[analyse] {what}: done at {job['seconds']:.0f} s, peak {job['peak_memory_mb']:.0f} MB",
          file=sys.stderr, flush=True)


def degrees_of_freedom(rows: pd.DataFrame) -> dict:
    """True DoF of a rigid molecule for a group, from its most common (space group, Z', sites).

    The combined group mixes space groups: its entry lists each member's value
    and reports the largest as ``total``.
    """
    keys = rows.groupby(["spacegroup_number", "zprime", "site_symmetry"]).size().sort_values(ascending=False)
    per = []
    for (number, zprime, sites), n in keys.items():
        site_list = sites.split() if isinstance(sites, str) and sites.strip() else None
        try:
            d = symmetry.describe_dof(int(number), site_symmetry=site_list)
        except ValueError as exc:
            d = {"spacegroup": int(number), "total": None, "assumption": f"not computed: {exc}"}
        per.append({**d, "n_structures": int(n), "zprime_observed": float(zprime)})
    numbers = rows.spacegroup_number.unique()
    if len(numbers) == 1:
        main = per[0]
        return {**main, "share": main["n_structures"] / len(rows), "variants": per[1:]}
    totals = [p["total"] for p in per if p["total"] is not None]
    return {"total": max(totals) if totals else None, "assumption": "largest over the combined space groups",
            "variants": per}


def analyse_group(X: np.ndarray, rows: pd.DataFrame, cfg: AnalysisConfig) -> tuple[dict, dict, pd.DataFrame]:
    """(pca.json dict, id.json dict, scores table) of one group; ``rows`` are its manifest rows."""
    from .intrinsic import estimate

    kept = dedup(X, cfg.dedup_tol, energies=rows.rel_energy.to_numpy(), distance="rms")
    Xk, rk = X[kept.kept], rows.iloc[kept.kept]
    spec = spectrum(Xk, standardize=cfg.standardize, thresholds=cfg.thresholds, random_state=cfg.seed,
                    null_permutations=cfg.null_permutations)
    fixed = None if not cfg.fixed_size else fixed_size(
        Xk, cfg.fixed_size, cfg.fixed_size_repeats, standardize=cfg.standardize, thresholds=cfg.thresholds,
        seed=cfg.seed)
    pca = {**spec.to_dict(), "fixed_size": fixed, "dedup": kept.to_dict(), "dof": degrees_of_freedom(rows)}
    ids = estimate(Xk, cfg.estimators, params=cfg.params, min_size=cfg.min_size, n_boot=cfg.n_boot,
                   seed=cfg.seed, standardize=cfg.standardize, pointwise=[cfg.local] if cfg.local else False)
    local = ids["pointwise"].get(cfg.local, {}).get("values") or np.full(len(Xk), np.nan)
    return pca, ids, _scores(rk, spec.scores, local, np.ones(len(rk), dtype=bool))


def _scores(rows: pd.DataFrame, pcs: np.ndarray, local, estimated: np.ndarray) -> pd.DataFrame:
    """scores.csv: one row per structure of ``rows`` (manifest rows) with its PC1, PC2 and local ID."""
    return pd.DataFrame({
        "id": rows.id.to_numpy(),
        "rel_energy": rows.rel_energy.to_numpy(),
        "density": rows.density.to_numpy(),
        "spacegroup": rows.spacegroup.to_numpy(),
        "PC1": pcs[:, 0] if pcs.shape[1] > 0 else np.nan,
        "PC2": pcs[:, 1] if pcs.shape[1] > 1 else np.nan,
        "local_id": np.asarray(local, dtype=float),
        "known": _known(rows),
        "estimated": estimated,
    })


def analyse_streamed(rows: GroupRows, manifest_rows: pd.DataFrame, cfg: AnalysisConfig) -> tuple[dict, dict, pd.DataFrame]:
    """:func:`analyse_group`'s outputs for a group of more than ``cfg.subsample`` rows, in bounded memory.

    One pass collects the column moments and a seeded random subsample of ``cfg.subsample``
    rows; the subsample is analysed as a group of its own (:func:`analyse_group`: near-duplicates,
    estimators, local ID, noise null, fixed-size counts); then the spectrum and PC scores of every
    row are streamed (:func:`.pca.streamed_spectrum`).  ``pca.json`` → ``subsample`` records the
    size, seed and what was computed on it; the near-duplicate count (``dedup``) is the
    subsample's.
    """
    n, m = len(rows), cfg.subsample
    picked = np.sort(np.random.default_rng(np.random.SeedSequence([cfg.seed, 0x5B])).choice(n, m, replace=False))
    sample = np.empty((m, rows.width))

    def blocks_keeping_the_subsample():
        for lo, block in rows.blocks():
            inside = np.flatnonzero((picked >= lo) & (picked < lo + len(block)))
            sample[inside] = block[picked[inside] - lo]
            yield block

    start = time.perf_counter()
    stats = moments(blocks_keeping_the_subsample())
    _phase(f"moments and a subsample of {m} of {n} rows", start)
    sub_pca, ids, sub_scores = analyse_group(sample, manifest_rows.iloc[picked], cfg)
    sample = None  # free it before the streamed passes
    _phase("the subsample's analysis (near-duplicates, estimators, noise null, fixed size)", start)
    spec = streamed_spectrum(lambda: (block for _, block in rows.blocks()), stats, standardize=cfg.standardize,
                             thresholds=cfg.thresholds, random_state=cfg.seed)
    _phase(f"the streamed spectrum of every row ({spec.solver})", start)
    subsample = {
        "size": int(m), "seed": int(cfg.seed), "n_rows": int(n),
        "computed_on_subsample": ["dedup", "noise_null", "fixed_size", "intrinsic dimension (id.json)", "local_id"],
        "computed_on_every_row": ["eigenvalues", "n_components", "elbow", "rank", "PC1", "PC2"],
        "spectrum": {k: sub_pca[k] for k in ("n_samples", "rank", "n_components", "elbow", "sample_limited")},
    }
    pca = {**spec.to_dict(), "noise_null": sub_pca["noise_null"], "fixed_size": sub_pca["fixed_size"],
           "dedup": {**sub_pca["dedup"], "scope": "subsample"}, "dof": degrees_of_freedom(manifest_rows),
           "subsample": subsample}
    local = pd.Series(sub_scores.local_id.to_numpy(), index=sub_scores.id)
    scores = _scores(manifest_rows, spec.scores, manifest_rows.id.map(local).to_numpy(dtype=float),
                     manifest_rows.id.isin(sub_scores.id).to_numpy())
    return pca, {**ids, "subsample": {k: subsample[k] for k in ("size", "seed", "n_rows")}}, scores


def _known(rows: pd.DataFrame) -> np.ndarray:
    """True for structures the data marks as experimentally known polymorphs."""
    for col in ("prop_type", "prop_known", "prop_experimental"):
        if col in rows:
            return rows[col].astype(str).str.lower().isin(["known", "true", "1", "yes", "experimental"]).to_numpy()
    return np.zeros(len(rows), dtype=bool)


def run(descriptor_files, groups_csv, manifest_csv, window: str, group: str, outdir, cfg: AnalysisConfig,
        key: dict | None = None) -> str:
    """The analysis stage for one group; returns a one-line summary.  ``key`` (landscape, set,
    window, group) is written into pca.json and id.json, with the job's time and peak memory."""
    from ..store import read_groups, read_manifest

    start = time.perf_counter()
    groups = read_groups(groups_csv)
    ids = list(groups.id[(groups.window == window) & (groups.group == group)])
    manifest = read_manifest(manifest_csv).set_index("id", drop=False)
    rows = manifest.loc[ids].reset_index(drop=True)
    with GroupRows(descriptor_files, ids) as matrix:
        if len(ids) > cfg.subsample:
            pca, ids_json, scores = analyse_streamed(matrix, rows, cfg)
        else:
            pca, ids_json, scores = analyse_group(matrix.read(np.arange(len(ids))).astype(np.float64), rows, cfg)
    key = key or {"window": window, "group": group}
    job = job_record(start)
    outdir = Path(outdir)
    write_json({"key": key, "status": "ok", **pca, "job": job}, outdir / "pca.json")
    write_json({"key": key, "status": "ok", **ids_json, "job": job}, outdir / "id.json")
    write_csv(scores, outdir / "scores.csv")
    n80 = pca["n_components"].get("0.8")
    noise = (pca["noise_null"] or {}).get("n_components")
    at_m = ((pca["fixed_size"] or {}).get("n_components") or {}).get("0.8")
    at_m = "—" if at_m is None else f"{at_m['mean']:.1f}"
    sampled = f", estimators on {cfg.subsample}" if "subsample" in pca else ""
    return (f"{window}/{group}: {len(ids)} structures ({pca['dedup']['n_removed']} near-duplicates removed{sampled}), "
            f"rank={pca['rank']}, n80={n80}{' (sample-limited)' if pca['sample_limited'].get('0.8') else ''}, "
            f"elbow={pca['elbow']}, n80 at {cfg.fixed_size}={at_m}, above noise={noise}, "
            f"DoF={pca['dof'].get('total')}, {job['seconds']:.0f} s, peak {job['peak_memory_mb']:.0f} MB")
