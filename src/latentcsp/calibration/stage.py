"""``latentcsp calibrate``: calibrated dimensions of every analysed group of one landscape
and descriptor set.

For each analysed space-group group, references of known dimension are generated with
the landscape's own rigid molecule in that space group (:mod:`.references`), described
with the same descriptor set, and put through the same scaling and
estimators as the analysis, at the group's size (each window's). Their raw estimates
give the calibration curves (:mod:`.curves`) that turn the group's raw estimates into
calibrated dimensions. Writes into ``outdir``:

* ``references.csv``: per window, group and reference ensemble: d, pattern, scheme,
  n and every raw estimate;
* ``curves.csv``: per window, group, estimator and d: the curve's mean, spread, count;
* ``held_out.csv``: the leave-one-pattern-out errors (calibrated - true d);
* ``dimensions.csv``: per window and group: n, DoF, the raw estimates, a calibrated
  value, interval and resolution per estimator and combined, torsions.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import pandas as pd

from ..analysis.stage import AnalysisConfig
from ..analysis.intrinsic import estimate
from ..descriptors.stage import DescriptorSet, describe, reference_orbits
from ..store import StructureSet, read_references, read_structure_ids, read_structures, write_csv, write_references
from ..synth.ensembles import Ensemble
from ..synth.model import CrystalModel
from . import curves, rigid
from .references import LadderDesign, as_structures, generate, reference_molecule, spacegroup_sizes

@dataclass
class CalibrationConfig:
    """The ``calibration:`` config section (documented in config/README.md)."""

    patterns: int = 6
    schemes: tuple = ("full", "local", "local-small", "local-anisotropic")
    coverage: float = 0.95
    max_width: float = 2.0
    bandwidth: float = 0.1
    seed: int = 0
    sequence: str = "random"

    @classmethod
    def from_config(cls, cfg: dict) -> "CalibrationConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in cfg.items() if k in known})

    def design(self) -> LadderDesign:
        return LadderDesign(self.patterns, tuple(self.schemes), self.seed, self.sequence)


@dataclass
class Group:
    """One analysed (window, group) of the landscape: what the calibration needs of it."""

    window: str
    group: str
    n: int
    dof: dict
    estimates: dict = field(default_factory=dict)
    intervals: dict = field(default_factory=dict)
    trend: float | None = None

    @classmethod
    def read(cls, folder: Path) -> "Group":
        pca = json.loads((folder / "pca.json").read_text())
        ids = json.loads((folder / "id.json").read_text())
        est, ival = {}, {}
        for name, e in ids.get("estimators", {}).items():
            est[name] = e.get("dimension")
            std = (e.get("boot") or {}).get("std")
            if e.get("dimension") is not None and std is not None:
                ival[name] = (max(e["dimension"] - 1.96 * std, 0.0), e["dimension"] + 1.96 * std)
        scales = ids.get("estimators", {}).get("GRIDE", {}).get("scales", {}).get("dimension")
        key = pca.get("key") or {"window": folder.parent.name, "group": folder.name}  # older outputs: the path's
        return cls(str(key["window"]), key["group"], int(pca["dedup"]["n_kept"]), pca["dof"], est, ival,
                   curves.trend(scales))

    def spacegroup(self) -> tuple[int | None, str | None]:
        """The space-group number the references are made in, or None and why not."""
        variants = self.dof.get("variants") or []
        if "spacegroup" not in self.dof:
            numbers = sorted({v["spacegroup"] for v in variants})
            return None, f"combines {len(numbers)} space groups; references have one"
        if self.dof.get("zprime") != 1.0 or any(m["site_symmetry"] != "1" for m in self.dof.get("molecules", [])):
            return None, f"references are Z'=1 in a general position; here {self.dof.get('assumption')}"
        return int(self.dof["spacegroup"]), None


def reference_estimates(X: np.ndarray, n: int, acfg: AnalysisConfig, seed: int) -> dict:
    """Raw estimates of a random subset of ``n`` rows of a reference matrix, through the
    analysis's scaling and estimators (point estimates, no resampling). ``n`` is the group's
    size after its near-duplicates were removed; references are distinct crystals by
    construction, so they are not deduplicated again."""
    rows = np.sort(np.random.default_rng(seed).choice(len(X), min(n, len(X)), replace=False))
    result = estimate(X[rows], acfg.estimators, params=acfg.params, min_size=acfg.min_size, n_boot=0,
                      seed=seed, standardize=acfg.standardize, pointwise=False)
    out = {name: e["dimension"] for name, e in result["estimators"].items()}
    out["trend"] = curves.trend(result["estimators"].get("GRIDE", {}).get("scales", {}).get("dimension"))
    return out


def calibrate_spacegroup(structures: StructureSet, references: dict, groups: list[Group], dset: DescriptorSet,
                         acfg: AnalysisConfig, seed: int, log=print) -> pd.DataFrame:
    """Reference rows (window, group, d, pattern, scheme, label, n, estimates...) for every
    window of one space group, from its generated ``references`` (one item of
    :func:`latentcsp.store.read_references`): each ensemble's first n_max crystals (n_max the
    largest window's size) described once, then subsampled to each window's size."""
    model = CrystalModel(reference_molecule(structures), references["spacegroup"])
    orbits = reference_orbits(structures)
    n_max = max(g.n for g in groups)
    rows = []
    start = time.perf_counter()
    for k, (record, thetas) in enumerate(zip(references["ensembles"], references["thetas"])):
        ens = Ensemble.from_record(record)
        if len(thetas) < n_max:
            log(f"  {ens.label()}: only {len(thetas)} of {n_max} clash-free crystals; left out")
            continue
        X = describe(as_structures(model, thetas[:n_max], orbits), dset)
        by_size: dict[int, dict] = {}  # windows (or 'all') holding the same structures share them
        for g in groups:
            raw = by_size.get(g.n) or by_size.setdefault(g.n, reference_estimates(X, g.n, acfg, seed + k))
            rows.append({"window": g.window, "group": g.group, "d": ens.dimension, "pattern": "+".join(ens.free),
                         "scheme": ens.sampling,
                         "label": ens.label(), "n": g.n, **raw})
        if (k + 1) % 10 == 0 or k + 1 == len(references["ensembles"]):
            log(f"  {model.sg.symbol}: {k + 1}/{len(references['ensembles'])} reference ensembles "
                f"({time.perf_counter() - start:.0f} s)")
    return pd.DataFrame(rows)


def summarise(group: Group, refs: pd.DataFrame, estimators: list[str], ccfg: CalibrationConfig,
              torsions: int) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """(dimensions.csv row, curve rows, held-out error rows) of one (window, group)."""
    row = {"window": group.window, "group": group.group, "n": group.n, "dof": group.dof.get("total"),
           "torsions": torsions, "trend": group.trend, **{f"raw_{e}": group.estimates.get(e) for e in estimators}}
    dof = group.dof.get("total")
    ceiling = np.inf if dof is None else float(dof) + torsions  # no landscape has more dimensions
    cal = curves.Calibration(refs, estimators, ccfg.bandwidth, ccfg.coverage, ccfg.max_width, ceiling)
    for name in [curves.COMBINED, *estimators]:
        result = cal.calibrate(group.estimates, group.intervals, group.trend, name)
        prefix = "" if name == curves.COMBINED else f"{name}_"
        row.update({f"{prefix}{k}": v for k, v in result.to_dict().items()})
    curve_rows = pd.DataFrame([{"window": group.window, "group": group.group, "estimator": c.name, "d": d,
                                "mean": m, "spread": s, "weight": w}
                               for c in cal.curves(group.trend).values()
                               for d, m, s, w in zip(c.d, c.mean, c.spread, c.weight)])
    errors = cal.held_out_errors().copy()
    errors.insert(0, "group", group.group)
    errors.insert(0, "window", group.window)
    return row, curve_rows, errors


def unresolved_row(group: Group, estimators: list[str], reason: str, torsions: int) -> dict:
    row = {"window": group.window, "group": group.group, "n": group.n, "dof": group.dof.get("total"),
           "torsions": torsions, **{f"raw_{e}": group.estimates.get(e) for e in estimators}}
    for name in [curves.COMBINED, *estimators]:
        prefix = "" if name == curves.COMBINED else f"{name}_"
        row.update({f"{prefix}{k}": v for k, v in curves.Calibrated(None, None, None, False, reason).to_dict().items()})
    return row


def rigid_counts(structures_h5, groups_csv, members: list[Group], references: dict, molecule, log=print) -> dict:
    """{(window, group): rigid-body count columns} of one space group's groups (:mod:`.rigid`),
    with how many of the references checked at the group's size the count got exactly."""
    groups = pd.read_csv(groups_csv, dtype={"id": str, "window": str, "group": str})
    ids = {(g.window, g.group): groups.id[(groups.window == g.window) & (groups.group == g.group)].tolist()
           for g in members}
    structures = read_structures(structures_h5, list(dict.fromkeys(i for v in ids.values() for i in v)))
    where = {k: n for n, k in enumerate(structures.ids)}
    found = rigid.charts(structures, range(len(structures)), molecule)
    out = {key: rigid.count(found, [where[i] for i in v]).to_dict() for key, v in ids.items()}
    sizes = {key: v["rigid_n"] for key, v in out.items() if v["rigid_count"] is not None}
    if sizes:
        model = CrystalModel(molecule, references["spacegroup"])
        checks = rigid.check_on_references(model, references, set(sizes.values()))
        for key, n in sizes.items():
            out[key].update(rigid_exact=checks[n][0], rigid_checked=checks[n][1])
        log(f"  rigid-body count exact on " + ", ".join(f"{e} of {c} references at n = {n}"
                                                        for n, (e, c) in sorted(checks.items())))
    return out


def run(landscape: str, structures_h5, references_h5, analyses: list[str | Path], dset: DescriptorSet,
        acfg: AnalysisConfig, ccfg: CalibrationConfig, outdir, log=None, groups_csv=None) -> str:
    """The calibration stage of one landscape and descriptor set, from the reference
    ensembles generated for the landscape (``references_h5``, :func:`generate_references`);
    returns a one-line summary. Every table written starts with the columns landscape and set.
    With ``groups_csv`` (the landscape's groups), each group's rigid-body count
    (:mod:`.rigid`) is reported beside the calibration and replaces it where it is checked."""
    log = log or (lambda text: print(text, file=sys.stderr, flush=True))
    structures = read_structures(structures_h5, read_structure_ids(structures_h5)[:1])  # the reference molecule's
    generated = {item["spacegroup"]: item for item in read_references(references_h5)}
    torsions = torsion_count(reference_molecule(structures))
    estimators = list(acfg.estimators)
    by_sg: dict[int, list[Group]] = {}
    rows, refs, curve_tables, error_tables = [], [], [], []
    for g in (Group.read(Path(a)) for a in analyses):
        number, why = g.spacegroup()
        if number is None or g.n < acfg.min_size:
            rows.append(unresolved_row(g, estimators, why or f"n={g.n} below the estimators' minimum "
                                                             f"{acfg.min_size}", torsions))
        else:
            by_sg.setdefault(number, []).append(g)
    for number, members in sorted(by_sg.items()):
        log(f"calibrate {dset.name}: space group {number}, windows {[g.window for g in members]}, "
            f"n up to {max(g.n for g in members)}")
        if number not in generated:
            rows += [unresolved_row(g, estimators, "no reference landscapes (the generator could not build "
                                    "this molecule in this space group; see the references log)", torsions)
                     for g in members]
            continue
        mine = calibrate_spacegroup(structures, generated[number], members, dset, acfg, ccfg.seed, log)
        refs.append(mine)
        counts = (rigid_counts(structures_h5, groups_csv, members, generated[number], reference_molecule(structures),
                               log) if groups_csv else {})
        for g in members:
            row, c, e = summarise(g, mine[(mine.window == g.window) & (mine.group == g.group)], estimators, ccfg,
                                  torsions)
            if (g.window, g.group) in counts:
                row.update(counts[g.window, g.group])
                row.update(rigid.combine(row, counts[g.window, g.group]))
            rows.append(row)
            curve_tables.append(c)
            error_tables.append(e)
    table = pd.DataFrame(rows)
    for name, parts in (("dimensions", [table]), ("references", refs), ("curves", curve_tables),
                        ("held_out", error_tables)):
        frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        frame.insert(0, "set", dset.name)
        frame.insert(0, "landscape", landscape)
        write_csv(frame, Path(outdir) / f"{name}.csv")
    n_resolved = int(table.resolved.fillna(False).astype(bool).sum()) if len(table) else 0
    return (f"calibrate {dset.name}: {len(table)} groups, {n_resolved} resolved, "
            f"{sum(len(r) for r in refs)} reference estimates")


def torsion_count(molecule) -> int:
    """Rotatable bonds of a rigid molecule (:func:`latentcsp.structure.crystal.rotatable_bonds`)."""
    from ase.data import covalent_radii

    from ..structure.crystal import rotatable_bonds
    from ..structure.kernels import molecule_bonds

    bonds = molecule_bonds(np.ascontiguousarray(molecule.ref), covalent_radii[molecule.numbers], 0.4)
    return len(rotatable_bonds(molecule.numbers, molecule.ref, bonds))


def generate_references(structures_h5, groups_csv, min_size: int, ccfg: CalibrationConfig, out, log=None) -> str:
    """The ``latentcsp references`` stage: the reference ensembles of every space group with a
    window of at least ``min_size`` structures, at its largest window's size, for every
    descriptor set's calibration of the landscape (``references.h5``)."""
    log = log or (lambda text: print(text, file=sys.stderr, flush=True))
    stored = read_structure_ids(structures_h5)
    groups = pd.read_csv(groups_csv, dtype={"id": str, "window": str, "group": str})
    sizes = spacegroup_sizes(groups, min_size)
    index = {k: n for n, k in enumerate(stored)}  # the store keeps the lowest energy first
    lowest = groups[groups.group != "all"].assign(row=groups.id.map(index)).groupby("spacegroup_number").row.min()
    # read only the first structure (the reference molecule) and each space group's lowest-energy one
    rows = list(dict.fromkeys([0, *(int(v) for v in lowest)]))
    structures = read_structures(structures_h5, stored[rows])
    sets = generate(structures, sizes, ccfg.design(), log, {int(k): rows.index(int(v)) for k, v in lowest.items()})
    write_references(out, sets)
    return f"references: {len(sets)} space groups, {sum(len(s['ensembles']) for s in sets)} ensembles"
