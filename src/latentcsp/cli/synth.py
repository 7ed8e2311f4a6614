"""Command line of the generator (:mod:`latentcsp.synth`).

``latentcsp synth --molecule config/molecules/anti-BDT.xyz
--spacegroup P21/c --n-trials 60 --seed 0 --out results/synth/anti-BDT``
writes ``trial/``, ``minima/``, ``dof_<SG>.csv`` tables and ``summary_<SG>.json``;
``latentcsp synth-merge results/synth/anti-BDT`` joins the per-group tables
into ``trial/dof.csv`` and ``minima/dof.csv``.

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


def add_parsers(sub) -> None:
    """Register ``synth`` and ``synth-merge`` on an argparse subparsers object."""
    _add_generate_args(sub.add_parser("synth", help="quasi-random rigid-molecule landscape for one space group"))
    _add_merge_args(sub.add_parser("synth-merge", help="join a molecule's per-group dof tables into dof.csv"))
