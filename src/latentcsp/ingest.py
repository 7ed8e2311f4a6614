"""Ingest one landscape: read, validate, convert energies, write the store.

The result is ``structures.h5``, ``manifest.csv`` and ``quarantine.csv``
(written even when empty).  Bad structures never stop a landscape; a
landscape where nothing survives raises :class:`LandscapeError` naming the
files and reasons (the CLI still writes its quarantine.csv).

Energies far outside the landscape are quarantined (:func:`energy_outliers`),
so that one mistyped value cannot move the zero of every relative energy.
"""

from __future__ import annotations

import math
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import store
from .io import RawStructure, Rejected, read_source
from .io.energies import ENERGY_UNITS, EnergyTableError, read_energy_table
from .canonical import assign_canonical_order, reference_graph
from .structure import BadStructure, Crystal, Options, analyse


#: The outlier rule (:func:`energy_outliers`): an energy farther from the landscape's median than
#: OUTLIER_SPREADS robust standard deviations and than OUTLIER_MIN_DISTANCE kJ/mol per molecule is an outlier.
OUTLIER_SPREADS = 25.0
OUTLIER_MIN_DISTANCE = 100.0
#: Floor of the robust standard deviation, kJ/mol per molecule (a landscape of nearly equal energies).
OUTLIER_MIN_SPREAD = 1.0


class LandscapeError(RuntimeError):
    """A landscape that cannot be ingested at all.

    quarantine: the records rejected before it stopped (None when it stopped
    before reading, e.g. on a bad energy table).
    """

    def __init__(self, message: str, quarantine: list[Rejected] | None = None):
        super().__init__(message)
        self.quarantine = quarantine


@dataclass
class LandscapeSpec:
    """One ``landscapes:`` entry of the config (see config/README.md)."""

    name: str
    source: str
    format: str = "auto"
    energies: str | None = None
    energy_column: str | None = None
    energy_unit: str = "kJ/mol"
    energy_per: str = "molecule"
    filter: dict = field(default_factory=dict)

    @classmethod
    def from_config(cls, name: str, entry: dict) -> "LandscapeSpec":
        known = {k: entry[k] for k in cls.__dataclass_fields__ if k in entry and k != "name"}
        return cls(name=name, **known)


@dataclass
class IngestResult:
    crystals: list[Crystal]
    quarantine: list[Rejected]
    n_read: int

    def summary(self, name: str) -> str:
        reasons = Counter(_reason_kind(q.reason) for q in self.quarantine)
        text = ", ".join(f"{n} {r}" for r, n in reasons.most_common())
        return (f"{name}: read {self.n_read}, kept {len(self.crystals)}, "
                f"quarantined {len(self.quarantine)}" + (f" ({text})" if text else ""))


def _reason_kind(reason: str) -> str:
    """The kind of a quarantine reason, without the record it names ('block data_x: ...')."""
    reason = re.sub(r"^(block data_\S*|structure \d+|unreadable structure \d+):\s*", "", reason)
    return reason.split(":")[0].split("(")[0].strip()


def _passes(raw: RawStructure, flt: dict) -> bool:
    return all(str(raw.properties.get(k)) == str(v) for k, v in flt.items())


def _side_energies(spec: LandscapeSpec) -> tuple[dict[str, float], dict[str, Rejected]]:
    """id -> energy from the side table, and id -> Rejected for its bad rows."""
    if not spec.energies:
        return {}, {}
    errors: list[Rejected] = []
    try:
        table = read_energy_table(spec.energies, spec.energy_column, errors=errors, expect_unit=spec.energy_unit)
    except EnergyTableError as exc:
        raise LandscapeError(str(exc)) from exc
    return table, {e.id: e for e in errors if e.id is not None}


def _progress(name: str, done: int, start: float, final: bool = False) -> None:
    rate = done / max(time.perf_counter() - start, 1e-9)
    end = "\n" if final or not sys.stderr.isatty() else "\r"
    print(f"[ingest {name}] {done} structures, {rate:.0f}/s", end=end, file=sys.stderr, flush=True)


def ingest(spec: LandscapeSpec, opts: Options | None = None, progress: bool = True) -> IngestResult:
    """Read and validate every structure of a landscape."""
    opts = opts or Options()
    if spec.energy_unit not in ENERGY_UNITS:
        raise LandscapeError(f"landscape {spec.name}: unknown energy_unit {spec.energy_unit!r}; "
                             f"use one of {sorted(ENERGY_UNITS)}")
    side, side_bad = _side_energies(spec)
    crystals: list[Crystal] = []
    bad: list[Rejected] = []
    first_source: dict[str, str] = {}
    line_of: dict[str, int | None] = {}  # id -> the record's line, for the quarantine
    n_read, start = 0, time.perf_counter()
    for rec in read_source(spec.source, spec.format):
        if isinstance(rec, Rejected):
            n_read += 1
            bad.append(rec)
            continue
        if not _passes(rec, spec.filter):
            continue
        n_read += 1
        if progress and n_read % 200 == 0:
            _progress(spec.name, n_read, start)
        if rec.id in first_source:
            bad.append(Rejected(rec.source, rec.id, f"duplicate id (first in {first_source[rec.id]})", rec.line))
            continue
        first_source[rec.id] = rec.source
        if rec.id in side_bad:
            bad.append(Rejected(rec.source, rec.id, side_bad[rec.id].reason, rec.line))
            continue
        stated = rec.properties.get("energy_unit_stated")
        if rec.id in side:
            rec.energy = side[rec.id]
        elif stated is not None and stated != spec.energy_unit and rec.energy is not None:
            bad.append(Rejected(rec.source, rec.id, f"the file states energies in {stated}, but the landscape's "
                                                    f"energy_unit is {spec.energy_unit}", rec.line))
            continue
        if rec.energy is None or not np.isfinite(rec.energy):
            bad.append(Rejected(rec.source, rec.id, "missing energy", rec.line))
            continue
        try:
            crystal = analyse(rec, opts)
        except BadStructure as exc:
            bad.append(Rejected(rec.source, rec.id, str(exc), rec.line))
            continue
        per = crystal.n_molecules if spec.energy_per == "cell" else 1
        crystal.energy = rec.energy * ENERGY_UNITS[spec.energy_unit] / per
        if not np.isfinite(crystal.energy):
            bad.append(Rejected(rec.source, rec.id, f"energy {rec.energy:g} {spec.energy_unit} is too large "
                                                    "to convert to kJ/mol", rec.line))
            continue
        line_of[crystal.id] = rec.line
        crystals.append(crystal)
    if progress:
        _progress(spec.name, n_read, start, final=True)
    crystals, wrong = _one_molecule(crystals, opts, line_of)
    bad += wrong
    crystals, far = _without_outliers(crystals, spec, line_of)
    bad += far
    if not crystals:
        raise LandscapeError(_no_survivors(spec, bad, n_read), bad)
    return IngestResult(crystals, bad, n_read)


def _no_survivors(spec: LandscapeSpec, bad: list[Rejected], n_read: int, shown: int = 50) -> str:
    """The message of a landscape where nothing survived: counts of reasons, then the first files and reasons."""
    reasons = ", ".join(f"{n} {r}" for r, n in Counter(_reason_kind(q.reason) for q in bad).most_common(3))
    lines = [f"landscape {spec.name}: no structure survived the ingest of {n_read} read from {spec.source} "
             f"({reasons}):"]
    lines += [f"  {q.describe()}" for q in bad[:shown]]
    if len(bad) > shown:
        lines.append(f"  ... and {len(bad) - shown} more (see quarantine.csv)")
    return "\n".join(lines)


def energy_outliers(energies) -> tuple[np.ndarray, float, float]:
    """Which energies lie far outside the landscape: (n,) bool, the median and the robust spread used.

    energies: (n,) kJ/mol per molecule.  The spread is 1.4826 x the median
    absolute deviation from the median (the standard deviation, for normal
    data), at least :data:`OUTLIER_MIN_SPREAD`; an outlier lies more than
    max(:data:`OUTLIER_SPREADS` x spread, :data:`OUTLIER_MIN_DISTANCE`)
    above or below the median.  Real landscapes lie within 5 spreads (ROY,
    the Genarris cases, the azaphenacenes) and unrelaxed trial structures
    within about 10; a unit or typing error lies hundreds of spreads away.
    Half the landscape can never be outliers, so one bad value cannot move
    its zero.
    """
    energies = np.asarray(energies, float)
    if len(energies) == 0:
        return np.zeros(0, bool), math.nan, math.nan
    median = float(np.median(energies))
    spread = max(1.4826 * float(np.median(np.abs(energies - median))), OUTLIER_MIN_SPREAD)
    limit = max(OUTLIER_SPREADS * spread, OUTLIER_MIN_DISTANCE)
    return np.abs(energies - median) > limit, median, spread


def _without_outliers(crystals: list[Crystal], spec: LandscapeSpec, line_of: dict[str, int | None]
                      ) -> tuple[list[Crystal], list[Rejected]]:
    """The crystals whose energies are not outliers, and a Rejected naming each outlier and the rule."""
    far, median, spread = energy_outliers([c.energy for c in crystals])
    kept, bad = [], []
    for c, out in zip(crystals, far):
        if not out:
            kept.append(c)
            continue
        gap = c.energy - median
        bad.append(Rejected(c.source, c.id, (
            f"energy outlier: {c.energy_raw:g} {spec.energy_unit} ({c.energy:.6g} kJ/mol per molecule) lies "
            f"{abs(gap):.4g} kJ/mol {'above' if gap > 0 else 'below'} the landscape's median ({median:.6g}), "
            f"{abs(gap) / spread:.3g} times its robust spread ({spread:.3g}): a unit or typing error? (rule: more "
            f"than {OUTLIER_SPREADS:g} spreads and {OUTLIER_MIN_DISTANCE:g} kJ/mol from the median)"),
            line_of.get(c.id)))
    return kept, bad


def _one_molecule(crystals: list[Crystal], opts: Options, line_of: dict[str, int | None] | None = None
                  ) -> tuple[list[Crystal], list[Rejected]]:
    """Keep the crystals of the landscape's majority molecule; order their atoms canonically.

    line_of: id -> the record's line in its file, for the rejections.
    """
    line_of = line_of or {}
    if not crystals:
        return [], []
    keys = Counter(c.molecule_key for c in crystals)
    majority = keys.most_common(1)[0][0]
    reference = reference_graph(next(c for c in crystals if c.molecule_key == majority), opts)
    kept, bad = [], []
    for c in crystals:
        if c.molecule_key != majority:
            formula = c.molecule_key.split(":")[0]
            why = (f"different molecule: {formula} ({c.molecule_key}) is not the landscape's {majority}"
                   if formula != majority.split(":")[0] else
                   f"different molecule: {formula} bonded differently from the landscape's {formula} "
                   f"({c.molecule_key}, not {majority}): atoms of neighbouring molecules too close, or a wrong cell?")
            bad.append(Rejected(c.source, c.id, why, line_of.get(c.id)))
            continue
        try:
            assign_canonical_order(c, reference, opts)
        except BadStructure as exc:
            bad.append(Rejected(c.source, c.id, str(exc), line_of.get(c.id)))
            continue
        kept.append(c)
    return kept, bad


def manifest(crystals: list[Crystal]) -> pd.DataFrame:
    """One row per crystal (store.MANIFEST_COLUMNS, then properties)."""
    energy = np.array([c.energy for c in crystals], float)
    rows = pd.DataFrame({
        "id": [c.id for c in crystals],
        "source": [c.source for c in crystals],
        "energy": energy,
        "rel_energy": energy - energy.min(),
        "spacegroup_number": [c.spacegroup_number for c in crystals],
        "spacegroup": [c.spacegroup for c in crystals],
        "spacegroup_stated": [c.spacegroup_stated or "" for c in crystals],
        "z": [c.z for c in crystals],
        "zprime": [c.zprime for c in crystals],
        "site_symmetry": [" ".join(c.site_symmetries) for c in crystals],
        "density": [round(c.density, 5) for c in crystals],
        "n_atoms": [c.n_atoms for c in crystals],
        "hash": [c.hash for c in crystals],
    })
    first: dict[str, str] = {}
    rows["duplicate_of"] = [_first_with(first, h, i) for h, i in zip(rows.hash, rows.id)]
    props = pd.DataFrame([c.properties for c in crystals]).add_prefix("prop_")
    return pd.concat([rows, props], axis=1)


def _first_with(first: dict[str, str], content_hash: str, ident: str) -> str:
    """The id of an earlier crystal with the same hash, or ''."""
    earlier = first.setdefault(content_hash, ident)
    return "" if earlier == ident else earlier


def quarantine_table(records: list[Rejected]) -> pd.DataFrame:
    return pd.DataFrame([[q.source, q.id or "", q.line or "", q.reason] for q in records],
                        columns=store.QUARANTINE_COLUMNS)


def write_quarantine(records: list[Rejected], outdir: str | Path) -> Path:
    """Write quarantine.csv into ``outdir`` (also for a landscape that stopped); returns its path."""
    path = Path(outdir) / "quarantine.csv"
    store.write_csv(quarantine_table(records), path)
    return path


def write_landscape(result: IngestResult, outdir: str | Path) -> None:
    """Write structures.h5, manifest.csv and quarantine.csv into ``outdir``."""
    outdir = Path(outdir)
    order = np.argsort([c.energy for c in result.crystals], kind="stable")
    crystals = [result.crystals[k] for k in order]
    store.write_structures(crystals, outdir / "structures.h5")
    store.write_csv(manifest(crystals), outdir / "manifest.csv")
    write_quarantine(result.quarantine, outdir)
