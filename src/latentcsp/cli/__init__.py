"""``latentcsp <stage>``: the command line each Snakemake rule calls.

Stages take their settings as JSON (the rule's slice of the validated config)
so that a rule stays one line and the library stays testable on its own.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import time
from pathlib import Path


def json_argument(text: str) -> dict:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON: {exc}") from exc


def _spacegroups(text: str):
    return text if text in ("top10", "all") else json_argument(text)


def cmd_fetch_roy(args) -> None:
    from ..datasets import fetch_roy

    path = fetch_roy(args.out)
    print(f"ROY landscape written to {path}", file=sys.stderr)


def cmd_ingest(args) -> None:
    from ..ingest import LandscapeError, LandscapeSpec, ingest_to, write_quarantine
    from ..store import job_record, write_json
    from ..structure.crystal import Options

    start = time.perf_counter()
    spec = LandscapeSpec.from_config(args.name, args.spec)
    opts = Options(**args.options)
    try:
        result = ingest_to(spec, args.outdir, opts)
    except LandscapeError as exc:
        written = "" if exc.quarantine is None else f"\nreasons written to {write_quarantine(exc.quarantine, args.outdir)}"
        sys.exit(f"latentcsp ingest: {exc}{written}")
    except FileNotFoundError as exc:
        sys.exit(f"latentcsp ingest: {exc}")
    write_json({**result.record(args.name), "job": job_record(start)}, args.outdir / "ingest.json")
    print(result.summary(args.name), file=sys.stderr)


def cmd_sources(args) -> None:
    from ..ingest import LandscapeSpec, source_listing
    from ..store import write_csv

    listing = source_listing(LandscapeSpec.from_config(args.name, args.spec))
    write_csv(listing, args.out)
    print(f"sources {args.name}: {len(listing)} files, {listing.bytes.sum() / 1e6:.1f} MB", file=sys.stderr)


def cmd_select(args) -> None:
    from ..select import make_groups, selection, write_stamps
    from ..store import job_record, read_manifest, write_csv, write_json

    start = time.perf_counter()
    manifest = read_manifest(args.manifest)
    groups = make_groups(manifest, args.windows, args.spacegroups)
    chosen = selection(args.name, manifest, groups, args.windows, args.spacegroups, args.min_group_size)
    write_csv(groups, args.out)
    if args.selection:
        write_json({**chosen, "job": job_record(start)}, args.selection)
    if args.stamps:
        write_stamps(groups, manifest, chosen, args.stamps)
    ok = [f"{g['window']}/{g['group']}={g['n']}" for g in chosen["groups"] if g["status"] == "ok"]
    skipped = [g for g in chosen["groups"] if g["status"] != "ok"]
    print(f"{args.name}: {len(ok)} groups analysed: {', '.join(ok)}; {len(skipped)} skipped", file=sys.stderr)
    for why in dict.fromkeys(g["reason"] for g in skipped):
        print(f"  skipped: {why}", file=sys.stderr)


def _planned(args, window: str | None = None) -> dict:
    """The group's entry in the landscape's selection.json (``--selection``), else "ok"."""
    if not args.selection:
        return {"status": "ok", "reason": None}
    from ..select import entry
    from ..store import read_json

    return entry(read_json(args.selection), args.group, window)


def cmd_descriptors(args) -> None:
    planned = _planned(args)
    if planned["status"] != "ok":
        from ..descriptors.stage import write_skipped

        write_skipped(args.out, planned["reason"])
        print(f"descriptors {args.set_name}/{args.group}: skipped: {planned['reason']}", file=sys.stderr)
        return
    import numba

    from ..descriptors.stage import Communicator, DescriptorSet, compute_group
    from ..store import read_groups, read_structures

    if args.threads:
        numba.set_num_threads(args.threads)
    comm = Communicator(args.mpi)
    groups = read_groups(args.groups)
    ids = list(dict.fromkeys(groups.id[groups.group == args.group]))
    if not ids:
        sys.exit(f"latentcsp descriptors: group {args.group!r} is not in {args.groups}")
    structures = read_structures(args.structures, ids)
    dset = DescriptorSet(args.set_name, **args.set)
    label = f"descriptors {args.set_name}/{args.group}" + (f" rank {comm.rank}/{comm.size}" if comm.size > 1 else "")
    try:
        report = compute_group(structures, dset, args.out, args.cache_dir, args.chunk, comm, label)
    except ValueError as exc:
        sys.exit(f"latentcsp descriptors: {exc}")
    if report is not None:
        print(report.line(label), file=sys.stderr)


def cmd_analyse(args) -> None:
    key = {"landscape": args.landscape, "set": args.set_name, "window": args.window, "group": args.group}
    title = f"{args.landscape} {args.group}, lowest {args.window} kJ/mol ({args.set_name})"
    planned = _planned(args, args.window)
    if planned["status"] != "ok":
        from ..store import SCORES_COLUMNS, write_skipped

        write_skipped(args.outdir, key, planned["reason"], ["pca.json", "id.json"], {"scores.csv": SCORES_COLUMNS})
        _placeholder(args.outdir / "pcmap", title, planned["reason"])
        print(f"{args.window}/{args.group}: skipped: {planned['reason']}", file=sys.stderr)
        return
    import pandas as pd

    from ..analysis.stage import AnalysisConfig, run
    from ..report.figures import pc_map, save

    cfg = AnalysisConfig.from_config(args.settings)
    line = run(args.descriptors, args.groups, args.manifest, args.window, args.group, args.outdir, cfg, key)
    scores = pd.read_csv(args.outdir / "scores.csv")
    save(pc_map(scores, title), args.outdir / "pcmap")
    print(line, file=sys.stderr)


def _placeholder(stem: Path, title: str, reason: str) -> None:
    """A figure that says why there is none (``stem``.svg, written as text: a skipped group's
    job takes a fraction of a second, as it would not if it imported matplotlib)."""
    from xml.sax.saxutils import escape

    from ..store import atomic_path

    lines = [title, *textwrap.wrap(f"skipped: {reason}", 90)]
    text = "".join(f'<text x="300" y="{28 + 20 * k}" font-size="{14 if k == 0 else 11}">{escape(line)}</text>'
                   for k, line in enumerate(lines))
    with atomic_path(stem.with_suffix(".svg")) as tmp:
        Path(tmp).write_text(f'<svg xmlns="http://www.w3.org/2000/svg" width="600" height="{20 * len(lines) + 30}" '
                             f'font-family="sans-serif" text-anchor="middle">{text}</svg>\n')


def cmd_references(args) -> None:
    from ..calibration.stage import CalibrationConfig, generate_references

    print(generate_references(args.structures, args.groups, args.min_size,
                              CalibrationConfig.from_config(args.calibration), args.out), file=sys.stderr)


def cmd_calibrate(args) -> None:
    from ..analysis.stage import AnalysisConfig
    from ..calibration.stage import CalibrationConfig, run
    from ..descriptors.stage import DescriptorSet

    line = run(args.landscape, args.structures, args.references, args.analyses, DescriptorSet(args.set_name, **args.set),
               AnalysisConfig.from_config(args.analysis), CalibrationConfig.from_config(args.calibration), args.outdir,
               groups_csv=args.groups)
    print(line, file=sys.stderr)


def cmd_summary(args) -> None:
    from ..report.summary import build

    written = build(args.results, args.pca, args.out, args.estimators, args.calibrations, args.sets)
    print(f"summary: {len(written)} files in {args.out}", file=sys.stderr)


def cmd_latent(args) -> None:
    from ..store import read_json

    pca = read_json(args.pca)
    key = pca.get("key") or {}
    title = f"{key.get('landscape', '')} {key.get('group', '')} L{key.get('window', '')}".strip()
    if pca.get("status", "ok") != "ok":
        from ..store import COORDINATES_COLUMNS, SWEEP_COLUMNS, write_skipped

        write_skipped(args.outdir, key, pca["reason"], ["metrics.json"],
                      {"sweep.csv": SWEEP_COLUMNS, "coordinates.csv": COORDINATES_COLUMNS})
        for figure in ("sweep", "map"):
            _placeholder(args.outdir / figure, title, pca["reason"])
        print(f"latent {title}: skipped: {pca['reason']}", file=sys.stderr)
        return
    import pandas as pd

    from ..latent.stage import run
    from ..report.figures import latent_maps, reconstruction_sweep, save

    results = run(args.descriptors, args.scores, args.pca, args.structures, args.outdir, args.settings)
    sweep = pd.read_csv(args.outdir / "sweep.csv")
    save(reconstruction_sweep(sweep, results.get("dof"), results.get("effective_dimension"),
                              results.get("effective_dimension_pca"), title,
                              resolution=results.get("resolution"), resolution_pca=results.get("resolution_pca")),
         args.outdir / "sweep")
    coords = pd.read_csv(args.outdir / "coordinates.csv", dtype={"id": str})
    save(latent_maps(coords, title), args.outdir / "map")
    if args.structures is not None:
        from ..report.chemiscope import write_dataset
        from ..store import read_structures

        scores = pd.read_csv(args.scores, dtype={"id": str})
        # a group larger than the analysis's subsample: the subsample's structures only, in bounded memory
        shown = coords[coords.id.isin(scores.id[scores.estimated.astype(bool)])] if "estimated" in scores else coords
        structures = read_structures(args.structures, shown.id)
        write_dataset(args.outdir / "chemiscope.json.gz", structures, shown, scores, title)
    if results.get("status") == "ok":
        line = (f"reconstruction knee (uncalibrated) AE {_resolved_value(results, '')}, "
                f"PCA {_resolved_value(results, '_pca')}, DoF {results.get('dof')}")
    else:
        line = f"skipped: {results.get('reason')}"
    print(f"latent {title}: {line}", file=sys.stderr)


def cmd_search(args) -> None:
    from ..descriptors.stage import DescriptorSet
    from ..search.stage import SearchSettings, run

    result = run(args.structures, args.manifest, args.descriptors, DescriptorSet(args.set_name, **args.set),
                 args.group, args.outdir, SearchSettings.from_config(args.settings), landscape=args.landscape,
                 molecule_xyz=args.molecule, dimensions_csv=args.dimensions, synth_seed=args.synth_seed)
    if result["status"] != "ok":
        line = f"skipped: {result['reason']}"
    else:
        line = (f"validity {result['validity']:.3f}, relaxed to known {result['relaxed_to_known']}, "
                f"{result['new_minima']} new minima")
        if "ratio" in result:
            line += (f"; new low-energy minima latent {result['low_energy_minima_latent']} vs Sobol "
                     f"{result['low_energy_minima_sobol']} for {result['budget']} minimisations")
    print(f"search {args.landscape} {args.group}: {line} ({result['seconds']:.0f} s)", file=sys.stderr)


def cmd_search_summary(args) -> None:
    from ..report.figures import save
    from ..search.figures import efficiency_figure
    from ..search.summary import gather, markdown, pooled_curves
    from ..store import atomic_path, write_csv

    table = gather(args.inputs)
    write_csv(table, args.out / "summary.csv")
    pooled = pooled_curves(args.inputs)
    write_csv(pooled, args.out / "efficiency.csv")
    save(efficiency_figure(pooled), args.out / "efficiency")
    with atomic_path(args.out / "summary.md") as tmp:
        Path(tmp).write_text(markdown(table))
    print(f"search summary: {len(table)} rows in {args.out}", file=sys.stderr)


def _resolved_value(results: dict, suffix: str) -> str:
    """'7', or 'unresolved: <reason>'."""
    res = results.get(f"resolution{suffix}")
    if res and res["resolved"]:
        return str(results[f"effective_dimension{suffix}"])
    return f"unresolved: {res['reason']}" if res else "not checked"


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

    p = sub.add_parser("sources", help="list the files a landscape is read from (sources.csv: path, bytes)",
                       description="The ingest job's one input: a landscape of 10^5 files would otherwise make "
                                   "Snakemake print every path in the ingest job's messages.")
    p.add_argument("--name", required=True, help="landscape name")
    p.add_argument("--spec", required=True, type=json_argument, help="the landscape's config entry, JSON")
    p.add_argument("--out", required=True, type=Path)
    p.set_defaults(func=cmd_sources)

    p = sub.add_parser("ingest", help="read one landscape into structures.h5, manifest.csv, quarantine.csv, ingest.json")
    p.add_argument("--name", required=True, help="landscape name")
    p.add_argument("--spec", required=True, type=json_argument, help="the landscape's config entry, JSON")
    p.add_argument("--options", type=json_argument, default={}, help="structure check options, JSON")
    p.add_argument("--outdir", required=True, type=Path)
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("select", help="energy-window x space-group groups of a landscape (groups.csv)")
    p.add_argument("--name", default="", help="landscape name (recorded in the selection)")
    p.add_argument("--manifest", required=True, type=Path)
    p.add_argument("--windows", required=True, type=float, nargs="+", help="kJ/mol above the minimum")
    p.add_argument("--spacegroups", type=_spacegroups, default="top10",
                   help='top10, all, or a JSON list of symbols/numbers')
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--min-group-size", type=int, required=True,
                   help="a (window, group) with fewer structures is skipped")
    p.add_argument("--selection", type=Path, default=None,
                   help="JSON: every planned group with its size and status (ok, or skipped and why)")
    p.add_argument("--stamps", type=Path, default=None,
                   help="folder for one content digest per group (what Snakemake compares to skip unchanged groups)")
    p.set_defaults(func=cmd_select)

    p = sub.add_parser("descriptors", help="ANI-style symmetry-function vectors of one space-group group (HDF5)",
                       description="Run under `mpiexec -n N latentcsp descriptors --mpi ...` to split the "
                                   "structures across N ranks (balanced by atom count).")
    p.add_argument("--structures", required=True, type=Path, help="structures.h5 of the landscape")
    p.add_argument("--groups", required=True, type=Path, help="groups.csv of the landscape")
    p.add_argument("--selection", type=Path, default=None,
                   help="selection.json of the landscape: a skipped space group gets an empty file at once")
    p.add_argument("--group", required=True, help="space-group slug (e.g. P21_c)")
    p.add_argument("--set-name", required=True, help="descriptor set name")
    p.add_argument("--set", required=True, type=json_argument, help='the set, JSON: {"preset", "neighbours", "pooling"}')
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--cache-dir", type=Path, default=None, help="content-addressed cache (default: none)")
    p.add_argument("--chunk", type=int, default=512, help="structures per chunk (memory bound)")
    p.add_argument("--threads", type=int, default=0, help="numba threads per rank (default: numba's)")
    p.add_argument("--mpi", action="store_true", help="split the work across MPI ranks (mpi4py)")
    p.set_defaults(func=cmd_descriptors)

    p = sub.add_parser("analyse", help="PCA spectrum, intrinsic dimension and PC map of one group")
    p.add_argument("--descriptors", required=True, nargs="+", type=Path, help="descriptor files holding the group")
    p.add_argument("--groups", required=True, type=Path)
    p.add_argument("--manifest", required=True, type=Path)
    p.add_argument("--selection", type=Path, default=None,
                   help="selection.json of the landscape: a skipped group gets its outputs at once, with the reason")
    p.add_argument("--landscape", default="", help="landscape name (recorded in the outputs)")
    p.add_argument("--set-name", default="", help="descriptor set name (recorded in the outputs)")
    p.add_argument("--window", required=True, help="energy window as in groups.csv, e.g. 10")
    p.add_argument("--group", required=True, help="space-group slug or 'all'")
    p.add_argument("--settings", type=json_argument, default={}, help="the analysis config section, JSON")
    p.add_argument("--outdir", required=True, type=Path)
    p.set_defaults(func=cmd_analyse)

    p = sub.add_parser("references", help="reference ensembles of known dimension for a landscape's space groups",
                       description="The landscape's rigid molecule in each space group with a window of at least "
                                   "--min-size structures: a base packing and the calibration ladder's DoF vectors "
                                   "(references.h5), shared by every descriptor set's calibration.")
    p.add_argument("--structures", required=True, type=Path, help="structures.h5 of the landscape")
    p.add_argument("--groups", required=True, type=Path, help="groups.csv of the landscape")
    p.add_argument("--min-size", type=int, default=20, help="smallest group the estimators run on")
    p.add_argument("--calibration", type=json_argument, default={}, help="the calibration config section, JSON")
    p.add_argument("--out", required=True, type=Path)
    p.set_defaults(func=cmd_references)

    p = sub.add_parser("calibrate", help="calibrated dimensions of a landscape's analysed groups (one descriptor set)",
                       description="References of known dimension made by the generator with the landscape's "
                                   "molecule, in each analysed space group, at each group's size, through the "
                                   "same descriptors and estimators; the references that read like a group give its "
                                   "calibrated dimension (dimensions.csv).")
    p.add_argument("--landscape", required=True, help="landscape name")
    p.add_argument("--structures", required=True, type=Path, help="structures.h5 of the landscape")
    p.add_argument("--references", required=True, type=Path, help="references.h5 of the landscape")
    p.add_argument("--groups", type=Path, help="groups.csv of the landscape: adds each group's rigid-body count")
    p.add_argument("--analyses", required=True, nargs="+", type=Path,
                   help="the analysis folders of the groups (each with pca.json and id.json)")
    p.add_argument("--set-name", required=True, help="descriptor set name")
    p.add_argument("--set", required=True, type=json_argument, help='the set, JSON: {"preset", "neighbours", "pooling"}')
    p.add_argument("--analysis", type=json_argument, default={}, help="the analysis config section, JSON")
    p.add_argument("--calibration", type=json_argument, default={}, help="the calibration config section, JSON")
    p.add_argument("--outdir", required=True, type=Path)
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("summary", help="the seed's tables and figures from every analysed group")
    p.add_argument("--results", required=True, type=Path, help="the results folder")
    p.add_argument("--pca", required=True, nargs="+", help="every pca.json to gather")
    p.add_argument("--estimators", nargs="*", default=["TwoNN", "MLE", "lPCA", "GRIDE"])
    p.add_argument("--calibrations", nargs="*", default=[], help="every calibration dimensions.csv to gather")
    p.add_argument("--sets", nargs="*", default=[], help="descriptor sets in config order; the first is the main one")
    p.add_argument("--out", required=True, type=Path)
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("latent", help="autoencoder width sweep, neighbourhoods and sampling of one group")
    p.add_argument("--descriptors", required=True, nargs="+", type=Path)
    p.add_argument("--scores", required=True, type=Path, help="the group's scores.csv (structures kept)")
    p.add_argument("--pca", required=True, type=Path, help="the group's pca.json (true DoF)")
    p.add_argument("--structures", type=Path, default=None, help="structures.h5, for PDD crystal similarity")
    p.add_argument("--settings", type=json_argument, default={}, help="the latent config section, JSON")
    p.add_argument("--outdir", required=True, type=Path)
    p.set_defaults(func=cmd_latent)

    p = sub.add_parser("search", help="decoded crystals and the search-efficiency test of one space group",
                       description="A generative model over the group's canonical DoF vectors, tied to its "
                                   "descriptors; decoded samples are minimised, deduplicated and matched against "
                                   "the landscape; with the generator's molecule, latent-guided against continued "
                                   "Sobol search for the same number of minimisations.")
    p.add_argument("--structures", required=True, type=Path, help="structures.h5 of the landscape")
    p.add_argument("--manifest", required=True, type=Path, help="manifest.csv of the landscape")
    p.add_argument("--descriptors", required=True, type=Path, help="the group's descriptor file")
    p.add_argument("--set-name", required=True, help="descriptor set name")
    p.add_argument("--set", required=True, type=json_argument, help='the set, JSON: {"preset", "neighbours", "pooling"}')
    p.add_argument("--group", required=True, help="space-group slug (e.g. P21_c)")
    p.add_argument("--landscape", default="", help="landscape name (ids and titles)")
    p.add_argument("--molecule", type=Path, default=None,
                   help="the generator's rigid molecule (XYZ); runs the search-efficiency test")
    p.add_argument("--dimensions", type=Path, default=None, help="the calibration's dimensions.csv (latent width)")
    p.add_argument("--synth-seed", type=int, default=0, help="the generator's Sobol seed (the first seed tested)")
    p.add_argument("--settings", type=json_argument, default={}, help="the search config section, JSON")
    p.add_argument("--outdir", required=True, type=Path)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("search-summary", help="one table of every group's search.json (summary.csv, summary.md) and the "
                       "search efficiency summed over each landscape's groups (efficiency.csv, efficiency.png)")
    p.add_argument("--inputs", required=True, nargs="*", type=Path, help="every search.json")
    p.add_argument("--out", required=True, type=Path)
    p.set_defaults(func=cmd_search_summary)

    from .synth import add_parsers

    add_parsers(sub)
    return parser


#: BLAS thread pools of one stage: one thread unless the caller set them. A stage is one
#: Snakemake job on its own cores, and BLAS's default of one thread per core made two
#: concurrent jobs on two cores spend most of their time waiting on each other.
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def main(argv: list[str] | None = None) -> None:
    import os

    for name in BLAS_THREADS:
        os.environ.setdefault(name, "1")
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
