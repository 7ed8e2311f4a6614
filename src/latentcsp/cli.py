"""``latentcsp <stage>``: the command line each Snakemake rule calls.

Stages take their settings as JSON (the rule's slice of the validated config)
so that a rule stays one line and the library stays testable on its own.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _json(text: str) -> dict:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON: {exc}") from exc


def _spacegroups(text: str):
    return text if text in ("top10", "all") else _json(text)


def cmd_fetch_roy(args) -> None:
    from .datasets import fetch_roy

    path = fetch_roy(args.out)
    print(f"ROY landscape written to {path}", file=sys.stderr)


def cmd_ingest(args) -> None:
    from .ingest import LandscapeError, LandscapeSpec, ingest, write_landscape
    from .structure import Options

    spec = LandscapeSpec.from_config(args.name, args.spec)
    opts = Options(**args.options)
    try:
        result = ingest(spec, opts)
    except (LandscapeError, FileNotFoundError) as exc:
        sys.exit(f"latentcsp ingest: {exc}")
    write_landscape(result, args.outdir)
    print(result.summary(args.name), file=sys.stderr)


def cmd_select(args) -> None:
    from .select import group_sizes, make_groups
    from .store import read_manifest, write_csv

    groups = make_groups(read_manifest(args.manifest), args.windows, args.spacegroups)
    write_csv(groups, args.out)
    sizes = group_sizes(groups)
    print(f"{len(sizes)} groups: " + ", ".join(f"{w}/{g}={n}" for w, g, n in sizes.itertuples(index=False)),
          file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="latentcsp",
        description="Dimensionality and latent spaces of crystal structure prediction landscapes. "
                    "Each subcommand is one stage of the Snakemake workflow.",
    )
    sub = parser.add_subparsers(dest="stage", required=True, metavar="STAGE")

    p = sub.add_parser("fetch-roy", help="download the ROY landscape (skmatter 0.2.0 wheel)")
    p.add_argument("--out", required=True, type=Path, help="output .xyz.bz2 path")
    p.set_defaults(func=cmd_fetch_roy)

    p = sub.add_parser("ingest", help="read one landscape into structures.h5, manifest.csv, quarantine.csv")
    p.add_argument("--name", required=True, help="landscape name")
    p.add_argument("--spec", required=True, type=_json, help="the landscape's config entry, JSON")
    p.add_argument("--options", type=_json, default={}, help="structure check options, JSON")
    p.add_argument("--outdir", required=True, type=Path)
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("select", help="energy-window x space-group groups of a landscape (groups.csv)")
    p.add_argument("--manifest", required=True, type=Path)
    p.add_argument("--windows", required=True, type=float, nargs="+", help="kJ/mol above the minimum")
    p.add_argument("--spacegroups", type=_spacegroups, default="top10",
                   help='top10, all, or a JSON list of symbols/numbers')
    p.add_argument("--out", required=True, type=Path)
    p.set_defaults(func=cmd_select)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
