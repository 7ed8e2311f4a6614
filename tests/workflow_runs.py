"""Run the Snakemake workflow on a small self-made landscape (helpers of tests/test_workflow_*.py).

A scratch copy of the workflow (Snakefile, workflow/, config/, envs/,
profiles/) gets its own config/config.yaml naming a landscape of methanol-like
crystals written by the test: one extended-XYZ file per structure in
``land/``, in four space groups with varied cell parameters and energies.
Snakemake runs in a subprocess with this interpreter's environment.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import yaml
from ase.io import write

from crystals import methanol_like, to_extxyz_frame

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
COPIED = ("Snakefile", "workflow", "config", "envs", "profiles")

# space group -> base cell (a, b, c, alpha, beta, gamma)
CELLS = {
    14: (7.0, 6.5, 9.0, 90, 105, 90),
    2: (7.0, 7.5, 9.0, 80, 95, 100),
    19: (6.0, 7.0, 8.5, 90, 90, 90),
    61: (9.0, 10.0, 11.0, 90, 90, 90),
}
SLUG = {14: "P21_c", 2: "P-1", 19: "P212121", 61: "Pbca"}

CONFIG = {
    "landscapes": {"m": {"source": "land", "format": "extxyz", "energy_unit": "kJ/mol", "energy_per": "molecule"}},
    "windows": [5, 20],
    "spacegroups": "all",
    "min_group_size": 3,
    "descriptors": {
        "sets": {"a": {"preset": "ani2x", "neighbours": "all", "pooling": "atoms"}},
        "cache": ".latentcsp-cache/descriptors",
        "chunk": 4,
        "threads": 1,
    },
    "analysis": {"estimators": ["TwoNN", "MLE"], "n_boot": 0, "min_size": 5, "thresholds": [0.8]},
    "calibration": {"patterns": 1, "schemes": ["full", "local"]},
    "latent": {"sets": []},
    "calibration": {"patterns": 1, "schemes": ["full"]},
}


def structure(k: int, sg: int | None = None):
    """The k-th crystal of the test landscape: its space group cycles through CELLS unless given."""
    sg = sg if sg is not None else list(CELLS)[k % len(CELLS)]
    rng = np.random.default_rng(1000 + k)
    cell = np.array(CELLS[sg], float)
    cell[:3] *= 1 + 0.08 * rng.random(3)
    if sg == 2:
        cell[3:] += rng.uniform(-3, 3, 3)
    elif sg == 14:
        cell[4] += rng.uniform(-3, 3)
    energy = -100.0 + (0.7 * k) % 13 + 0.01 * k  # kJ/mol per molecule; spans both windows
    return methanol_like(sg, tuple(cell)), energy, sg


def write_structures(folder: Path, ks, sg: int | None = None) -> list[str]:
    """Write structures ``ks`` as ``folder/s{k:04d}.extxyz``; returns their ids."""
    folder.mkdir(parents=True, exist_ok=True)
    ids = []
    for k in ks:
        atoms, energy, _ = structure(k, sg)
        name = f"s{k:04d}"
        write(folder / f"{name}.extxyz", to_extxyz_frame(atoms, name, energy=energy), format="extxyz")
        ids.append(name)
    return ids


def copy_workflow(root: Path) -> Path:
    """Snakefile, rules, config, envs and profiles of this repository copied to ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, root / name, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", ".snakemake"))
        elif src.exists():
            shutil.copy2(src, root / name)
    return root


def make_workflow(root: Path, n_structures: int = 24, config: dict | None = None) -> Path:
    """A scratch copy of the workflow at ``root`` with the test landscape and config; returns root."""
    copy_workflow(root)
    write_structures(root / "land", range(n_structures))
    set_config(root, config or CONFIG)
    return root


def set_config(root: Path, config: dict) -> None:
    with open(root / "config" / "config.yaml", "w") as fh:
        yaml.safe_dump(config, fh, sort_keys=False)


def edited_config(**changes) -> dict:
    """CONFIG with dotted keys replaced, e.g. edited_config(**{"analysis.n_boot": 3})."""
    cfg = copy.deepcopy(CONFIG)
    for dotted, value in changes.items():
        *path, last = dotted.split(".")
        node = cfg
        for key in path:
            node = node.setdefault(key, {})
        node[last] = value
    return cfg


def env() -> dict:
    e = dict(os.environ)
    e["PATH"] = f"{BIN}{os.pathsep}{e.get('PATH', '')}"
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        e[var] = "1"
    return e


def snakemake_cmd(*args: str) -> list[str]:
    return [str(BIN / "snakemake"), *args]


def run(root: Path, *args: str, cores: int = 2, timeout: float = 600, check: bool = True) -> "Run":
    """``snakemake --cores N ARGS`` in ``root``; returns the output and the jobs it ran, by rule."""
    cmd = snakemake_cmd("--cores", str(cores), *args)
    proc = subprocess.run(cmd, cwd=root, env=env(), capture_output=True, text=True, timeout=timeout)
    result = Run(proc.returncode, proc.stdout + proc.stderr)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{result.text[-6000:]}")
    return result


class Run:
    JOB = re.compile(r"^\s*(?:local)?(?:rule|checkpoint) (\w+):\s*$", re.M)

    def __init__(self, returncode: int, text: str):
        self.returncode = returncode
        self.text = text

    @property
    def jobs(self) -> Counter:
        """Jobs per rule, from the 'rule X:' headers Snakemake prints for each job."""
        return Counter(self.JOB.findall(self.text))

    def outputs(self, rule: str) -> list[str]:
        """The 'output:' line of every job of ``rule`` in this run."""
        found = []
        blocks = re.split(r"\n(?=\s*(?:local)?(?:rule|checkpoint) \w+:\s*\n)", self.text)
        for block in blocks:
            m = self.JOB.match(block.lstrip("\n"))
            if m and m.group(1) == rule:
                out = re.search(r"^\s*output: (.*)$", block, re.M)
                if out:
                    found.append(out.group(1))
        return found


def computed_line(log: Path) -> tuple[int, int, int]:
    """(structures, computed, from cache) from a descriptor job's log."""
    m = re.search(r"(\d+) structures, (\d+) computed, (\d+) from cache", log.read_text())
    assert m, f"no summary line in {log}:\n{log.read_text()[-2000:]}"
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def start(root: Path, *args: str, cores: int = 1) -> subprocess.Popen:
    """Start snakemake in its own process group (to be killed as a whole)."""
    return subprocess.Popen(snakemake_cmd("--cores", str(cores), *args), cwd=root, env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def wait_for(predicate, timeout: float, interval: float = 0.005):
    """Poll ``predicate`` until it returns something truthy; returns that value or None at timeout."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL a process started by :func:`start` and everything in its process group."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=60)
