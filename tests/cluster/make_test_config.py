"""The cluster test's config: the embedded ROY default cut down to a few minutes of work.

    python tests/cluster/make_test_config.py config/config.yaml OUT.yaml

Keeps the landscape, ingest options and analysis settings of the default, and
restricts it to one energy window, three space groups, one descriptor set,
quick estimators, a short calibration ladder and a small latent sweep.  cluster.mpi_min_structures is
lowered so that the P2_1/c group (79 structures below 10 kJ/mol) runs as an
MPI job on 2 ranks, the others as plain jobs.
"""

import sys

import yaml

src, out = sys.argv[1], sys.argv[2]
with open(src) as fh:
    cfg = yaml.safe_load(fh)

cfg["windows"] = [10]
cfg["spacegroups"] = ["P2_1/c", "C2/c", "Pbca"]
dset = "inter-atoms" if "inter-atoms" in cfg["descriptors"]["sets"] else next(iter(cfg["descriptors"]["sets"]))
cfg["descriptors"]["sets"] = {dset: cfg["descriptors"]["sets"][dset]}
cfg["descriptors"]["chunk"] = 32          # several chunks per group: the MPI path gathers more than once
cfg["descriptors"]["threads"] = 1
cfg.setdefault("analysis", {}).update({"estimators": ["TwoNN", "MLE", "lPCA", "GRIDE"], "n_boot": 5})
cfg.setdefault("calibration", {}).update({"patterns": 1, "schemes": ["full", "local"]})
if "latent" in cfg:
    cfg["latent"]["sets"] = [dset]
    cfg["latent"].setdefault("settings", {}).update({"max_width": 3, "n_folds": 2})
cfg["calibration"] = {"patterns": 1, "schemes": ["full"]}  # the calibrate jobs: a few reference ensembles
cfg["cluster"] = {"mpi_min_structures": 60, "structures_per_task": 40, "max_tasks": 2, "mpi_launcher": "auto"}

with open(out, "w") as fh:
    yaml.safe_dump(cfg, fh, sort_keys=False)
print(f"test config written to {out}")
