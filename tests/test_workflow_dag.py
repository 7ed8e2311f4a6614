"""Dry runs, the DAG and lint of the workflow (Snakemake in a subprocess, small methanol landscapes).

The plan is one descriptor job per landscape x descriptor set x space group and
one analysis (and latent analysis) per landscape x set x window x group (each
space group and `all`), windows being the configured ones and `inf`.  With a
listed set of space groups it is complete before any data is read: a dry run
on a fresh directory shows every job.  With `spacegroups: all` the space groups
come from the data, once the select checkpoint has run.  On the cluster config
a group over the MPI threshold becomes a multi-rank job launched with srun (or
mpiexec off SLURM), the others plain one-core jobs.
"""

import json
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
LISTED = edited_config(**{**{f"landscapes.n": {"source": "land2", "format": "extxyz"}},
                          "descriptors.sets.b": {"preset": "ani1x", "neighbours": "intermolecular",
                                                 "pooling": "elements"},
                          "spacegroups": ["P2_1/c", 2, 19, "Pbca", "Cc"], "latent.sets": ["b"]})


def two_landscapes(tmp_path, config=TWO_LANDSCAPES):
    root = make_workflow(tmp_path / "wf", n_structures=24, config=config)
    write_structures(root / "land2", range(200, 212))  # 12 structures, 3 per space group
    return root


def dag(root) -> tuple[dict, list]:
    """(node id -> rule, edges) of ``snakemake --dag``."""
    dot = subprocess.run(snakemake_cmd("--dag"), cwd=root, env=env(), capture_output=True, text=True, timeout=300)
    assert dot.returncode == 0, dot.stderr[-3000:]
    nodes = dict(re.findall(r'^\s*(\d+)\[label = "(\w+)', dot.stdout, re.M))
    return nodes, re.findall(r"^\s*(\d+) -> (\d+)", dot.stdout, re.M)


def test_dry_run_on_a_fresh_directory_lists_every_job(tmp_path):
    root = two_landscapes(tmp_path, LISTED)
    dry = run(root, "-n")
    spacegroups = ["P21_c", "P-1", "P212121", "Pbca", "Cc"]  # Cc is listed but absent: its jobs will skip
    groups, windows = spacegroups + ["all"], ["5", "20", "inf"]
    assert dry.jobs == Counter({"sources": 2, "ingest": 2, "select": 2, "descriptors": 2 * 2 * 5, "analyse": 2 * 2 * 3 * 6,
                                "latent": 2 * 3 * 6, "references": 2, "calibrate": 2 * 2, "summary": 1,
                                "all": 1}), dry.text[-3000:]
    assert set(dry.outputs("descriptors")) == {f"results/{land}/descriptors/{s}/{sg}.h5" for land in "mn"
                                               for s in "ab" for sg in spacegroups}
    assert {out.split(",")[0] for out in dry.outputs("analyse")} == {
        f"results/{land}/analysis/{s}/{w}/{g}/pca.json" for land in "mn" for s in "ab" for w in windows for g in groups}

    nodes, edges = dag(root)
    assert Counter(nodes.values())["analyse"] == 72
    fed = Counter((nodes[a], nodes[b]) for a, b in edges)
    # each descriptor job feeds its group's and `all`'s analyses and latent analyses in every window
    assert fed["descriptors", "analyse"] == 20 * 2 * 3 and fed["descriptors", "latent"] == 10 * 2 * 3
    assert fed["analyse", "latent"] == 36 and fed["select", "calibrate"] == 4 and fed["references", "calibrate"] == 4


def test_dry_run_with_spacegroups_all_shows_the_checkpoint(tmp_path):
    root = two_landscapes(tmp_path)
    dry = run(root, "-n")
    # one reference job per landscape and one calibration per landscape x set are known before select has run
    assert dry.jobs == Counter({"sources": 2, "ingest": 2, "select": 2, "references": 2, "calibrate": 4, "summary": 1,
                                "all": 1}), dry.text[-3000:]
    assert "checkpoint" in dry.text  # the descriptor/analysis fan-out appears once select has run


def test_a_failed_ingest_names_one_input_not_every_file(tmp_path):
    # a landscape of 60 files that hold no structure: its ingest fails ...
    root = make_workflow(tmp_path / "wf", n_structures=0, config=edited_config(**{"landscapes.m.source": "bad"}))
    (root / "bad").mkdir()
    for k in range(60):
        (root / "bad" / f"broken{k:02d}.extxyz").write_text("2\nnot a frame\n")
    failed = run(root, "--until", "ingest", check=False)
    assert failed.returncode != 0 and "Error in rule ingest" in failed.text, failed.text[-3000:]
    # ... and Snakemake's message names the landscape's file list, not its 60 files; the log it shows
    # names the first 50 with their reasons
    error = failed.text[failed.text.index("Error in rule ingest"):]
    job, log = error.split("    log:", 1)
    assert "input: results/m/sources.csv\n" in job and "broken" not in job, job
    assert "broken49.extxyz" in log and "broken50" not in log and "... and 10 more (see quarantine.csv)" in log


@pytest.mark.slow
def test_after_select_the_dry_run_and_dag_show_the_fan_out(tmp_path):
    root = two_landscapes(tmp_path)
    run(root, "--until", "select")
    dry = run(root, "-n")
    sets = ["a", "b"]
    want_descriptors = {f"results/{land}/descriptors/{s}/{sg}.h5"
                        for land in ("m", "n") for s in sets for sg in SLUG.values()}
    assert set(dry.outputs("descriptors")) == want_descriptors
    analysed = {out.split(",")[0] for out in dry.outputs("analyse")}
    chosen = {land: json.loads((root / f"results/{land}/selection.json").read_text()) for land in ("m", "n")}
    assert analysed == {f"results/{land}/analysis/{s}/{g['window']}/{g['group']}/pca.json"
                        for land in ("m", "n") for s in sets for g in chosen[land]["groups"] if g["status"] == "ok"}
    # landscape n has 3 structures per space group: all within 20 kJ/mol, few within 5
    assert {f"results/n/analysis/a/20/{g}/pca.json" for g in [*SLUG.values(), "all"]} <= analysed
    assert "results/n/analysis/a/5/P21_c/pca.json" not in analysed
    assert dry.jobs["descriptors"] == 16 and dry.jobs["summary"] == 1 and dry.jobs["calibrate"] == 4

    nodes, edges = dag(root)
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
    run(root, "--until", "select")
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
