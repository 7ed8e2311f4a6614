# Job sizes that follow the data: MPI ranks, cores, memory and wall time of each
# descriptor job from the structures of its space-group group (groups.csv, written
# by the select checkpoint), so a 100 000-structure group asks for MPI tasks and a
# 50-structure group runs as a plain one-core job.  Included by the Snakefile after
# common.smk and before the stage rules.  The per-structure costs below come from
# bench/scale.py (README, "Cost model"); runtime and memory grow with `attempt`, so
# a job that SLURM kills for time or memory is retried bigger (profile: retries).

import math
import os
import shutil

# Defaults of the `cluster:` config section (config/README.md documents each key).
CLUSTER = {
    "mpi_min_structures": 50000,  # a group this large (or larger) runs as an MPI job
    "structures_per_task": 25000,  # MPI ranks asked: ceil(structures / this), at least 2
    "max_tasks": 64,  # upper bound on the ranks of one job
    "mpi_launcher": "auto",  # auto | srun | mpiexec | none (never launch MPI)
    **config.get("cluster", {}),
}

# Per-structure cost model (bench/scale.py on ROY, ANI-2x; README "Cost model"): measured
# 0.041 ms of CPU per symmetry-independent ("centre") atom and a flat ~0.6 GB per rank.
DESCRIPTOR_SECONDS_PER_CENTRE_ATOM = 2e-4  # 5x the measured rate: slower cores, denser crystals
DESCRIPTOR_STARTUP_SECONDS = 60  # interpreter, numba JIT, reading a large structures.h5
RUNTIME_SAFETY = 3.0  # margin on top (shared nodes)
MIN_RUNTIME_MIN = 10
RANK_BASE_MB = 700  # python + numpy + numba + mpi4py, one rank


localrules:
    all,
    fetch_roy,


def _group_table(groups_csv, landscape):
    """(ids, centre atoms per structure) of each space-group group of a landscape, cached by file stamp."""
    import pandas as pd

    stat = os.stat(groups_csv)
    key = (str(groups_csv), stat.st_mtime_ns, stat.st_size)
    if _group_table.cache.get("key") != key:
        groups = pd.read_csv(groups_csv, dtype={"id": str, "window": str, "group": str})
        groups = groups[groups.group != "all"].drop_duplicates(["group", "id"])
        manifest_csv = os.path.join(os.path.dirname(str(groups_csv)), "manifest.csv")
        centre = {}
        if os.path.exists(manifest_csv):
            man = pd.read_csv(manifest_csv, dtype={"id": str})
            # centre atoms = atoms of the symmetry-independent molecules = n_atoms / Z * Z'
            centre = dict(zip(man.id, (man.n_atoms / man.z.clip(lower=1) * man.zprime).round()))
        table = {}
        for group, sub in groups.groupby("group"):
            atoms = [centre.get(i, 30.0) for i in sub.id]
            table[group] = (len(sub), float(sum(atoms)))
        _group_table.cache = {"key": key, "table": table}
    return _group_table.cache["table"]


_group_table.cache = {}


def group_size(wildcards, input):
    """(structures, centre atoms) of the job's space-group group; (0, 0) while groups.csv is not there."""
    try:
        return _group_table(input.groups, wildcards.landscape).get(wildcards.spacegroup, (0, 0.0))
    except FileNotFoundError:
        return 0, 0.0


def descriptor_tasks(wildcards, input):
    """MPI ranks of a descriptor job: 1 below cluster.mpi_min_structures, else one per structures_per_task."""
    n, _ = group_size(wildcards, input)
    if CLUSTER["mpi_launcher"] == "none" or n < CLUSTER["mpi_min_structures"]:
        return 1
    wanted = math.ceil(n / max(1, CLUSTER["structures_per_task"]))
    return int(min(max(2, wanted), max(2, CLUSTER["max_tasks"])))


def mpi_launcher():
    """The launcher of multi-rank jobs: srun under SLURM (cluster or inside an allocation), else mpiexec."""
    choice = CLUSTER["mpi_launcher"]
    if choice != "auto":
        return choice
    plugin = workflow.executor_plugin
    name = plugin.name if plugin is not None else ""
    if name.startswith("slurm") or "SLURM_JOB_ID" in os.environ:
        return "srun"
    if name == "dryrun" and shutil.which("sbatch"):
        return "srun"  # a dry run on a cluster login node shows what the cluster run will do
    return "mpiexec"


def descriptor_mpi(wildcards, input):
    """The `mpi` resource of the SLURM plugin: the launcher for multi-rank jobs, absent for plain ones."""
    return mpi_launcher() if descriptor_tasks(wildcards, input) > 1 else None


def descriptor_launch(wildcards, input):
    """Command prefix of the descriptor job: '' or e.g. 'srun -n 4 --cpus-per-task 1 ' (ends with a space)."""
    tasks = descriptor_tasks(wildcards, input)
    if tasks == 1:
        return ""
    # The plugin strips SLURM_NTASKS & co. from the job step's environment: give srun its geometry.
    cpus = config["descriptors"]["threads"]
    if mpi_launcher() == "srun":
        return f"srun -n {tasks} --cpus-per-task {cpus} "
    return f"{mpi_launcher()} -n {tasks} "


def descriptor_mpi_flag(wildcards, input):
    """'--mpi' when the job runs on several ranks."""
    return "--mpi" if descriptor_tasks(wildcards, input) > 1 else ""


def descriptor_threads(wildcards, input):
    """Cores the job holds: ranks x numba threads per rank (locally: scaled down to --cores)."""
    return descriptor_tasks(wildcards, input) * config["descriptors"]["threads"]


def _n_features(dset):
    from latentcsp.descriptors import get_params

    try:
        return get_params(DESCRIPTOR_SETS[dset].get("preset", "ani2x")).n_features
    except Exception:
        return 1008  # ANI-2x, the largest preset


def descriptor_rank_mb(wildcards, input, attempt):
    """Memory of one rank: the landscape's structures.h5 (read whole by every rank) and one chunk of rows."""
    n, atoms = group_size(wildcards, input)
    try:
        structures_mb = os.path.getsize(input.structures) / 1e6
    except (FileNotFoundError, TypeError):
        structures_mb = 100.0
    atoms_per_structure = atoms / n if n else 30.0
    chunk = min(config["descriptors"]["chunk"], max(n, 1))
    rows_mb = chunk * atoms_per_structure * _n_features(wildcards.dset) * 8 / 1e6
    return int(math.ceil((RANK_BASE_MB + 2 * structures_mb + 2 * rows_mb) * attempt / 100) * 100)


def descriptor_mem_mb(wildcards, input, attempt):
    """Memory of the whole job (every rank)."""
    return descriptor_tasks(wildcards, input) * descriptor_rank_mb(wildcards, input, attempt)


def descriptor_mem_mb_per_cpu(wildcards, input, attempt):
    """Per-CPU memory of a multi-rank job (SLURM --mem-per-cpu, right on any number of nodes); absent otherwise."""
    if descriptor_tasks(wildcards, input) == 1:
        return None
    return int(math.ceil(descriptor_rank_mb(wildcards, input, attempt) / config["descriptors"]["threads"]))


def descriptor_runtime(wildcards, input, attempt):
    """Wall time in minutes: the group's centre atoms at the measured rate, split over the ranks, with margin."""
    n, atoms = group_size(wildcards, input)
    tasks = descriptor_tasks(wildcards, input)
    seconds = DESCRIPTOR_STARTUP_SECONDS + atoms * DESCRIPTOR_SECONDS_PER_CENTRE_ATOM / tasks
    return int(max(MIN_RUNTIME_MIN, math.ceil(RUNTIME_SAFETY * seconds / 60)) * attempt)
