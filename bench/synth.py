"""Speed of the quasi-random generator, per core (one process, numba single-threaded).

    python bench/synth.py [--molecule config/molecules/anti-BDT.xyz] [--spacegroups P21/c P-1 C2/c]
                          [--trials 20] [--minimisations 8]

Reports, per space group:
* trials/s: clash-free quasi-random trial structures per second (Sobol points tried,
  rejected ones included), excluding writing files;
* energy+gradient evaluations per second at the trial structures;
* minimisations/s: rigid-body L-BFGS-B minimisations per second, with the mean
  number of energy evaluations per minimisation.
Times are CPU time of this process (time.process_time), so the figures are per core
even on a loaded machine. Numba compilation is excluded (a warm-up call first).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from latentcsp.synth import CrystalModel, MinimiseOptions, SamplingOptions, read_xyz
from latentcsp.synth.sampling import sample_trials
from latentcsp.synth.minimise import minimise

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--molecule", default=str(ROOT / "config" / "molecules" / "anti-BDT.xyz"))
    ap.add_argument("--spacegroups", nargs="+", default=["P21/c", "P-1", "P212121", "C2/c"])
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--minimisations", type=int, default=8)
    args = ap.parse_args(argv)
    mol = read_xyz(args.molecule)
    print(f"{mol.name}: {mol.n_atoms} atoms, cutoff 15 Å, one core")
    print(f"{'group':8s} {'Z':>2s} {'trials/s':>9s} {'accept':>7s} {'E+grad/s':>9s} {'min/s':>7s} {'evals/min':>9s}")
    tot_trials = tot_t = tot_min = tot_m = 0.0
    for sg in args.spacegroups:
        model = CrystalModel(mol, sg)
        sample_trials(model, 1, 99, SamplingOptions())  # warm-up (compilation)
        t0 = time.process_time()
        trials, attempts = sample_trials(model, args.trials, 0, SamplingOptions())
        t_trials = time.process_time() - t0
        model.energy_and_gradient(trials[0])
        t0 = time.process_time()
        for th in trials:
            model.energy_and_gradient(th)
        t_eval = (time.process_time() - t0) / len(trials)
        t0 = time.process_time()
        res = [minimise(model, th, MinimiseOptions()) for th in trials[: args.minimisations]]
        t_min = time.process_time() - t0
        evals = np.mean([r.n_eval for r in res])
        print(f"{model.sg.symbol:8s} {model.sg.z:2d} {len(trials) / t_trials:9.1f} {len(trials) / attempts:7.1%} "
              f"{1 / t_eval:9.0f} {len(res) / t_min:7.2f} {evals:9.0f}")
        tot_trials += len(trials)
        tot_t += t_trials
        tot_min += len(res)
        tot_m += t_min
    print(f"{'all':8s} {'':2s} {tot_trials / tot_t:9.1f} {'':7s} {'':9s} {tot_min / tot_m:7.2f}")


if __name__ == "__main__":
    main()
