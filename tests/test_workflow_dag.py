"""Dry runs, the DAG and lint of the workflow (Snakemake in a subprocess, small methanol landscapes).

The fan-out is one descriptor job per landscape x descriptor set x space
group and one analysis per landscape x set x energy window x group (each
space group and `all`); it is known once the select checkpoint has run.  On
the cluster config a group over the MPI threshold becomes a multi-rank job
launched with srun (or mpiexec off SLURM), the others plain one-core jobs.
"""

import re
import subprocess
from collections import Counter

import pytest
import pandas as pd
from workflow_runs import (CONFIG, SLUG, copy_workflow, edited_config, env, make_workflow, run, set_config,
                           snakemake_cmd, write_structures)

TWO_LANDSCAPES = edited_config(**{
    "landscapes.n": {"source": "land2", "format": "extxyz"},
    "descriptors.sets.b": {"preset": "ani1x", "neighbours": "intermolecular", "pooling": "elements"},
})


def two_landscapes(tmp_path):
    root = make_workflow(tmp_path / "wf", n_structures=24, config=TWO_LANDSCAPES)
    write_structures(root / "land2", range(200, 212))  # 12 structures, 3 per space group
    return root


def test_dry_run_before_select_shows_the_checkpoint(tmp_path):
    root = two_landscapes(tmp_path)
    dry = run(root, "-n")
    # one reference job per landscape and one calibration per landscape x set are known before select has run
    assert dry.jobs == Counter({"ingest": 2, "select": 2, "references": 2, "calibrate": 4, "summary": 1, "all": 1}), \
        dry.text[-3000:]
    assert "checkpoint" in dry.text  # the descriptor/analysis fan-out appears once select has run


@pytest.mark.slow
def test_dry_run_and_dag_show_the_fan_out(tmp_path):
    root = two_landscapes(tmp_path)
    run(root, "results/m/groups.csv", "results/n/groups.csv")
    dry = run(root, "-n")
    sets, windows = ["a", "b"], ["5", "20"]
    want_descriptors = {f"results/{land}/descriptors/{s}/{sg}.h5"
                        for land in ("m", "n") for s in sets for sg in SLUG.values()}
    assert set(dry.outputs("descriptors")) == want_descriptors
    groups = list(SLUG.values()) + ["all"]
    analysed = {out.split(",")[0] for out in dry.outputs("analyse")}
    # landscape n has 3 structures per space group: all within 20 kJ/mol, few within 5
    for land in ("m", "n"):
        for s in sets:
            assert {f"results/{land}/analysis/{s}/20/{g}/pca.json" for g in groups} <= analysed
    assert all(f"results/m/analysis/{s}/{w}/{g}/pca.json" in analysed for s in sets for w in windows for g in groups)
    assert dry.jobs["descriptors"] == 16 and dry.jobs["summary"] == 1

    dot = subprocess.run(snakemake_cmd("--dag"), cwd=root, env=env(), capture_output=True, text=True, timeout=300)
    assert dot.returncode == 0, dot.stderr[-3000:]
    nodes = dict(re.findall(r'^\s*(\d+)\[label = "(\w+)', dot.stdout, re.M))
    edges = re.findall(r"^\s*(\d+) -> (\d+)", dot.stdout, re.M)
    per_rule = Counter(nodes.values())
    assert per_rule["descriptors"] == 16 and per_rule["analyse"] == len(analysed), per_rule
    # every descriptor job feeds analyses of its own group and of `all`
    fed = Counter(src for src, dst in edges if nodes.get(src) == "descriptors" and nodes.get(dst) == "analyse")
    assert len(fed) == 16 and min(fed.values()) >= 2


@pytest.mark.slow
def test_cluster_dry_run_sizes_jobs_by_group(tmp_path):
    # groups of >= 5 structures become 2-rank MPI jobs; landscape n's groups (3) stay plain
    config = edited_config(**{"cluster": {"mpi_min_structures": 5, "structures_per_task": 3, "max_tasks": 2},
                              "landscapes.n": {"source": "land2", "format": "extxyz"}})
    root = make_workflow(tmp_path / "wf", n_structures=24, config=config)
    write_structures(root / "land2", range(200, 212))
    run(root, "results/m/groups.csv", "results/n/groups.csv")
    dry = subprocess.run(snakemake_cmd("-n", "-p", "--profile", "profiles/slurm"), cwd=root, env=env(),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    assert dry.returncode == 0, dry.stdout[-3000:]
    jobs = re.split(r"\n(?=\s*(?:local)?rule \w+:\s*\n)", dry.stdout)
    jobs = [b for b in jobs if re.match(r"\s*rule descriptors:", b)]
    by_output = {}
    for block in jobs:
        out = re.search(r"output: (\S+)", block).group(1)
        res = re.search(r"resources: (.*)", block).group(1)
        by_output[out] = (res, block)
    assert len(by_output) == 8
    for out, (res, block) in by_output.items():
        if out.startswith("results/m/"):
            assert "tasks=2" in res and re.search(r"mpi=(srun|mpiexec)", res), res
            assert re.search(r"Shell command: (srun|mpiexec) -n 2 .*latentcsp descriptors .*--mpi", block), block
            assert "mem_mb_per_cpu=" in res
        else:
            assert "tasks=1" in res and "mpi=" not in res, res
            assert re.search(r"Shell command: latentcsp descriptors ", block) and "--mpi" not in block, block
        assert re.search(r"runtime=\d+", res) and re.search(r"mem_mb=\d+", res)


def test_lint_is_clean(tmp_path):
    root = make_workflow(tmp_path / "wf", n_structures=4, config=CONFIG)
    lint = subprocess.run(snakemake_cmd("--lint"), cwd=root, env=env(), capture_output=True, text=True, timeout=300)
    text = lint.stdout + lint.stderr
    assert lint.returncode == 0 and "Congratulations, your workflow is in a good condition" in text, text[-5000:]


def test_lint_is_clean_on_the_embedded_default(tmp_path):
    root = copy_workflow(tmp_path / "wf")  # the repository's own config/config.yaml (ROY)
    lint = subprocess.run(snakemake_cmd("--lint"), cwd=root, env=env(), capture_output=True, text=True, timeout=300)
    text = lint.stdout + lint.stderr
    assert lint.returncode == 0 and "Congratulations" in text, text[-5000:]


GENERATED = edited_config(**{
    "synth": {"molecules": {"anti": "config/molecules/anti-BDT.xyz"}, "spacegroups": ["P21/c"], "n_trials": 4},
    "landscapes.g": {"source": "results/synth/anti/minima", "format": "res", "synth": "anti"},
    "landscapes.t": {"source": "results/synth/anti/trial", "format": "res", "synth": "anti"},
})


def test_search_stage_only_for_generated_minima_landscapes(tmp_path):
    root = make_workflow(tmp_path / "wf", n_structures=8, config=GENERATED)
    dry = run(root, "-n")
    assert dry.jobs["search_summary"] == 1 and dry.jobs["synth"] == 1, dry.text[-3000:]
    # the methanol landscape alone (no generator): no search stage at all
    set_config(root, CONFIG)
    assert "search_summary" not in run(root, "-n").jobs


@pytest.mark.slow
def test_search_jobs_per_space_group_of_the_generated_landscape(tmp_path):
    root = make_workflow(tmp_path / "wf", n_structures=8, config=GENERATED)
    run(root, "results/g/groups.csv", "results/t/groups.csv", "results/m/groups.csv")
    dry = run(root, "-n", "results/search/summary.md")
    searched = {out.split(",")[0] for out in dry.outputs("search")}
    slugs = set(pd.read_csv(root / "results" / "g" / "groups.csv").group) - {"all"}
    assert searched == {f"results/g/search/{s}/search.json" for s in slugs}, dry.text[-3000:]
