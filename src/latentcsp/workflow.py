"""What the Snakemake workflow runs, decided here: the plan of jobs, their sizes and launcher.

The rules in ``workflow/rules/*.smk`` are thin: each input, parameter and
resource that depends on the config or on the data is a one-line call into
the :class:`Plan` the Snakefile makes from the validated config.

The plan.  Every landscape x descriptor set x window x group is known when
the DAG is built, with a listed set of space groups (``spacegroups: top10``,
the default, or a list): windows are the configured ones and ``inf`` (the
whole landscape, :func:`latentcsp.select.planned_windows`), groups the listed
space groups and ``all``.  ``snakemake -n`` on a fresh directory therefore
shows every descriptor, analysis, calibration and latent job.  Which groups
hold enough structures is decided by the ``select`` checkpoint
(``selection.json``); the jobs of the others finish at once with a
"skipped: reason" output, and only the analysed groups reach the
calibration and the summary.  With ``spacegroups: all`` the space groups
come from the data: the plan is read from ``selection.json`` once select
has run (``snakemake --until select``, then ``snakemake -n``).

Job sizes.  A descriptor job of a space-group group with at least
``cluster.mpi_min_structures`` structures becomes an MPI job
(:func:`descriptor_job`); memory and wall time follow the group's
symmetry-independent atoms at the measured rates (README, "Cost model").  An
analysis job's memory follows the rows it holds: at most
``analysis.subsample`` of them in float64 (:func:`analysis_job`).
"""

from __future__ import annotations

import json
import math
import os
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .analysis.rows import BLOCK_MB
from .descriptors.stage import DESCRIPTORS_LAYOUT
from .select import COMBINED, entry, planned_spacegroups, planned_windows, window_name
from .store import STRUCTURES_LAYOUT

RESULTS = "results"

# Descriptor cost model (bench/scale.py on ROY, ANI-2x; README "Cost model").
DESCRIPTOR_SECONDS_PER_CENTRE_ATOM = 2e-4  # 5x the measured rate: slower cores, denser crystals
DESCRIPTOR_STARTUP_SECONDS = 60  # interpreter, numba JIT, reading a large structures.h5
RUNTIME_SAFETY = 3.0  # margin on top of every estimate (shared nodes)
MIN_RUNTIME_MIN = 10
RANK_BASE_MB = 700  # python + numpy + numba + mpi4py, one rank
ANALYSIS_BASE_MB = 1200  # python, numpy, scikit-learn, scikit-dimension, matplotlib
ANALYSIS_COPIES = 3  # float64 copies of the rows held at the peak (measured: 1.9 GB at 2000 x 27 216, 1.6 copies)


def shell_json(obj) -> str:
    """A value as one shell-quoted JSON word."""
    return shlex.quote(json.dumps(obj))


@dataclass(frozen=True)
class DescriptorJob:
    """What one descriptor job asks for (Snakemake threads and resources)."""

    tasks: int
    threads: int
    launch: str
    mpi: str | None
    mpi_flag: str
    mem_mb: int
    mem_mb_per_cpu: int | None
    runtime: int


def descriptor_tasks(n_structures: int, cluster: dict) -> int:
    """MPI ranks of a descriptor job: 1 below ``mpi_min_structures``, else one per
    ``structures_per_task`` (at least 2, at most ``max_tasks``)."""
    if cluster["mpi_launcher"] == "none" or n_structures < cluster["mpi_min_structures"]:
        return 1
    wanted = math.ceil(n_structures / cluster["structures_per_task"])
    return int(min(max(2, wanted), max(2, cluster["max_tasks"])))


def mpi_launcher(choice: str, executor: str, environ=os.environ, which=shutil.which) -> str:
    """The launcher of multi-rank jobs: ``choice`` unless "auto"; then srun under SLURM (the slurm
    executor, or inside an allocation, or a dry run where sbatch exists), else mpiexec."""
    if choice != "auto":
        return choice
    if executor.startswith("slurm") or "SLURM_JOB_ID" in environ:
        return "srun"
    if executor == "dryrun" and which("sbatch"):
        return "srun"  # a dry run on a cluster login node shows what the cluster run will do
    return "mpiexec"


def descriptor_job(n_structures: int, centre_atoms: float, n_features: int, structures_mb: float,
                   chunk: int, threads: int, cluster: dict, launcher: str, attempt: int = 1) -> DescriptorJob:
    """Size of the descriptor job of a group of ``n_structures`` with ``centre_atoms``
    symmetry-independent atoms in all (``n_features`` per atom), reading a ``structures.h5`` of
    ``structures_mb``; memory and time grow with ``attempt`` (a retried job asks for more)."""
    tasks = descriptor_tasks(n_structures, cluster)
    atoms_per_structure = centre_atoms / n_structures if n_structures else 30.0
    rows_mb = min(chunk, max(n_structures, 1)) * atoms_per_structure * n_features * 8 / 1e6
    rank_mb = int(math.ceil((RANK_BASE_MB + 2 * structures_mb + 2 * rows_mb) * attempt / 100) * 100)
    seconds = DESCRIPTOR_STARTUP_SECONDS + centre_atoms * DESCRIPTOR_SECONDS_PER_CENTRE_ATOM / tasks
    runtime = int(max(MIN_RUNTIME_MIN, math.ceil(RUNTIME_SAFETY * seconds / 60)) * attempt)
    if tasks == 1:
        return DescriptorJob(1, threads, "", None, "", rank_mb, None, runtime)
    # The SLURM plugin strips SLURM_NTASKS & co. from the job step's environment: give srun its geometry.
    launch = f"srun -n {tasks} --cpus-per-task {threads} " if launcher == "srun" else f"{launcher} -n {tasks} "
    return DescriptorJob(tasks, tasks * threads, launch, launcher, "--mpi", tasks * rank_mb,
                         int(math.ceil(rank_mb / threads)), runtime)


def analysis_job(n_structures: int, bytes_per_row: float, subsample: int, attempt: int = 1) -> dict:
    """``mem_mb`` of an analysis job: at most ``subsample`` rows held as float64 copies, one block
    of float32 rows and the streamed scores (``n_structures`` x 300 float64)."""
    held = min(n_structures, subsample) * bytes_per_row * 2 * ANALYSIS_COPIES / 1e6
    streamed = n_structures * 300 * 8 / 1e6 + (2 * BLOCK_MB if n_structures > subsample else 0)  # block, centred
    return {"mem_mb": int(math.ceil((ANALYSIS_BASE_MB + held + streamed) * attempt / 100) * 100)}


def read_selection(path: str | os.PathLike) -> dict:
    """``selection.json`` of a landscape, read once per file version."""
    stat = os.stat(path)
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _SELECTIONS:
        _SELECTIONS[key] = json.loads(Path(path).read_text())
    return _SELECTIONS[key]


_SELECTIONS: dict[tuple, dict] = {}


class Plan:
    """The jobs of a run, from the validated config (schema defaults filled in).

    ``selection(landscape)`` returns the path of a landscape's
    ``selection.json`` once the select checkpoint has run (in the Snakefile:
    ``checkpoints.select.get(...)``, which raises while it has not: the
    jobs then wait for it); ``executor()`` the executor plugin, or None.
    """

    def __init__(self, config: dict, selection: Callable[[str], str], executor: Callable[[], object] = lambda: None):
        self.config = config
        self._selection = selection
        self._executor = executor
        self.landscapes = list(config["landscapes"])
        self.sets = list(config["descriptors"]["sets"])
        self.latent_sets = [s for s in config["latent"]["sets"] if s in self.sets]
        self.layouts = {"structures": STRUCTURES_LAYOUT, "descriptors": DESCRIPTORS_LAYOUT}

    # -- the plan -------------------------------------------------------------------------

    def windows(self, landscape: str) -> list[str]:
        """Window names planned for a landscape: its own windows (else the global ones) and inf."""
        return planned_windows(self.landscape_windows(landscape))

    def landscape_windows(self, landscape: str) -> list[float]:
        return self.config["landscapes"][landscape].get("windows", self.config["windows"])

    def selection(self, landscape: str) -> dict:
        """The landscape's selection.json (waits for the select checkpoint)."""
        return read_selection(self._selection(landscape))

    def spacegroups(self, landscape: str) -> list[str]:
        """Space-group slugs planned for a landscape: the listed ones, or (``all``) those present."""
        listed = planned_spacegroups(self.config["spacegroups"])
        if listed is not None:
            return listed
        return [row["group"] for row in self.selection(landscape)["spacegroups"]]

    def groups(self, landscape: str) -> list[tuple[str, str]]:
        """Every planned (window, group) of a landscape."""
        return [(w, g) for w in self.windows(landscape) for g in [*self.spacegroups(landscape), COMBINED]]

    def latent_groups(self, groups: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The (window, group)s of ``groups`` in the windows ``latent.windows`` names (all, if null)."""
        listed = self.config["latent"].get("windows")
        if listed is None:
            return groups
        names = {window_name(float(w)) for w in listed}
        return [(w, g) for w, g in groups if w in names]

    def analysed(self, landscape: str) -> list[tuple[str, str]]:
        """The planned (window, group)s that select found large enough (waits for select)."""
        return [(row["window"], row["group"]) for row in self.selection(landscape)["groups"] if row["status"] == "ok"]

    # -- paths ----------------------------------------------------------------------------

    @staticmethod
    def descriptor_file(landscape: str, dset: str, spacegroup: str) -> str:
        return f"{RESULTS}/{landscape}/descriptors/{dset}/{spacegroup}.h5"

    @staticmethod
    def analysis(landscape: str, dset: str, window: str, group: str, name: str = "pca.json") -> str:
        return f"{RESULTS}/{landscape}/analysis/{dset}/{window}/{group}/{name}"

    @staticmethod
    def latent(landscape: str, dset: str, window: str, group: str, name: str = "metrics.json") -> str:
        return f"{RESULTS}/{landscape}/latent/{dset}/{window}/{group}/{name}"

    @staticmethod
    def calibration(landscape: str, dset: str) -> str:
        return f"{RESULTS}/{landscape}/calibration/{dset}/dimensions.csv"

    # -- targets and inputs (one-line calls from the rules) ------------------------------

    def targets(self, wildcards=None) -> list[str]:
        """Every output of the plan: each planned group's descriptors, analysis and latent
        analysis, each landscape x set's calibration, and the summary.  With ``spacegroups: all``
        the groups are not known before select: the calibrations and the summary then ask for
        the analysed ones (and through them for their descriptors) once select has run."""
        listed = planned_spacegroups(self.config["spacegroups"]) is not None
        out = []
        for land in self.landscapes:
            out += [self.calibration(land, dset) for dset in self.sets]
            if not listed:
                continue
            groups = self.groups(land)
            for dset in self.sets:
                out += [self.descriptor_file(land, dset, sg) for sg in self.spacegroups(land)]
                out += [self.analysis(land, dset, w, g) for w, g in groups]
            out += [self.latent(land, dset, w, g) for dset in self.latent_sets
                    for w, g in self.latent_groups(groups)]
        search = [f"{RESULTS}/search/summary.md"] if self.search_landscapes() else []
        return out + [f"{RESULTS}/summary/summary.md"] + search

    def group_descriptors(self, wildcards) -> list[str]:
        """The descriptor files a (window, group) reads: its space group's, or every one for ``all``."""
        groups = self.spacegroups(wildcards.landscape) if wildcards.group == COMBINED else [wildcards.group]
        return [self.descriptor_file(wildcards.landscape, wildcards.dset, g) for g in groups]

    def descriptor_stamp(self, wildcards) -> str:
        """The content stamp of a space group (written by select): its descriptor job's rerun trigger."""
        self._selection(wildcards.landscape)
        return f"{RESULTS}/{wildcards.landscape}/stamps/spacegroup/{wildcards.spacegroup}.sha256"

    def analysis_stamp(self, wildcards) -> str:
        """The content stamp of a (window, group): its analysis job's rerun trigger."""
        self._selection(wildcards.landscape)
        return f"{RESULTS}/{wildcards.landscape}/stamps/{wildcards.window}/{wildcards.group}.sha256"

    def analyses(self, landscape: str, dset: str) -> list[str]:
        """pca.json of every analysed group of one landscape and set (waits for select)."""
        return [self.analysis(landscape, dset, w, g) for w, g in self.analysed(landscape)]

    def all_analyses(self, wildcards=None) -> list[str]:
        """pca.json of every analysed group of every landscape and set."""
        return [p for land in self.landscapes for dset in self.sets for p in self.analyses(land, dset)]

    def all_calibrations(self, wildcards=None) -> list[str]:
        """dimensions.csv of every landscape and set."""
        return [self.calibration(land, dset) for land in self.landscapes for dset in self.sets]

    def all_latents(self, wildcards=None) -> list[str]:
        """metrics.json of every analysed group of the sets and windows ``latent`` names."""
        return [self.latent(land, dset, w, g) for land in self.landscapes for dset in self.latent_sets
                for w, g in self.latent_groups(self.analysed(land))]

    @staticmethod
    def folders(paths) -> str:
        """The folders of output files, as one shell word each."""
        return " ".join(shlex.quote(str(Path(p).parent)) for p in paths)

    # -- the config as command-line arguments ---------------------------------------------

    def landscape_spec(self, wildcards) -> str:
        """The landscape's entry as the ingest reads it (JSON)."""
        entry = {k: v for k, v in self.config["landscapes"][wildcards.landscape].items() if k not in ("synth", "windows")}
        return shell_json(entry)

    def landscape_files(self, wildcards) -> list[str]:
        """The files of a landscape's source (new files rerun its ingest); a generated landscape
        (``synth: <molecule>``) waits for its generator's merged table instead."""
        from .io import expand_source

        entry = self.config["landscapes"][wildcards.landscape]
        if entry.get("synth"):
            kind = "trial" if Path(entry["source"]).name == "trial" else "minima"
            return [f"{RESULTS}/synth/{entry['synth']}/{kind}/dof.csv"]
        found = _exists(entry["source"])
        files = expand_source(entry["source"], entry["format"]) if found else []
        return (files or [entry["source"]]) + ([entry["energies"]] if entry["energies"] else [])

    def windows_arg(self, wildcards) -> str:
        return " ".join(f"{float(w):g}" for w in self.landscape_windows(wildcards.landscape))

    def spacegroups_arg(self) -> str:
        value = self.config["spacegroups"]
        return shlex.quote(value if isinstance(value, str) else json.dumps(value))

    def descriptor_set(self, wildcards) -> str:
        return shell_json(self.config["descriptors"]["sets"][wildcards.dset])

    def cache_flag(self) -> str:
        cache = self.config["descriptors"]["cache"]
        return f"--cache-dir {shlex.quote(cache)}" if cache else ""

    def synth_tags(self) -> dict[str, int]:
        """Generated space groups of ``synth:``: file tag -> number."""
        from .structure.symmetry import TOP10, spacegroup_number
        from .synth.spacegroup import get_spacegroup

        chosen = self.config["synth"]["spacegroups"]
        numbers = [spacegroup_number(sg) for sg in (TOP10 if chosen == "top10" else chosen)]
        return {get_spacegroup(n).tag: n for n in numbers}

    def synth_summaries(self, molecule: str) -> list[str]:
        """The generator's per-space-group summaries of a molecule (its merge's inputs)."""
        return [f"{RESULTS}/synth/{molecule}/summary_{tag}.json" for tag in self.synth_tags()]

    def synth_minimise_flag(self) -> str:
        return "" if self.config["synth"]["minimise"] else "--no-minimise"

    # -- the search stage (decoded crystals of generated landscapes) ----------------------

    @property
    def search_set(self) -> str:
        """The descriptor set the search's latent model is tied to (``search.set``, else the first)."""
        name = self.config["search"].get("set") or self.sets[0]
        if name not in self.sets:
            raise ValueError(f"search.set {name!r} is not a descriptor set ({', '.join(self.sets)})")
        return name

    def search_landscapes(self) -> list[str]:
        """Generated minima landscapes (``synth: <molecule>``, not the generator's trial folder)."""
        molecules = self.config.get("synth", {}).get("molecules", {})
        return [name for name, entry in self.config["landscapes"].items()
                if entry.get("synth") in molecules and Path(entry["source"]).name != "trial"]

    def all_searches(self, wildcards=None) -> list[str]:
        """search.json of every analysed space group of every generated landscape (waits for select)."""
        return [f"{RESULTS}/{land}/search/{g}/search.json" for land in self.search_landscapes()
                for g in dict.fromkeys(g for _, g in self.analysed(land) if g != COMBINED)]

    def all_search_curves(self, wildcards=None) -> list[str]:
        """efficiency.csv beside every search.json (the summary adds them up per landscape)."""
        return [str(Path(p).with_name("efficiency.csv")) for p in self.all_searches()]

    def search_molecule(self, wildcards) -> str:
        return self.config["synth"]["molecules"][self.config["landscapes"][wildcards.landscape]["synth"]]

    def search_descriptors(self, wildcards) -> str:
        return self.descriptor_file(wildcards.landscape, self.search_set, wildcards.group)

    def search_dimensions(self, wildcards) -> list[str]:
        """The calibration's table when the latent width is the calibrated dimension."""
        if self.config["search"].get("width", "calibrated") != "calibrated":
            return []
        return [self.calibration(wildcards.landscape, self.search_set)]

    def search_settings(self) -> str:
        """The search section for the CLI; the efficiency test's trials default to the generator's."""
        settings = {k: v for k, v in self.config["search"].items() if k != "set"}
        efficiency = {"n_trials": self.config.get("synth", {}).get("n_trials", 60), **settings.get("efficiency", {})}
        return shell_json({**settings, "efficiency": efficiency})

    def search_descriptor_set(self) -> str:
        return shell_json(self.config["descriptors"]["sets"][self.search_set])

    # -- job sizes ------------------------------------------------------------------------

    def descriptor_job(self, wildcards, input, attempt: int = 1) -> DescriptorJob:
        """The size of a descriptor job, from its space group's entry in selection.json (a minimal
        job while select has not run)."""
        from .descriptors import get_params

        row = {"n": 0, "centre_atoms": 0.0}
        if os.path.exists(input.selection):
            row = entry(read_selection(input.selection), wildcards.spacegroup)
        structures_mb = os.path.getsize(input.structures) / 1e6 if os.path.exists(input.structures) else 100.0
        dcfg = self.config["descriptors"]
        executor = self._executor()
        launcher = mpi_launcher(self.config["cluster"]["mpi_launcher"], executor.name if executor else "")
        return descriptor_job(row["n"], row["centre_atoms"], get_params(dcfg["sets"][wildcards.dset]["preset"]).n_features,
                              structures_mb, dcfg["chunk"], dcfg["threads"], self.config["cluster"], launcher, attempt)

    def analysis_job(self, wildcards, input, attempt: int = 1) -> dict:
        """The memory of an analysis job, from its group's size and its descriptor files' bytes per row."""
        if not os.path.exists(input.selection):
            return analysis_job(0, 0.0, self.config["analysis"]["subsample"], attempt)
        chosen = read_selection(input.selection)
        rows = sum(entry(chosen, Path(p).stem)["n"] for p in input.descriptors)
        size = sum(os.path.getsize(p) for p in input.descriptors if os.path.exists(p))
        n = entry(chosen, wildcards.group, wildcards.window)["n"]
        return analysis_job(n, size / rows if rows else 0.0, self.config["analysis"]["subsample"], attempt)


def _exists(source: str) -> bool:
    import glob

    return os.path.exists(source) or bool(glob.glob(source, recursive=True))
