"""The workflow catalogue's test run (``snakemake --directory .test``): two small landscapes, one
without energies, end to end; every planned group gets an output, analysed or skipped with the reason."""

import json
import shutil
import subprocess

import h5py
import pandas as pd
import pytest
from workflow_runs import REPO, copy_workflow, env, snakemake_cmd

pytestmark = pytest.mark.slow


def test_the_test_config_runs_end_to_end(tmp_path):
    root = copy_workflow(tmp_path / "wf")
    shutil.copytree(REPO / ".test", root / ".test")
    proc = subprocess.run(snakemake_cmd("--snakefile", "Snakefile", "--directory", ".test", "--cores", "2"),
                          cwd=root, env=env(), capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    results = root / ".test" / "results"
    assert (results / "summary" / "summary.md").exists()

    # a landscape without energies: every structure kept, the window inf only, and why
    ingest = json.loads((results / "methanol-noenergy" / "ingest.json").read_text())
    assert ingest["n_kept"] == 24 and not ingest["has_energies"] and ingest["job"]["peak_memory_mb"] > 0
    chosen = json.loads((results / "methanol-noenergy" / "selection.json").read_text())
    assert {w["window"]: w["status"] for w in chosen["windows"]} == {"5": "skipped", "20": "skipped", "inf": "ok"}
    analysed = json.loads((results / "methanol-noenergy/analysis/a/inf/all/pca.json").read_text())
    assert analysed["status"] == "ok" and analysed["n_samples"] >= 20
    assert analysed["key"] == {"landscape": "methanol-noenergy", "set": "a", "window": "inf", "group": "all"}
    skipped = json.loads((results / "methanol-noenergy/analysis/a/5/all/pca.json").read_text())
    assert skipped["status"] == "skipped" and "no energies" in skipped["reason"]
    assert json.loads((results / "methanol-noenergy/latent/a/5/all/metrics.json").read_text())["status"] == "skipped"
    assert pd.read_csv(results / "methanol-noenergy/analysis/a/inf/all/scores.csv").rel_energy.isna().all()

    # a listed space group without structures: an empty descriptor file and skipped analyses, with the reason
    with h5py.File(results / "methanol/descriptors/a/C2_c.h5") as h5:
        assert h5["X"].shape[0] == 0 and h5.attrs["status"] == "skipped"
    assert "fewer than min_group_size" in json.loads(
        (results / "methanol/analysis/a/20/C2_c/pca.json").read_text())["reason"]
    # the landscape with energies: inf repeats the window 20, so it is skipped too
    assert "repeat the window 20" in json.loads((results / "methanol/analysis/a/inf/all/pca.json").read_text())["reason"]
    for landscape in ("methanol", "methanol-noenergy"):
        assert (results / landscape / "calibration" / "a" / "dimensions.csv").exists()
