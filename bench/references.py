"""Speed of the calibration's reference ladders (the generator's clash-checked sampling), per core.

    python bench/references.py [--molecule config/molecules/anti-BDT.xyz] [--spacegroups P21/c P-1]
                               [--structures 200]

For each space group: the default ladder (:class:`latentcsp.calibration.references.LadderDesign`,
every DoF subset and scheme) around a clash-free trial packing, ``--structures`` crystals per
ensemble, as the ``references`` job makes it. Prints the ensembles, the crystals kept, the
proposals checked for clashes (rejected ones included), CPU seconds and microseconds per
proposal. CPU time of this process (time.process_time); numba compilation excluded (a
warm-up first).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from latentcsp.calibration.references import MAX_PROPOSALS, LadderDesign
from latentcsp.synth import CrystalModel, read_xyz
from latentcsp.synth.ensembles import sample
from latentcsp.synth.sampling import sample_trials

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--molecule", default=str(ROOT / "config" / "molecules" / "anti-BDT.xyz"))
    ap.add_argument("--spacegroups", nargs="+", default=["P21/c", "P-1"])
    ap.add_argument("--structures", type=int, default=200, help="crystals per ensemble (the group's size)")
    args = ap.parse_args(argv)
    mol = read_xyz(args.molecule)
    design = LadderDesign()
    print(f"{mol.name}: {mol.n_atoms} atoms, {args.structures} crystals per ensemble, one core")
    print(f"{'group':8s} {'ensembles':>9s} {'kept':>8s} {'proposals':>10s} {'CPU s':>7s} {'us/proposal':>11s}")
    for sg in args.spacegroups:
        model = CrystalModel(mol, sg)
        base = sample_trials(model, 1, 0)[0][0]  # also the warm-up (compilation)
        ladder = design.ensembles(list(model.names))
        t0 = time.process_time()
        kept = proposals = 0
        for k, ens in enumerate(ladder):
            thetas, used = sample(model, ens, base, args.structures, seed=k,
                                  max_attempts=MAX_PROPOSALS * args.structures)
            kept, proposals = kept + len(thetas), proposals + used
        cpu = time.process_time() - t0
        print(f"{model.sg.symbol:8s} {len(ladder):9d} {kept:8d} {proposals:10d} {cpu:7.1f} {1e6 * cpu / proposals:11.1f}")


if __name__ == "__main__":
    main()
