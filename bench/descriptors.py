#!/usr/bin/env python
"""Benchmark the AEV engine against TorchANI and DScribe on the same crystals.

    .venv/bin/python bench/descriptors.py [--torchani-python /tmp/ani/bin/python]

Crystals: the 100 experimental structures of ../shared/data/exp-htocsp-benchmark100
(all within the ANI-2x elements), 10 716 atoms.  Prints atoms per second of CPU
time (``time.process_time``, robust to other load on the machine) and wall
time, for

* latentcsp, ANI-2x, every atom, 1 numba thread and 2 threads, writing into
  one reused output buffer (``out=``, as the pipeline's stage does), and
  2 MPI ranks (``mpiexec -n 2``, the crystals split by atom count as the
  stage splits them; per core = atoms / CPU time summed over the ranks);
* latentcsp, ANI-2x, one representative per symmetry-independent molecule
  (the pipeline's unit: Z' molecules per structure), structures per second;
* TorchANI (CPU, float32 and float64, ``torch.set_num_threads(1)``), ANI-2x
  ``AEVComputer.like_2x()`` with its default ``all_pairs`` neighbour list and
  PBC, if an interpreter with torchani is found (``--torchani-python``, env
  ``LATENTCSP_TORCHANI_PYTHON``, default ``/tmp/ani/bin/python``; see
  tests/reference/README.md to make one);
* DScribe ACSF (same interpreter, if dscribe is importable there): periodic,
  r_cut 5.1 Å, 16 G2 (one eta, 16 shifts) and 32 G4 (eta x zeta x lambda),
  ``n_jobs=1``.

TorchANI and DScribe run in a subprocess of that interpreter (the project's
environment does not carry torch); their numbers are measured the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DB = REPO.parent / "shared" / "data" / "exp-htocsp-benchmark100" / "benchmark.db"

FOREIGN = r'''
import json, sys, time, os
os.environ.setdefault("TORCHANI_NO_WARN_EXTENSIONS", "1")
import numpy as np
data = np.load(sys.argv[1], allow_pickle=False)
n = int(data["n"])
structs = [(data[f"c{i}"], data[f"p{i}"], data[f"z{i}"]) for i in range(n)]
n_atoms = sum(len(z) for _, _, z in structs)
out = {}
def timed(fn, reps):
    fn()  # warm-up
    best_cpu = best_wall = float("inf")
    for _ in range(reps):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        best_cpu = min(best_cpu, time.process_time() - c0)
        best_wall = min(best_wall, time.perf_counter() - w0)
    return {"atoms_per_s_cpu": n_atoms / best_cpu, "atoms_per_s_wall": n_atoms / best_wall}
try:
    import torch, torchani
    torch.set_num_threads(1)
    SPECIES = [1, 6, 7, 8, 16, 9, 17]
    for dtype in (torch.float32, torch.float64):
        comp = torchani.aev.AEVComputer.like_2x().to(dtype)
        inputs = []
        for cell, pos, z in structs:
            idx = torch.tensor([[SPECIES.index(int(x)) for x in z]])
            inputs.append((idx, torch.tensor(pos[None], dtype=dtype), torch.tensor(cell, dtype=dtype)))
        pbc = torch.tensor([True, True, True])
        def run():
            with torch.no_grad():
                for idx, pos, cell in inputs:
                    comp(idx, pos, cell, pbc)
        out[f"torchani {str(dtype).split('.')[-1]}"] = timed(run, 2)
    out["torchani_version"] = torchani.__version__ + " / torch " + torch.__version__
except ImportError as e:
    out["torchani_error"] = str(e)
try:
    from ase import Atoms
    from dscribe.descriptors import ACSF
    import dscribe
    atoms = [Atoms(numbers=z, positions=p, cell=c, pbc=True) for c, p, z in structs]
    species = sorted({int(x) for _, _, z in structs for x in z})
    g2 = [[19.7, 0.8 + 0.26875 * k] for k in range(16)]
    g4 = [[eta, zeta, lam] for eta in (0.01, 0.1) for zeta in (1, 2, 4, 8, 16, 32, 64, 128) for lam in (1, -1)]
    acsf = ACSF(species=species, r_cut=5.1, g2_params=g2, g4_params=g4, periodic=True)
    def run():
        for a in atoms:
            acsf.create(a, n_jobs=1)
    out["dscribe acsf"] = timed(run, 1)
    from importlib.metadata import version
    out["dscribe_version"] = version("dscribe")
    out["dscribe_features"] = int(acsf.get_number_of_features())
except ImportError as e:
    out["dscribe_error"] = str(e)
print(json.dumps(out))
'''


def load_crystals():
    from ase.db import connect

    if not DB.exists():
        sys.exit(f"benchmark data not found: {DB}")
    rows = list(connect(DB).select())
    return [(r.toatoms(), r.key_value_pairs) for r in rows]


def molecule_ids(atoms) -> np.ndarray:
    from ase.neighborlist import NeighborList, natural_cutoffs
    from scipy.sparse.csgraph import connected_components

    nl = NeighborList(natural_cutoffs(atoms, mult=1.15), self_interaction=False, bothways=True)
    nl.update(atoms)
    return connected_components(nl.get_connectivity_matrix(sparse=True), directed=False)[1]


def timed(fn, reps=3):
    fn()
    best_cpu = best_wall = float("inf")
    for _ in range(reps):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        best_cpu = min(best_cpu, time.process_time() - c0)
        best_wall = min(best_wall, time.perf_counter() - w0)
    return best_cpu, best_wall


def mpi_worker(reps: int) -> None:
    """One rank of ``mpiexec -n N bench/descriptors.py --mpi-worker``: its share of the
    crystals (balanced by atom count, as the pipeline's stage splits), timed; rank 0
    prints JSON with the summed CPU time and the slowest rank's wall time."""
    from mpi4py import MPI

    import latentcsp.descriptors as D
    from latentcsp.descriptors.stage import balance

    comm = MPI.COMM_WORLD
    params = D.ani2x
    crystals = load_crystals()
    mine = balance(np.array([len(a) for a, _ in crystals], float), comm.size)[comm.rank]
    prepared = [(crystals[k][0].cell.array.copy(), crystals[k][0].positions.copy(),
                 params.species_index(crystals[k][0].numbers)) for k in mine]
    buffer = np.empty((max(len(sp) for *_, sp in prepared), params.n_features))

    def run():
        for cell, pos, sp in prepared:
            D.aev_arrays(cell, pos, sp, params=params, out=buffer[:len(sp)], threads=1)

    run()  # warm-up
    best_cpu = best_wall = float("inf")
    for _ in range(reps):
        comm.Barrier()
        c0, w0 = time.process_time(), time.perf_counter()
        run()
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        cpu, wall = comm.allreduce(cpu, MPI.SUM), comm.allreduce(wall, MPI.MAX)
        best_cpu, best_wall = min(best_cpu, cpu), min(best_wall, wall)
    if comm.rank == 0:
        print(json.dumps({"cpu": best_cpu, "wall": best_wall, "ranks": comm.size}))


def mpi_rates(reps: int, n_atoms: int, ranks: int = 2) -> tuple[float, float] | None:
    """(atoms/s per core, atoms/s wall) of ``ranks`` MPI ranks, or None without mpiexec."""
    mpiexec = Path(sys.executable).parent / "mpiexec"
    if not mpiexec.exists():
        print(f"no {mpiexec}: skipping the MPI run")
        return None
    env = dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    proc = subprocess.run([str(mpiexec), "-n", str(ranks), sys.executable, __file__, "--mpi-worker",
                           "--reps", str(reps)], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        print(f"MPI run failed:\n{proc.stderr[-2000:]}")
        return None
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    return n_atoms / got["cpu"], n_atoms / got["wall"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--torchani-python", default=os.environ.get("LATENTCSP_TORCHANI_PYTHON", "/tmp/ani/bin/python"))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--mpi-worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.mpi_worker:
        mpi_worker(args.reps)
        return

    import numba

    import latentcsp.descriptors as D

    crystals = load_crystals()
    params = D.ani2x
    n_atoms = sum(len(a) for a, _ in crystals)
    prepared = [(a.cell.array.copy(), a.positions.copy(), params.species_index(a.numbers)) for a, _ in crystals]
    print(f"{len(crystals)} crystals, {n_atoms} atoms (HTOCSP experimental benchmark); preset ani2x, "
          f"{params.n_features} features, float64")
    results: dict[str, tuple[float, float]] = {}

    buffer = np.empty((max(len(sp) for *_, sp in prepared), params.n_features))

    def run_all():
        for cell, pos, sp in prepared:
            D.aev_arrays(cell, pos, sp, params=params, out=buffer[:len(sp)])

    for threads in (1, 2):
        if threads > numba.config.NUMBA_NUM_THREADS:
            continue
        numba.set_num_threads(threads)
        cpu, wall = timed(run_all, args.reps)
        # CPU time of all threads: per-core rate = atoms / cpu
        results[f"latentcsp {threads} thread{'s' if threads > 1 else ''}"] = (n_atoms / cpu, n_atoms / wall)
    numba.set_num_threads(1)
    rates = mpi_rates(args.reps, n_atoms)
    if rates:
        results["latentcsp 2 MPI ranks"] = rates

    # the pipeline's unit: one whole molecule per symmetry-independent molecule
    reps = []
    for (atoms, kv), (cell, pos, sp) in zip(crystals, prepared):
        mol = molecule_ids(atoms)
        n_mol = len(set(mol.tolist()))
        zprime = kv.get("Zprime", 1.0) or 1.0
        keep = max(1, int(round(n_mol * min(1.0, zprime / max(kv.get("Z", n_mol), 1)))))
        first = list(dict.fromkeys(mol.tolist()))[:keep]
        reps.append((cell, pos, sp, np.flatnonzero(np.isin(mol, first))))
    n_centres = sum(len(c) for *_, c in reps)

    def run_reps():
        for cell, pos, sp, centres in reps:
            D.aev_arrays(cell, pos, sp, centres=centres, params=params, out=buffer[:len(centres)])

    cpu, wall = timed(run_reps, args.reps)
    structs_per_s = len(reps) / cpu

    foreign = {}
    py = Path(args.torchani_python)
    if py.exists():
        with tempfile.TemporaryDirectory() as tmp:
            f = Path(tmp) / "crystals.npz"
            arrays = {"n": np.array(len(crystals))}
            for i, (a, _) in enumerate(crystals):
                arrays[f"c{i}"] = a.cell.array
                arrays[f"p{i}"] = a.positions
                arrays[f"z{i}"] = a.numbers
            np.savez(f, **arrays)
            script = Path(tmp) / "foreign.py"
            script.write_text(FOREIGN)
            env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
            proc = subprocess.run([str(py), str(script), str(f)], capture_output=True, text=True, env=env)
            if proc.returncode == 0:
                foreign = json.loads(proc.stdout.strip().splitlines()[-1])
            else:
                print(f"TorchANI/DScribe run failed:\n{proc.stderr[-2000:]}")
    else:
        print(f"no TorchANI interpreter at {py}: skipping TorchANI and DScribe "
              "(see tests/reference/README.md, or pass --torchani-python)")
    for key in ("torchani float32", "torchani float64", "dscribe acsf"):
        if key in foreign:
            results[key] = (foreign[key]["atoms_per_s_cpu"], foreign[key]["atoms_per_s_wall"])
    for key in ("torchani_error", "dscribe_error"):
        if key in foreign:
            print(f"{key}: {foreign[key]}")

    base = results.get("torchani float32")
    print(f"\n{'engine':24s} {'atoms/s per core (CPU)':>24s} {'atoms/s (wall)':>16s} {'x TorchANI f32':>15s}")
    for name, (cpu_rate, wall_rate) in results.items():
        ratio = f"{cpu_rate / base[0]:.1f}" if base else "-"
        print(f"{name:24s} {cpu_rate:24,.0f} {wall_rate:16,.0f} {ratio:>15s}")
    print("(CPU = process CPU time of all threads, so 'per core'; wall includes waiting for the CPU "
          "when the machine is shared, check `uptime`)")
    print(f"\nlatentcsp, representative molecules only ({n_centres} of {n_atoms} atoms): "
          f"{structs_per_s:,.0f} structures/s per core, {n_centres / cpu:,.0f} atoms/s per core")
    if "torchani_version" in foreign:
        print(f"TorchANI {foreign['torchani_version']}; DScribe {foreign.get('dscribe_version', '-')} "
              f"({foreign.get('dscribe_features', '-')} ACSF features)")
    print("latentcsp rows go into one reused output buffer (`out=`, as the pipeline's stage does: each "
          "structure's rows are pooled at once)")
    print("target: >= 180,000 atoms/s per core for the ani2x per-atom kernel")
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
