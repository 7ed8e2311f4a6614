"""Analysis of one structure group (landscape x descriptor set x window x space group | all).

Reads the group's descriptor rows, removes near-duplicates, and writes:

* ``pca.json``: the PCA spectrum (:mod:`.pca`) with the noise-null count
  (``noise_null``) and the sample-size flag (``sample_limited``), the counts at
  a fixed subsample size (``fixed_size``), the duplicate count and the true
  degrees of freedom of a rigid molecule with the assumption used;
* ``id.json``: intrinsic-dimension estimates with bootstrap intervals
  (:mod:`.intrinsic`);
* ``scores.csv``: per structure id, rel_energy, density, PC1, PC2, local ID,
  whether it is a known polymorph, and whether it was kept by the dedup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import symmetry
from ..store import read_matrix, write_csv, write_json
from .dedup import dedup
from .pca import fixed_size, spectrum


@dataclass
class AnalysisConfig:
    """The ``analysis:`` config section (documented in config/README.md)."""

    standardize: bool = True
    thresholds: tuple = (0.8,)
    dedup_tol: float = 1e-3
    estimators: tuple = ("TwoNN", "MLE", "DANCo", "lPCA", "GRIDE")
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


def load_rows(descriptor_files: list[str | Path], ids: list[str]) -> tuple[np.ndarray, dict]:
    """Descriptor rows (len(ids), D) float64 for ``ids``, gathered from per-space-group files."""
    where: dict[str, np.ndarray] = {}
    record = {}
    for path in descriptor_files:
        file_ids, X, rec = read_matrix(path)
        record = rec if len(file_ids) else record  # a skipped space group's file has no rows
        wanted = set(ids)
        for k, i in enumerate(file_ids):
            if i in wanted:
                where[i] = X[k]
    missing = [i for i in ids if i not in where]
    if missing:
        raise KeyError(f"{len(missing)} structures have no descriptors, e.g. {missing[:3]}")
    return np.array([where[i] for i in ids], dtype=np.float64), record


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
    scores = pd.DataFrame({
        "id": rk.id.to_numpy(),
        "rel_energy": rk.rel_energy.to_numpy(),
        "density": rk.density.to_numpy(),
        "spacegroup": rk.spacegroup.to_numpy(),
        "PC1": spec.scores[:, 0] if spec.scores.shape[1] > 0 else np.nan,
        "PC2": spec.scores[:, 1] if spec.scores.shape[1] > 1 else np.nan,
        "local_id": np.asarray(local, dtype=float),
        "known": _known(rk),
    })
    return pca, ids, scores


def _known(rows: pd.DataFrame) -> np.ndarray:
    """True for structures the data marks as experimentally known polymorphs."""
    for col in ("prop_type", "prop_known", "prop_experimental"):
        if col in rows:
            return rows[col].astype(str).str.lower().isin(["known", "true", "1", "yes", "experimental"]).to_numpy()
    return np.zeros(len(rows), dtype=bool)


SCORE_COLUMNS = ["id", "rel_energy", "density", "spacegroup", "PC1", "PC2", "local_id", "known"]


def write_skipped(outdir, key: dict, reason: str) -> None:
    """The outputs of a group that is not analysed: pca.json and id.json with the status
    "skipped" and the reason, and an empty scores.csv."""
    outdir = Path(outdir)
    for name in ("pca.json", "id.json"):
        write_json({"key": key, "status": "skipped", "reason": reason}, outdir / name)
    write_csv(pd.DataFrame(columns=SCORE_COLUMNS), outdir / "scores.csv")


def run(descriptor_files, groups_csv, manifest_csv, window: str, group: str, outdir, cfg: AnalysisConfig,
        key: dict | None = None) -> str:
    """The analysis stage for one group; returns a one-line summary.  ``key`` (landscape, set,
    window, group) is written into pca.json and id.json."""
    from ..store import read_groups, read_manifest

    groups = read_groups(groups_csv)
    ids = list(groups.id[(groups.window == window) & (groups.group == group)])
    manifest = read_manifest(manifest_csv).set_index("id", drop=False)
    rows = manifest.loc[ids].reset_index(drop=True)
    X, _ = load_rows(descriptor_files, ids)
    pca, ids_json, scores = analyse_group(X, rows, cfg)
    key = key or {"window": window, "group": group}
    outdir = Path(outdir)
    write_json({"key": key, "status": "ok", **pca}, outdir / "pca.json")
    write_json({"key": key, "status": "ok", **ids_json}, outdir / "id.json")
    write_csv(scores, outdir / "scores.csv")
    n80 = pca["n_components"].get("0.8")
    noise = (pca["noise_null"] or {}).get("n_components")
    at_m = ((pca["fixed_size"] or {}).get("n_components") or {}).get("0.8")
    at_m = "—" if at_m is None else f"{at_m['mean']:.1f}"
    return (f"{window}/{group}: {len(ids)} structures ({pca['dedup']['n_removed']} near-duplicates removed), "
            f"rank={pca['rank']}, n80={n80}{' (sample-limited)' if pca['sample_limited'].get('0.8') else ''}, "
            f"elbow={pca['elbow']}, n80 at {cfg.fixed_size}={at_m}, above noise={noise}, "
            f"DoF={pca['dof'].get('total')}")
