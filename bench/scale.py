#!/usr/bin/env python
"""Time and peak memory of each pipeline stage on landscapes of up to 10^5 structures.

    .venv/bin/python bench/scale.py --quick              # 2 640 and 10 560 structures (about 15 min)
    .venv/bin/python bench/scale.py                      # 10^4 and 10^5 (about 1.5 h, 15 GB of scratch)
    .venv/bin/python bench/scale.py --structures 264 1056 2112 --ranks 1 2 --json bench/scale.json
    .venv/bin/python bench/scale.py --structures 8448 --stages descriptors   # no analysis
    .venv/bin/python bench/scale.py --structures 2640 --stages descriptors analyse latent

The landscape is the real ROY set (264 structures, 19 space groups; fetched
as the pipeline does if resources/roy/ is empty) copied until it holds the
asked number of structures, one extended-XYZ file per copy (the extxyz
reader holds a whole file in memory); each copy after the first has its atoms moved by
0.005 Å (Gaussian) so that no two structures are identical (the descriptor
cache and the near-duplicate filter would otherwise see copies).  Each stage
runs as the pipeline runs it, one ``latentcsp <stage>`` process (the MPI runs
under ``mpiexec -n 2``), timed with ``os.wait4``: wall time, CPU time of the
process tree and the peak resident memory of its largest process.  Stages:

* ``ingest``: read, check and canonicalise every structure (one process);
* ``descriptors``: ANI-2x vectors of every structure as one group, no cache
  (``--ranks`` 1 and/or 2; ``--descriptor-sets`` to add ``inter-atoms``);
* ``analyse``: the whole landscape as one group (the combined group ``all``
  of a landscape with every structure within the window): PCA, intrinsic
  dimension (the config's estimators, n_boot), the PC map; above
  ``analysis.subsample`` structures (``--subsample``, 2000) the spectrum is
  streamed and the estimators run on the subsample;
* ``latent`` (optional, after ``analyse``): the latent stage of that group
  (``--latent-settings``, default the config's): above the subsample the
  width sweep, neighbourhoods, PDD and sampling use the analysis's subsample
  and the final autoencoders train on minibatches of every structure.
  ``--latent-no-pdd`` leaves out the structures, so the PDD similarity (m²/2
  earth mover's distances on a subsample of m: about 7 ms each for ROY at
  k = 100, 4 h at m = 2 000) and the chemiscope dataset are not computed.

Prints one table row per (stage, size, ranks) and the fitted cost model:
seconds per structure (ingest, descriptors), a power law t = a n^b
(analyse), and memory = base + slope n; README "Cost model" quotes it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ROY = REPO / "resources" / "roy" / "beran_roy_structures.xyz.bz2"
SETS = {
    "all-atoms": {"preset": "ani2x", "neighbours": "all", "pooling": "atoms"},
    "inter-atoms": {"preset": "ani2x", "neighbours": "intermolecular", "pooling": "atoms"},
}


def timed(cmd: list[str], log: Path, threads: int = 1) -> dict:
    """Run ``cmd`` with ``threads`` BLAS/numba threads; wall seconds, CPU seconds (process tree) and
    peak RSS (MB) of its largest process."""
    t = str(threads)
    env = dict(os.environ, OPENBLAS_NUM_THREADS=t, OMP_NUM_THREADS=t, MKL_NUM_THREADS=t,
               NUMBA_NUM_THREADS=t, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    t0 = time.perf_counter()
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed:\n{log.read_text()[-3000:]}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024}


def replicate(src: Path, size: int, out: Path, seed: int = 0) -> int:
    """Write ROY into the folder ``out``, one extxyz file per copy (jittered after the first), until
    it holds ``size`` structures; returns the structure count."""
    from ase.io import read, write

    frames = read(src, index=":", format="extxyz")
    rng = np.random.default_rng(seed)
    for atoms in frames:  # ase moves `energy` into a calculator on reading: back into info
        if atoms.calc is not None:
            atoms.info["energy"] = atoms.get_potential_energy()
            atoms.calc = None
    written = 0
    out.mkdir(parents=True, exist_ok=True)
    for r in range(math.ceil(size / len(frames))):
        copies = []
        for atoms in frames[: size - written]:
            a = atoms.copy()
            a.info = dict(atoms.info)
            if r:
                a.positions += rng.normal(0.0, 0.005, a.positions.shape)
                a.info["name"] = f"{atoms.info['name']}_r{r}"
            copies.append(a)
        write(out / f"copy{r:04d}.extxyz", copies, format="extxyz")
        written += len(copies)
    return written


def centre_atoms(manifest: Path) -> float:
    """Atoms of the symmetry-independent molecules over the landscape (the descriptor stage's unit of work)."""
    import pandas as pd

    man = pd.read_csv(manifest, usecols=["n_atoms", "z", "zprime"])
    return float((man.n_atoms / man.z.clip(lower=1) * man.zprime).sum())


def fetch_roy() -> Path:
    if not ROY.exists():
        subprocess.run([str(BIN / "latentcsp"), "fetch-roy", "--out", str(ROY)], check=True)
    return ROY


def bench(sizes, sets, ranks, analysis, workdir: Path, stages=("descriptors", "analyse"), threads: int = 1,
          latent: dict | None = None, latent_pdd: bool = True) -> list[dict]:
    rows = []
    src = fetch_roy()
    for size in sizes:
        d = workdir / f"n{size}"
        d.mkdir(parents=True, exist_ok=True)
        xyz = d / "roy"
        n = replicate(src, size, xyz)
        spec = json.dumps({"source": str(xyz), "format": "extxyz"})
        r = timed([str(BIN / "latentcsp"), "ingest", "--name", "roy", "--spec", spec, "--outdir", str(d)],
                  d / "ingest.log")
        shutil.rmtree(xyz)
        atoms = centre_atoms(d / "manifest.csv")
        rows.append({"stage": "ingest", "n": n, "ranks": 1, **r})
        print(_row(rows[-1]), flush=True)
        timed([str(BIN / "latentcsp"), "select", "--manifest", str(d / "manifest.csv"), "--windows", "1000",
               "--spacegroups", "all", "--min-group-size", "2", "--out", str(d / "groups.csv")], d / "select.log")
        for name in sets if "descriptors" in stages else []:
            for nr in ranks:
                out = d / f"{name}.{nr}.h5"
                cmd = [str(BIN / "latentcsp"), "descriptors", "--structures", str(d / "structures.h5"),
                       "--groups", str(d / "groups.csv"), "--group", "all", "--set-name", name,
                       "--set", json.dumps(SETS[name]), "--chunk", "512", "--threads", "1", "--out", str(out)]
                if nr > 1:
                    cmd = [str(BIN / "mpiexec"), "-n", str(nr)] + cmd + ["--mpi"]
                r = timed(cmd, d / f"descriptors.{name}.{nr}.log")
                rows.append({"stage": f"descriptors {name}", "n": n, "ranks": nr, "centre_atoms": atoms,
                             "file_mb": out.stat().st_size / 1e6, **r})
                print(_row(rows[-1]), flush=True)
                if nr != ranks[0]:
                    out.unlink()
            if "analyse" not in stages:
                continue
            r = timed([str(BIN / "latentcsp"), "analyse", "--descriptors", str(d / f"{name}.{ranks[0]}.h5"),
                       "--groups", str(d / "groups.csv"), "--manifest", str(d / "manifest.csv"),
                       "--window", "1000", "--group", "all", "--settings", json.dumps(analysis),
                       "--outdir", str(d / f"analysis-{name}")], d / f"analyse.{name}.log", threads)
            rows.append({"stage": f"analyse {name}", "n": n, "ranks": 1, "threads": threads,
                         "input_mb": (d / f"{name}.{ranks[0]}.h5").stat().st_size / 1e6, **r,
                         "phases": _phases(d / f"analyse.{name}.log"),
                         "result": _result(d / f"analysis-{name}" / "pca.json")})
            print(_row(rows[-1]), flush=True)
            if "latent" not in stages:
                continue
            out = d / f"latent-{name}"
            r = timed([str(BIN / "latentcsp"), "latent", "--descriptors", str(d / f"{name}.{ranks[0]}.h5"),
                       "--scores", str(d / f"analysis-{name}" / "scores.csv"),
                       "--pca", str(d / f"analysis-{name}" / "pca.json"), "--settings", json.dumps(latent or {}),
                       "--outdir", str(out)] + (["--structures", str(d / "structures.h5")] if latent_pdd else []),
                      d / f"latent.{name}.log")
            rows.append({"stage": f"latent {name}", "n": n, "ranks": 1, **r, "result": _latent_result(out)})
            print(_row(rows[-1]), flush=True)
        shutil.rmtree(d)
    return rows


def _result(pca_json: Path) -> dict:
    """What the analysis found: its counts, elbow, rank and solver."""
    pca = json.loads(pca_json.read_text())
    return {k: pca.get(k) for k in ("n_samples", "solver", "rank", "n_components", "elbow", "truncated")}


def _latent_result(outdir: Path) -> dict:
    """What the latent stage found and where its time went (metrics.json)."""
    metrics = json.loads((outdir / "metrics.json").read_text())
    fits = {name: {k: m["fit"].get(k) for k in ("epochs", "n_train", "n_val", "seconds")}
            for name, m in metrics.get("models", {}).items()}
    return {"knee_width": metrics.get("knee_width"), "subsample": metrics.get("subsample"), "fits": fits,
            "timings_s": metrics.get("timings_s"), "job": metrics.get("job"),
            "coordinates": sum(1 for _ in open(outdir / "coordinates.csv")) - 1}


def _phases(log: Path) -> list[str]:
    """The analysis log's lines that time its phases."""
    return [line for line in log.read_text().splitlines() if line.startswith("[analyse")]


def _row(r: dict) -> str:
    return (f"{r['stage']:<24} n={r['n']:>6} ranks={r['ranks']}  wall {r['wall_s']:8.1f} s  "
            f"cpu {r['cpu_s']:8.1f} s  {1e3 * r['wall_s'] / r['n']:8.2f} ms/structure  peak {r['peak_mb']:7.0f} MB")


def power_law(ns, ts) -> tuple[float, float]:
    """(a, b) of t = a n^b, least squares in log-log."""
    if len(ns) < 2:
        return ts[0] / ns[0], 1.0
    b, log_a = np.polyfit(np.log(ns), np.log(ts), 1)
    return float(math.exp(log_a)), float(b)


def linear(ns, ys) -> tuple[float, float]:
    """(intercept, slope) of y = intercept + slope n; with one size, no intercept."""
    if len(ns) < 2:
        return 0.0, ys[0] / ns[0]
    slope, intercept = np.polyfit(ns, ys, 1)
    return float(intercept), float(slope)


def model(rows: list[dict]) -> dict:
    """Fitted costs per (stage, ranks): startup + per-structure slope (wall and CPU), power-law
    exponent of the CPU time, memory = base + per-structure slope."""
    out = {}
    for stage in sorted({r["stage"] for r in rows}):
        for nr in sorted({r["ranks"] for r in rows if r["stage"] == stage}):
            sub = sorted((r for r in rows if r["stage"] == stage and r["ranks"] == nr), key=lambda r: r["n"])
            ns = [r["n"] for r in sub]
            walls, cpus, mems = ([r[k] for r in sub] for k in ("wall_s", "cpu_s", "peak_mb"))
            entry = {"n": ns, "wall_s": walls, "cpu_s": cpus, "peak_mb": mems,
                     "wall_linear": linear(ns, walls), "cpu_linear": linear(ns, cpus),
                     "cpu_power_law": power_law(ns, cpus), "memory_linear": linear(ns, mems)}
            if "centre_atoms" in sub[-1]:
                entry["centre_atoms_per_structure"] = sub[-1]["centre_atoms"] / sub[-1]["n"]
                entry["file_mb_per_structure"] = sub[-1]["file_mb"] / sub[-1]["n"]
            out[f"{stage} @{nr}"] = entry
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--structures", type=int, nargs="+", default=[10_000, 100_000], help="landscape sizes")
    ap.add_argument("--quick", action="store_true", help="2 640 and 10 560 structures")
    ap.add_argument("--ranks", type=int, nargs="+", default=[1], help="MPI ranks of the descriptor runs")
    ap.add_argument("--descriptor-sets", nargs="+", default=["all-atoms"], choices=sorted(SETS))
    ap.add_argument("--estimators", nargs="+", default=["TwoNN", "MLE", "DANCo", "lPCA", "GRIDE"])
    ap.add_argument("--n-boot", type=int, default=20)
    ap.add_argument("--subsample", type=int, default=2000, help="analysis.subsample")
    ap.add_argument("--stages", nargs="+", default=["descriptors", "analyse"],
                    choices=["descriptors", "analyse", "latent"],
                    help="stages after ingest (which always runs: it makes the landscape); analyse needs "
                         "descriptors, latent needs analyse")
    ap.add_argument("--latent-settings", type=json.loads, default={"max_width": 12, "n_folds": 5, "seed": 0},
                    help="the latent config section, JSON (default: the config's)")
    ap.add_argument("--latent-no-pdd", action="store_true",
                    help="run the latent stage without the structures: no PDD similarity, no chemiscope dataset")
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads of the analysis (the others: 1)")
    ap.add_argument("--json", type=Path, help="write rows and model here")
    ap.add_argument("--workdir", type=Path, default=None, help="scratch folder (default: a temporary one)")
    args = ap.parse_args()
    sizes = [2640, 10560] if args.quick else args.structures
    analysis = {"estimators": args.estimators, "n_boot": args.n_boot, "min_size": 20, "thresholds": [0.8, 0.9],
                "subsample": args.subsample}
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="latentcsp-scale-"))
    print(f"# {os.uname().machine}, {os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}; scratch {workdir}")
    rows = bench(sizes, args.descriptor_sets, args.ranks, analysis, workdir, args.stages, args.threads,
                 args.latent_settings, not args.latent_no_pdd)
    fitted = model(rows)
    print("\n# cost model: t = startup + slope * n (CPU seconds of the process tree), b = exponent of a power law")
    for key, m in fitted.items():
        t0, c = m["cpu_linear"]
        m0, mc = m["memory_linear"]
        extra = ""
        if "centre_atoms_per_structure" in m:
            extra = (f"  {1e3 * c / m['centre_atoms_per_structure']:.3f} ms/centre atom"
                     f"  {m['file_mb_per_structure'] * 1e3:.0f} kB/structure on disk")
        print(f"{key:<28} startup {t0:6.1f} s  {1e3 * c:8.2f} ms/structure  b={m['cpu_power_law'][1]:.2f}  "
              f"memory {m0:6.0f} MB + {1e3 * mc:7.1f} kB/structure{extra}")
    if args.json:
        args.json.write_text(json.dumps({"load": os.getloadavg(), "cpus": os.cpu_count(), "rows": rows,
                                         "model": fitted}, indent=1))
        print(f"written {args.json}")
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
