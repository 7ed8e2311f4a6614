"""The analysis stage of one group and the summary tables and figures built from it."""

import json

import h5py
import numpy as np
import pandas as pd
import pytest

from latentcsp.analysis.stage import AnalysisConfig, degrees_of_freedom, run
from latentcsp.report.summary import build
from latentcsp.report.tables import collect, estimates_markdown, table3_markdown


def _write_descriptors(path, ids, X):
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as h5:
        h5["ids"] = np.array(ids, dtype=object).astype(h5py.string_dtype())
        h5["X"] = X.astype(np.float32)
        h5.attrs["record"] = json.dumps({"name": "t"})


def _landscape(tmp_path, rank=3, n=60, seed=0):
    """A landscape whose P21/c group lies on a rank-3 linear subspace of a 40-d space, plus 2 duplicates."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, rank))
    X = latent @ rng.normal(size=(rank, 40)) + 1e-6 * rng.normal(size=(n, 40))
    X[-2:] = X[:2] + 1e-9  # near-duplicates of the first two
    ids = [f"s{k}" for k in range(n)]
    energy = np.linspace(0, 9, n)
    manifest = pd.DataFrame({"id": ids, "rel_energy": energy, "density": 1.3, "spacegroup_number": 14,
                             "spacegroup": "P2_1/c", "zprime": 1.0, "site_symmetry": "1",
                             "prop_type": ["known"] + ["unknown"] * (n - 1)})
    root = tmp_path / "results" / "toy"
    root.mkdir(parents=True)
    manifest.to_csv(root / "manifest.csv", index=False)
    groups = pd.DataFrame({"window": "10", "group": "P21_c", "spacegroup_number": 14, "id": ids})
    groups = pd.concat([groups, groups.assign(group="all", spacegroup_number=0)])
    groups.to_csv(root / "groups.csv", index=False)
    _write_descriptors(root / "descriptors" / "set" / "P21_c.h5", ids, X)
    return root


def test_group_analysis_counts_rank_duplicates_and_dof(tmp_path):
    root = _landscape(tmp_path)
    cfg = AnalysisConfig(standardize=False, thresholds=(0.8, 0.999), n_boot=4, min_size=20,
                         estimators=("TwoNN", "lPCA"))
    out = root / "analysis" / "set" / "10" / "P21_c"
    line = run([root / "descriptors" / "set" / "P21_c.h5"], root / "groups.csv", root / "manifest.csv",
               "10", "P21_c", out, cfg)
    pca = json.loads((out / "pca.json").read_text())
    assert pca["dedup"]["n_removed"] == 2 and pca["n_samples"] == 58
    assert pca["n_components"]["0.999"] == 3  # rank-3 data
    assert pca["n_components"]["0.8"] <= 3
    assert pca["dof"]["total"] == 10 and "general position" in pca["dof"]["assumption"]
    ids = json.loads((out / "id.json").read_text())
    assert ids["estimators"]["lPCA"]["status"] == "ok"
    assert 2 <= ids["estimators"]["lPCA"]["dimension"] <= 4
    scores = pd.read_csv(out / "scores.csv")
    assert len(scores) == 58 and scores.known.sum() == 1
    assert np.isclose(scores.PC1.var(ddof=1), pca["eigenvalues"][0], rtol=1e-3)
    assert "DoF=10" in line


def test_dof_of_a_group_on_an_inversion_centre():
    rows = pd.DataFrame({"spacegroup_number": [2, 2, 2], "zprime": [0.5] * 3, "site_symmetry": ["-1"] * 3})
    dof = degrees_of_freedom(rows)
    assert dof["total"] == 6 + 3 + 0 - 0  # triclinic lattice + rotations, no translations on -1
    mixed = pd.DataFrame({"spacegroup_number": [14, 2], "zprime": [1.0, 1.0], "site_symmetry": ["1", "1"]})
    assert degrees_of_freedom(mixed)["total"] == 12


def test_summary_tables_match_the_json_and_figures_exist(tmp_path):
    root = _landscape(tmp_path)
    cfg = AnalysisConfig(n_boot=2, estimators=("TwoNN", "MLE"), min_size=20)
    pcas = []
    for group in ("P21_c", "all"):
        out = root / "analysis" / "set" / "10" / group
        run([root / "descriptors" / "set" / "P21_c.h5"], root / "groups.csv", root / "manifest.csv",
            "10", group, out, cfg)
        pcas.append(str(out / "pca.json"))
    written = build(tmp_path / "results", pcas, tmp_path / "summary", ["TwoNN", "MLE"])
    t3 = pd.read_csv(tmp_path / "summary" / "table3_dimensions.csv")
    for _, row in t3.iterrows():
        pca = json.loads((root / "analysis" / "set" / "10" / row.group / "pca.json").read_text())
        ids = json.loads((root / "analysis" / "set" / "10" / row.group / "id.json").read_text())
        assert row.n80 == pca["n_components"]["0.8"] and row.elbow == pca["elbow"]
        assert row.TwoNN == pytest.approx(ids["estimators"]["TwoNN"]["dimension"])
        assert row.n_pca == pca["n_samples"] == 58 and row["rank"] == pca["rank"]
        assert row.noise_null == pca["noise_null"]["n_components"] == 3  # the rank-3 signal
        assert row.n80_fixed == pytest.approx(pca["fixed_size"]["n_components"]["0.8"]["mean"])
        assert row.elbow_fixed == pytest.approx(pca["fixed_size"]["elbow"]["mean"])
        assert row.fixed_size == 30 and not row.n80_limited and not row.n80_fixed_limited
    t1 = pd.read_csv(tmp_path / "summary" / "table1_counts.csv")
    assert t1.n_selected.tolist() == [60]
    t2 = pd.read_csv(tmp_path / "summary" / "table2_dof.csv")
    assert t2.set_index("spacegroup").dof.to_dict() == {"P2_1/c": 10}
    md = (tmp_path / "summary" / "summary.md").read_text()
    assert "Table 3" in md and "P21_c" in md
    assert "| n80 at m = 30" in md and "above noise" in md
    pngs = [p for p in written if p.suffix == ".png"]
    assert len(pngs) == 2 and all(p.stat().st_size > 5000 for p in pngs)


def test_table3_marks_sample_limited_counts():
    table = pd.DataFrame({
        "landscape": "roy", "dset": "inter", "window": ["10", "10"], "group": ["P21_c", "P-1"],
        "dof": [10, 12], "n_pca": [120, 28], "rank": [119, 27], "n80": [28, 14], "elbow": [11, 5],
        "n80_limited": [False, True], "fixed_size": 30, "n80_fixed": [15.2, None], "n80_fixed_sd": [0.7, None],
        "n80_fixed_limited": [True, None],
        "elbow_fixed": [3.1, None], "elbow_fixed_sd": [0.3, None], "noise_null": [4, 1]})
    md = table3_markdown(table)
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in md.splitlines() if line.startswith("| ")]
    pivot = {r[0]: r for r in rows if len(r) == 3}
    assert pivot["P21_c"] == ["P21_c", "10", "28 (11)"] and pivot["P-1"] == ["P-1", "12", "14† (5)"]
    header = next(r for r in rows if r[0] == "landscape")
    linear = {r[2]: dict(zip(header, r)) for r in rows if r[0] == "roy"}
    assert linear["P21_c"]["n"] == "120" and linear["P21_c"]["rank"] == "119"
    assert linear["P21_c"]["n80 at m = 30"] == "15.2† ± 0.7" and linear["P21_c"]["above noise"] == "4"
    assert linear["P-1"]["n80"] == "14†" and linear["P-1"]["n80 at m = 30"] == "—"


def test_summary_never_prints_an_unresolved_autoencoder_dimension(tmp_path):
    root = _landscape(tmp_path)
    cfg = AnalysisConfig(n_boot=0, estimators=("TwoNN",), min_size=20, null_permutations=0, fixed_size=None)
    pcas = []
    unresolved = {"resolved": False, "r2": 0.065, "reason": "held-out R² = 0.065 < 0.5 at the best width 9"}
    resolved = {"resolved": True, "r2": 0.91, "reason": None}
    metrics = {  # as run_group writes them; and an older file without the resolution keys
        "P21_c": {"status": "ok", "effective_dimension": None, "knee_width": 9, "resolution": unresolved,
                  "effective_dimension_pca": 7, "knee_width_pca": 7, "resolution_pca": resolved},
        "all": {"status": "ok", "effective_dimension": 9, "effective_dimension_pca": 7},
    }
    for group in ("P21_c", "all"):
        out = root / "analysis" / "set" / "10" / group
        run([root / "descriptors" / "set" / "P21_c.h5"], root / "groups.csv", root / "manifest.csv",
            "10", group, out, cfg)
        pcas.append(str(out / "pca.json"))
        latent = root / "latent" / "set" / "10" / group / "metrics.json"
        latent.parent.mkdir(parents=True)
        latent.write_text(json.dumps(metrics[group]))
    table = collect(pcas).set_index("group")
    assert pd.isna(table.loc["P21_c", "AE"]) and table.loc["P21_c", "AE_r2"] == 0.065
    assert table.loc["P21_c", "PCA_knee"] == 7 and table.loc["P21_c", "AE_status"] == "unresolved (R² = 0.065)"
    assert pd.isna(table.loc["all", "AE"]) and table.loc["all", "AE_status"] == "not checked"
    unrun = table.loc[["all"]].reset_index().assign(group="none")  # a group outside latent.windows: no metrics.json
    for col in ("AE", "AE_status", "PCA_knee", "PCA_knee_status"):
        unrun[col] = None
    md = estimates_markdown(pd.concat([table.reset_index(), unrun], ignore_index=True), ["TwoNN"])
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in md.splitlines() if line.startswith("| ")]
    cells = {r[2]: dict(zip(rows[0], r)) for r in rows[1:]}
    assert cells["P21_c"]["AE"] == "unresolved (R² = 0.065)" and cells["P21_c"]["PCA_knee"] == "knee 7, uncalibrated"
    assert cells["all"]["AE"] == "not checked" and cells["all"]["PCA_knee"] == "not checked"
    assert cells["none"]["AE"] == "not run" and cells["none"]["PCA_knee"] == "not run"
