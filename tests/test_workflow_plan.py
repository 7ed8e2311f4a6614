"""The plan of a run and its job sizes (latentcsp.workflow), without Snakemake running."""

import copy
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from snakemake.utils import validate

from latentcsp.workflow import Plan, analysis_job, descriptor_job, descriptor_tasks, mpi_launcher

REPO = Path(__file__).resolve().parents[1]
CLUSTER = {"mpi_min_structures": 50000, "structures_per_task": 25000, "max_tasks": 64, "mpi_launcher": "auto"}


def validated(config: dict) -> dict:
    """``config`` with the schema's defaults filled in, as the Snakefile sees it."""
    config = copy.deepcopy(config)
    validate(config, str(REPO / "workflow/schemas/config.schema.yaml"))
    return config


def roy_config() -> dict:
    return validated(yaml.safe_load((REPO / "config/config.yaml").read_text()))


class Waiting(Exception):
    """Stands in for Snakemake's IncompleteCheckpointException."""


def waiting(landscape):
    raise Waiting(landscape)


def test_the_default_plan_lists_every_job_before_any_data():
    plan = Plan(roy_config(), selection=waiting)
    assert plan.windows("roy") == ["10", "20", "inf"] and len(plan.spacegroups("roy")) == 10
    targets = plan.targets()
    kinds = [t.split("/")[2] if t.count("/") > 2 else t for t in targets]
    assert kinds.count("descriptors") == 10 * 2
    assert kinds.count("analysis") == 3 * 11 * 2  # windows x (top10 + all) x sets
    assert kinds.count("latent") == 1 * 11  # latent.sets: smooth only; latent.windows: 20 only
    assert all(t.split("/")[4] == "20" for t in targets if "/latent/" in t)
    assert kinds.count("calibration") == 2 and targets[-1] == "results/summary/summary.md"
    assert len(set(targets)) == len(targets)
    group = SimpleNamespace(landscape="roy", dset="smooth", window="20", group="all")
    assert plan.group_descriptors(group) == [f"results/roy/descriptors/smooth/{sg}.h5" for sg in plan.spacegroups("roy")]
    with pytest.raises(Waiting):  # what is analysed, and each job's stamp, wait for the select checkpoint
        plan.analyses("roy", "smooth")
    with pytest.raises(Waiting):
        plan.analysis_stamp(group)


def _selection(tmp_path, groups, spacegroups) -> Path:
    path = tmp_path / "selection.json"
    path.write_text(json.dumps({"landscape": "m", "groups": groups, "spacegroups": spacegroups}))
    return path


def test_after_select_only_analysed_groups_reach_summary_and_calibration(tmp_path):
    config = roy_config()
    config["spacegroups"] = "all"
    groups = [{"window": w, "group": g, "n": n, "status": "ok" if n >= 5 else "skipped", "reason": None}
              for w in ("10", "20", "inf") for g, n in (("P21_c", 9), ("Fd-3m", 2), ("all", 11))]
    spacegroups = [{"group": "P21_c", "n": 9, "centre_atoms": 54.0}, {"group": "Fd-3m", "n": 2, "centre_atoms": 12.0}]
    path = _selection(tmp_path, groups, spacegroups)
    plan = Plan(config, selection=lambda landscape: path)
    assert plan.spacegroups("roy") == ["P21_c", "Fd-3m"]  # `all`: the space groups the data has
    # the run asks for the calibrations and the summary; they ask for the analysed groups once select has run
    assert plan.targets() == ["results/roy/calibration/smooth/dimensions.csv",
                              "results/roy/calibration/inter-atoms/dimensions.csv", "results/summary/summary.md"]
    assert len(plan.groups("roy")) == 3 * 3
    assert plan.analyses("roy", "smooth") == [f"results/roy/analysis/smooth/{w}/{g}/pca.json"
                                                 for w in ("10", "20", "inf") for g in ("P21_c", "all")]
    assert len(plan.all_latents()) == 2 and len(plan.all_analyses()) == 12  # latent.windows: [20]
    config["latent"]["windows"] = None  # every window
    assert len(Plan(config, selection=lambda landscape: path).all_latents()) == 6
    config["latent"]["windows"] = ["inf", 10]
    assert [p.split("/")[4] for p in Plan(config, selection=lambda landscape: path).all_latents()] == ["10", "10", "inf", "inf"]
    assert plan.folders(plan.analyses("roy", "smooth")[:1]) == "results/roy/analysis/smooth/10/P21_c"


def test_small_groups_are_plain_jobs_large_ones_mpi():
    assert descriptor_tasks(49999, CLUSTER) == 1
    assert descriptor_tasks(50000, CLUSTER) == 2 and descriptor_tasks(100001, CLUSTER) == 5
    assert descriptor_tasks(10**8, CLUSTER) == 64
    assert descriptor_tasks(10**6, {**CLUSTER, "mpi_launcher": "none"}) == 1

    plain = descriptor_job(50, 1350.0, 1008, 10.0, 512, 1, CLUSTER, "srun")
    assert (plain.tasks, plain.threads, plain.launch, plain.mpi, plain.mpi_flag, plain.mem_mb_per_cpu) == \
        (1, 1, "", None, "", None)
    big = descriptor_job(100000, 2.7e6, 1008, 500.0, 512, 2, CLUSTER, "srun")
    assert big.tasks == 4 and big.threads == 8 and big.mpi == "srun" and big.mpi_flag == "--mpi"
    assert big.launch == "srun -n 4 --cpus-per-task 2 "
    assert big.mem_mb == 4 * 2 * big.mem_mb_per_cpu
    assert descriptor_job(100000, 2.7e6, 1008, 500.0, 512, 1, CLUSTER, "mpiexec").launch == "mpiexec -n 4 "
    # every rank holds structures.h5 and one chunk of per-atom rows; a retry asks for more
    again = descriptor_job(100000, 2.7e6, 1008, 500.0, 512, 2, CLUSTER, "srun", attempt=2)
    assert again.mem_mb >= 2 * big.mem_mb - 400 and again.runtime == 2 * big.runtime
    assert big.runtime == plain.runtime == 10  # 2.7 M centre atoms on 4 ranks: under the 10 min floor
    huge = descriptor_job(10**6, 2.7e7, 1008, 5000.0, 512, 1, CLUSTER, "srun")
    assert huge.tasks == 40 and huge.runtime == 10 and huge.mem_mb_per_cpu > big.mem_mb_per_cpu
    alone = descriptor_job(10**6, 2.7e7, 1008, 5000.0, 512, 1, {**CLUSTER, "mpi_launcher": "none"}, "srun")
    assert alone.runtime == 3 * (60 + 2.7e7 * 2e-4) / 60  # 5x the measured rate, 3x margin: 93 min


def test_launcher_follows_the_executor_and_the_allocation():
    no_sbatch = lambda name: None  # noqa: E731
    assert mpi_launcher("mpiexec", "slurm", {}, no_sbatch) == "mpiexec"
    assert mpi_launcher("auto", "slurm", {}, no_sbatch) == "srun"
    assert mpi_launcher("auto", "local", {"SLURM_JOB_ID": "7"}, no_sbatch) == "srun"
    assert mpi_launcher("auto", "local", {}, no_sbatch) == "mpiexec"
    assert mpi_launcher("auto", "dryrun", {}, lambda name: "/usr/bin/sbatch") == "srun"
    assert mpi_launcher("auto", "dryrun", {}, no_sbatch) == "mpiexec"


def test_analysis_memory_is_flat_beyond_the_subsample():
    row = 27216 * 4  # ROY, ANI-2x (1008 features) x 27 atoms, float32 on disk
    small, at_m = analysis_job(264, row, 2000)["mem_mb"], analysis_job(2000, row, 2000)["mem_mb"]
    huge = analysis_job(100000, row, 2000)["mem_mb"]
    assert small < at_m < huge < 4096 and huge - at_m < 600  # 10^5 rows cost their scores and one block
    assert analysis_job(100000, row, 2000, attempt=2)["mem_mb"] >= 2 * huge - 100


def test_descriptor_job_sizes_come_from_the_selection(tmp_path):
    spacegroups = [{"group": "P21_c", "n": 60000, "centre_atoms": 60000 * 27.0}]
    path = _selection(tmp_path, [], spacegroups)
    structures = tmp_path / "structures.h5"
    structures.write_bytes(b"0" * 10**6)
    plan = Plan(roy_config(), selection=lambda landscape: path)
    wc = SimpleNamespace(landscape="roy", dset="smooth", spacegroup="P21_c")
    job = plan.descriptor_job(wc, SimpleNamespace(selection=str(path), structures=str(structures)))
    assert job.tasks == 3 and job.launch.startswith("mpiexec -n 3")
    before = plan.descriptor_job(wc, SimpleNamespace(selection=str(tmp_path / "none.json"), structures="none.h5"))
    assert before.tasks == 1  # select has not run: the smallest job (its real size is asked for when it runs)
    other = plan.descriptor_job(SimpleNamespace(landscape="roy", dset="smooth", spacegroup="Cc"),
                                SimpleNamespace(selection=str(path), structures=str(structures)))
    assert other.tasks == 1  # a space group outside the selection has no structures


def test_command_line_values_of_the_config():
    config = roy_config()
    config["landscapes"]["roy"]["windows"] = [5, 2.5]
    config["landscapes"]["roy"]["synth"] = "roy"
    plan = Plan(config, selection=waiting)
    wc = SimpleNamespace(landscape="roy", dset="inter-atoms")
    assert plan.windows_arg(wc) == "5 2.5" and plan.windows("roy") == ["2.5", "5", "inf"]
    spec = json.loads(plan.landscape_spec(wc).strip("'"))
    assert "synth" not in spec and "windows" not in spec and spec["format"] == "extxyz"
    assert json.loads(plan.descriptor_set(wc).strip("'")) == config["descriptors"]["sets"]["inter-atoms"]
    assert plan.cache_flag() == "--cache-dir .latentcsp-cache/descriptors"
    assert plan.spacegroups_arg() == "top10"
