"""Command line of the generator (:mod:`latentcsp.synth`).

``latentcsp synth --molecule config/molecules/anti-BDT.xyz
--spacegroup P21/c --n-trials 60 --seed 0 --out results/synth/anti-BDT``
writes ``trial/``, ``minima/``, ``dof_<SG>.csv`` tables and ``summary_<SG>.json``;
``latentcsp synth-merge results/synth/anti-BDT`` joins the per-group tables
into ``trial/dof.csv`` and ``minima/dof.csv``; ``latentcsp synth-ensemble --molecule m.xyz
--spacegroup P-1 --free a,gamma,rot_z,x --scheme gaussian --amplitude 0.5 --n 1000
--out test/pyridine-d4`` writes a landscape of known dimension (4) as P1 CIFs with an
energy table, to check the calibrated dimension on.

:func:`add_parsers` hangs both under the main ``latentcsp`` command.  It lives
outside the ``synth`` package so that building the command line does not
import the generator (scipy.stats, pandas, the force field: ~1 s per call of
every ``latentcsp`` stage).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..cli import json_argument


def _add_generate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--molecule", required=True, type=Path, help="rigid molecule, XYZ file")
    p.add_argument("--name", default=None, help="molecule name (default: the file stem)")
    p.add_argument("--spacegroup", required=True, help="symbol (P21/c, P2_1/c) or number")
    p.add_argument("--n-trials", type=int, default=60, help="clash-free trial structures (default 60)")
    p.add_argument("--seed", type=int, default=0, help="Sobol scrambling seed")
    p.add_argument("--no-minimise", dest="minimise", action="store_false", help="write trials only")
    p.add_argument("--cutoff", type=float, default=15.0, help="exp-6 cutoff, Å (default 15)")
    p.add_argument("--sampling", type=json_argument, default={}, help="SamplingOptions overrides, JSON")
    p.add_argument("--minimisation", type=json_argument, default={}, help="MinimiseOptions overrides, JSON")
    p.add_argument("--out", required=True, type=Path, help="the molecule's output folder")
    p.set_defaults(func=cmd_generate)


def cmd_generate(args) -> dict:
    from ..synth.generate import generate

    summary = generate(args.molecule, args.spacegroup, n_trials=args.n_trials, seed=args.seed,
                       minimise=args.minimise, out_dir=args.out, name=args.name, cutoff=args.cutoff,
                       sampling=args.sampling, minimisation=args.minimisation)
    line = (f"{summary['molecule']} {summary['spacegroup']}: {summary['n_trials']} trials "
            f"({summary['acceptance']:.1%} of Sobol points clash-free)")
    if "n_unique_minima" in summary:
        line += (f", {summary['n_converged']} converged, {summary['n_unique_minima']} unique minima, "
                 f"E_min {summary['minima_energy'].get('min', float('nan')):.2f} kJ/mol")
    print(line + f", {summary['seconds_total']:.1f} s", file=sys.stderr)
    return summary


def _add_merge_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("folder", type=Path, help="a molecule's output folder")
    p.set_defaults(func=cmd_merge)


def cmd_merge(args) -> None:
    from ..synth.generate import merge_dof_tables

    for sub in ("trial", "minima"):
        if (args.folder / sub).is_dir():
            table = merge_dof_tables(args.folder / sub)
            print(f"{args.folder / sub / 'dof.csv'}: {len(table)} rows", file=sys.stderr)


def _add_ensemble_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--molecule", required=True, type=Path, help="rigid molecule, XYZ file")
    p.add_argument("--name", default=None, help="molecule name (default: the file stem)")
    p.add_argument("--spacegroup", required=True, help="symbol (P21/c, P2_1/c) or number")
    p.add_argument("--free", required=True, help="the DoF that vary, comma-separated (a,b,c,alpha,beta,gamma,"
                                                 "rot_x,rot_y,rot_z,x,y,z, as the group has them); the rest frozen")
    p.add_argument("--scheme", default="local", choices=["full", "local", "gaussian"],
                   help="full range, uniform around a dense packing, or normal around it (default local)")
    p.add_argument("--amplitude", type=json_argument, default=1.0,
                   help="local half-width or gaussian standard deviation in steps of 0.5 Å, 5°, 0.2 rad, 0.05: "
                        "a number, or JSON per kind, e.g. '{\"length\": 0.5, \"rotation\": 2}' (default 1)")
    p.add_argument("--full-kinds", default="", help="kinds sampled over the full range in a local scheme, "
                                                   "comma-separated: length, angle, rotation, position")
    p.add_argument("--sequence", default="random", choices=["random", "sobol"], help="default random")
    p.add_argument("--n", type=int, default=1000, help="crystals (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the packing and the sampling")
    p.add_argument("--out", required=True, type=Path, help="output folder: cif/, energies.csv, dof.csv, truth.json")
    p.set_defaults(func=cmd_ensemble)


def cmd_ensemble(args) -> dict:
    from ..synth.ensembles import Ensemble
    from ..synth.generate import write_ensemble

    try:
        ensemble = Ensemble(tuple(f.strip() for f in args.free.split(",") if f.strip()), args.scheme,
                            args.amplitude, args.sequence,
                            tuple(k.strip() for k in args.full_kinds.split(",") if k.strip()))
        truth = write_ensemble(args.molecule, args.spacegroup, ensemble, args.n, args.out, args.seed, args.name)
    except (ValueError, OSError) as exc:  # unknown DoF, kind or group; too few clash-free crystals; no file
        sys.exit(f"latentcsp synth-ensemble: {exc}")
    print(f"{truth['molecule']} {truth['spacegroup']}: {truth['n']} crystals of dimension {truth['d']} "
          f"({ensemble.label()}; {truth['proposals']} proposals) in {args.out}", file=sys.stderr)
    return truth


def add_parsers(sub) -> None:
    """Register ``synth``, ``synth-merge`` and ``synth-ensemble`` on an argparse subparsers object."""
    _add_generate_args(sub.add_parser("synth", help="quasi-random rigid-molecule landscape for one space group"))
    _add_merge_args(sub.add_parser("synth-merge", help="join a molecule's per-group dof tables into dof.csv"))
    _add_ensemble_args(sub.add_parser("synth-ensemble", help="a landscape of known dimension (some DoF frozen) "
                                                             "as P1 CIFs with an energy table"))
