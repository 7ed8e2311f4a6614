"""Benchmark of the autoencoder width sweep (latentcsp.latent.width_sweep).

Two measurements, both on synthetic descriptors (a 6-d curved manifold with
noise embedded in --features dimensions, the size of real symmetry-function
vectors), with the library's default autoencoder settings
(latentcsp.latent.DEFAULT_CONFIG) and one torch/BLAS thread per job:

1. per-width: seconds per bottleneck width per 1 000 structures, i.e. the
   k-fold sweep (--folds, default 5) of one width on 1 000 structures;
2. roy: the whole default sweep (widths 1..12, 5 folds) over groups with the
   sizes of the ROY landscape's groups (264 structures; windows 10 and
   20 kJ/mol x {all, top-10 space groups}, groups below 10 structures
   skipped as run_group does), run as --jobs parallel jobs like
   `snakemake --cores 2`. Reports the wall time, the CPU time, and the wall
   time those CPU times would take on idle cores (the machine may be shared:
   compare the load average printed first).

    python bench/latent.py                  # both, default sizes
    python bench/latent.py --only per-width --widths 1 4 12
    python bench/latent.py --only roy --jobs 2 --features 2000

Prints a small table and one JSON line per measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

# Group sizes of ROY (Beran et al. 2022, shared/data/roy-beran2022): structures
# within 10 and 20 kJ/mol of the minimum, all space groups together and the
# ten most common ones (P21/c, C2/c, P-1, Pbca, Fdd2, Pna21, P212121, P2/c,
# Pbcn, C2). Groups with fewer than 10 structures are skipped by run_group.
ROY_GROUPS = {
    10: [174, 79, 19, 24, 11, 6, 6, 4, 4, 4, 3],
    20: [264, 120, 36, 28, 17, 9, 8, 8, 7, 6, 5],
}
MIN_STRUCTURES = 10


def _data(n: int, d: int, seed: int) -> np.ndarray:
    from latentcsp.latent.synthetic import nonlinear_manifold

    return nonlinear_manifold(n, 6, d, noise=0.05, seed=seed)


def _sweep_params() -> dict:
    from latentcsp.latent.group import DEFAULT_CONFIG

    p = dict(DEFAULT_CONFIG["autoencoder"])
    p["hidden"] = tuple(p["hidden"])
    p["n_threads"] = 1
    return p


def _one_group(args) -> dict:
    n, d, widths, folds, seed = args
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from latentcsp.latent import width_sweep

    X = _data(n, d, seed)
    t, c = time.perf_counter(), time.process_time()
    sw = width_sweep(X, widths, n_folds=folds, seed=seed, **_sweep_params())
    return {"n": n, "seconds": time.perf_counter() - t, "cpu_seconds": time.process_time() - c,
            "epochs_mean": float(sw["ae_epochs"].mean())}


def per_width(n: int, d: int, widths, folds: int) -> list[dict]:
    from latentcsp.latent import width_sweep

    X = _data(n, d, 0)
    width_sweep(X[:40], [1], n_folds=2, max_epochs=2)  # warm-up: torch import, kernels
    rows = []
    for w in widths:
        t, c = time.perf_counter(), time.process_time()
        sw = width_sweep(X, [w], n_folds=folds, seed=0, **_sweep_params())
        dt, dc = time.perf_counter() - t, time.process_time() - c
        rows.append({"measure": "per-width", "width": w, "n": n, "d": d, "folds": folds,
                     "seconds": dt, "seconds_per_width_per_1000": dt * 1000.0 / n,
                     "cpu_seconds_per_width_per_1000": dc * 1000.0 / n,
                     "epochs_mean": float(sw["ae_epochs"].mean()),
                     "ae_mse": float(sw["ae_mse"].mean()), "pca_mse": float(sw["pca_mse"].mean())})
    return rows


def _ideal_wall(costs, jobs: int) -> float:
    """Wall time of the jobs on ``jobs`` idle cores (greedy, largest first), from CPU times."""
    lanes = [0.0] * jobs
    for c in sorted(costs, reverse=True):
        lanes[lanes.index(min(lanes))] += c
    return float(max(lanes))


def roy(d: int, jobs: int, max_width: int, folds: int) -> dict:
    sizes = [n for w in ROY_GROUPS.values() for n in w if n >= MIN_STRUCTURES]
    widths = list(range(1, max_width + 1))
    tasks = [(n, d, widths, folds, i) for i, n in enumerate(sorted(sizes, reverse=True))]
    t = time.perf_counter()
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        res = list(pool.map(_one_group, tasks))
    wall = time.perf_counter() - t
    return {"measure": "roy", "groups": len(sizes), "structures": int(sum(sizes)), "d": d,
            "widths": f"1..{max_width}", "folds": folds, "jobs": jobs, "wall_seconds": wall,
            "job_seconds": float(sum(r["seconds"] for r in res)),
            "cpu_seconds": float(sum(r["cpu_seconds"] for r in res)),
            "ideal_wall_seconds": _ideal_wall([r["cpu_seconds"] for r in res], jobs),
            "per_group": [{"n": r["n"], "seconds": round(r["seconds"], 2),
                           "cpu_seconds": round(r["cpu_seconds"], 2),
                           "epochs_mean": round(r["epochs_mean"], 1)} for r in res]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=["per-width", "roy"], default=None)
    ap.add_argument("--n", type=int, default=1000, help="structures for per-width (default 1000)")
    ap.add_argument("--features", type=int, default=2000, help="descriptor length (default 2000)")
    ap.add_argument("--widths", type=int, nargs="+", default=[1, 4, 12])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=2, help="parallel jobs for roy (default 2)")
    ap.add_argument("--max-width", type=int, default=12)
    a = ap.parse_args(argv)
    try:
        load = os.getloadavg()[0]
    except OSError:  # pragma: no cover
        load = float("nan")
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, load {load:.1f}")
    if a.only in (None, "per-width"):
        rows = per_width(a.n, a.features, a.widths, a.folds)
        print(f"{'width':>5} {'s/width/1000':>13} {'cpu s':>7} {'epochs':>7} {'ae_mse':>7} {'pca_mse':>7}")
        for r in rows:
            print(f"{r['width']:>5} {r['seconds_per_width_per_1000']:>13.1f} "
                  f"{r['cpu_seconds_per_width_per_1000']:>7.1f} {r['epochs_mean']:>7.0f} "
                  f"{r['ae_mse']:>7.3f} {r['pca_mse']:>7.3f}")
            print(json.dumps(r))
    if a.only in (None, "roy"):
        r = roy(a.features, a.jobs, a.max_width, a.folds)
        print(f"roy-sized sweep: {r['groups']} groups, {r['structures']} structures, widths {r['widths']}, "
              f"{r['folds']} folds, {r['jobs']} jobs: {r['wall_seconds']:.0f} s wall, "
              f"{r['cpu_seconds']:.0f} CPU s summed over jobs, "
              f"{r['ideal_wall_seconds']:.0f} s wall on {r['jobs']} idle cores")
        print(json.dumps(r))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
