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
import os
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, NamedTuple

import numpy as np
import pandas as pd

from . import store
from .io import RawStructure, Rejected, read_source
from .io.energies import ENERGY_UNITS, EnergyTableError, read_energy_table
from .structure.canonical import assign_canonical_order, reference_graph
from .structure.crystal import BadStructure, Crystal, Options, analyse


#: The outlier rule (:func:`energy_outliers`): an energy farther from the landscape's median than
#: OUTLIER_SPREADS robust standard deviations and than OUTLIER_MIN_DISTANCE kJ/mol per molecule is an outlier.
OUTLIER_SPREADS = 25.0
OUTLIER_MIN_DISTANCE = 100.0
#: Floor of the robust standard deviation, kJ/mol per molecule (a landscape of nearly equal energies).
OUTLIER_MIN_SPREAD = 1.0
STAGING_CHUNK = 256  # crystals written to the staging file at a time


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
    """The kept crystals (none from :func:`ingest_to`, which writes them), the quarantine and counts."""

    crystals: list[Crystal]
    quarantine: list[Rejected]
    n_read: int
    n_kept: int | None = None
    has_energies: bool = True

    def __post_init__(self):
        if self.n_kept is None:
            self.n_kept = len(self.crystals)

    def reasons(self) -> dict[str, int]:
        """Quarantined structures per kind of reason, most common first."""
        return dict(Counter(_reason_kind(q.reason) for q in self.quarantine).most_common())

    def summary(self, name: str) -> str:
        text = ", ".join(f"{n} {r}" for r, n in self.reasons().items())
        return (f"{name}: read {self.n_read}, kept {self.n_kept}, "
                f"quarantined {len(self.quarantine)}" + (f" ({text})" if text else ""))

    def record(self, name: str) -> dict:
        """``ingest.json``: the counts, the reasons and whether the landscape has energies."""
        return {"landscape": name, "n_read": self.n_read, "n_kept": self.n_kept,
                "n_quarantined": len(self.quarantine), "quarantined": self.reasons(),
                "has_energies": self.has_energies}


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


@dataclass
class _Tally:
    """What the read loop counts and rejects on the way."""

    n_read: int = 0
    bad: list = field(default_factory=list)
    lines: dict = field(default_factory=dict)  # id -> the record's line, for the quarantine
    has_energies: bool = False  # some record states an energy (then every structure needs one)


def _crystals(spec: LandscapeSpec, opts: Options, tally: _Tally, progress: bool) -> Iterator[Crystal]:
    """Every structure of the landscape that reads and checks well, with its energy (NaN when it
    has none); the rest go to ``tally.bad``."""
    if spec.energy_unit not in ENERGY_UNITS:
        raise LandscapeError(f"landscape {spec.name}: unknown energy_unit {spec.energy_unit!r}; "
                             f"use one of {sorted(ENERGY_UNITS)}")
    side, side_bad = _side_energies(spec)
    tally.has_energies = bool(spec.energies)
    bad = tally.bad
    first_source: dict[str, str] = {}
    start = time.perf_counter()
    for rec in read_source(spec.source, spec.format):
        if isinstance(rec, Rejected):
            tally.n_read += 1
            bad.append(rec)
            continue
        if not _passes(rec, spec.filter):
            continue
        tally.n_read += 1
        if progress and tally.n_read % 200 == 0:
            _progress(spec.name, tally.n_read, start)
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
        tally.has_energies |= rec.energy is not None
        if rec.id not in side and stated is not None and stated != spec.energy_unit and rec.energy is not None:
            bad.append(Rejected(rec.source, rec.id, f"the file states energies in {stated}, but the landscape's "
                                                    f"energy_unit is {spec.energy_unit}", rec.line))
            continue
        try:
            crystal = analyse(rec, opts)
        except BadStructure as exc:
            bad.append(Rejected(rec.source, rec.id, str(exc), rec.line))
            continue
        per = crystal.n_molecules if spec.energy_per == "cell" else 1
        energy = _energy(rec.energy)
        crystal.energy = energy * ENERGY_UNITS[spec.energy_unit] / per
        if np.isfinite(energy) and not np.isfinite(crystal.energy):
            bad.append(Rejected(rec.source, rec.id, f"energy {energy:g} {spec.energy_unit} is too large "
                                                    "to convert to kJ/mol", rec.line))
            continue
        tally.lines[crystal.id] = rec.line
        yield crystal
    if progress:
        _progress(spec.name, tally.n_read, start, final=True)


def ingest(spec: LandscapeSpec, opts: Options | None = None, progress: bool = True) -> IngestResult:
    """Read and validate every structure of a landscape, in memory (:func:`ingest_to` for any size)."""
    opts = opts or Options()
    tally, molecules, crystals = _Tally(), _Molecules(opts), []
    for crystal in _crystals(spec, opts, tally, progress):
        molecules.add(crystal)
        crystals.append(crystal)
    kept, rejected = molecules.decide(tally.lines, tally.has_energies, spec.energy_unit)
    result = IngestResult([crystals[k] for k in kept], tally.bad + rejected, tally.n_read,
                          has_energies=tally.has_energies)
    _check_survivors(spec, result)
    return result


def ingest_to(spec: LandscapeSpec, outdir: str | Path, opts: Options | None = None,
              progress: bool = True) -> IngestResult:
    """Read, validate and write a landscape (:func:`write_landscape`'s files) in bounded memory:
    crystals go to a staging file as they are read, in chunks, and are copied from there in
    energy order once the landscape's molecule is known.  The result holds no crystals."""
    opts = opts or Options()
    outdir = Path(outdir)
    tally, molecules, rows, staged = _Tally(), _Molecules(opts), [], []
    staging = outdir / ".structures.staging.h5"
    with store.StructureWriter(staging) as writer:
        batch: list[Crystal] = []
        for crystal in _crystals(spec, opts, tally, progress):
            ok = molecules.add(crystal)
            staged.append(writer.count + len(batch) if ok else -1)
            rows.append(manifest_row(crystal) if ok else None)
            batch += [crystal] if ok else []
            if len(batch) >= STAGING_CHUNK:
                writer.append(batch)
                batch = []
        writer.append(batch)
    try:
        kept, rejected = molecules.decide(tally.lines, tally.has_energies, spec.energy_unit)
        result = IngestResult([], tally.bad + rejected, tally.n_read, n_kept=len(kept),
                              has_energies=tally.has_energies)
        _check_survivors(spec, result)
        order = [kept[k] for k in np.argsort([rows[k]["energy"] for k in kept], kind="stable")]
        store.copy_structures(staging, outdir / "structures.h5", [staged[k] for k in order])
        store.write_csv(manifest_table([rows[k] for k in order]), outdir / "manifest.csv")
        write_quarantine(result.quarantine, outdir)
    finally:
        staging.unlink(missing_ok=True)
    return result


def _check_survivors(spec: LandscapeSpec, result: IngestResult, shown: int = 50) -> None:
    """Raise :class:`LandscapeError` (counts of reasons, then the first files and reasons) if nothing survived."""
    if result.n_kept:
        return
    bad = result.quarantine
    reasons = ", ".join(f"{n} {r}" for r, n in list(result.reasons().items())[:3])
    lines = [f"landscape {spec.name}: no structure survived the ingest of {result.n_read} read from {spec.source} "
             f"({reasons}):"]
    lines += [f"  {q.describe()}" for q in bad[:shown]]
    if len(bad) > shown:
        lines.append(f"  ... and {len(bad) - shown} more (see quarantine.csv)")
    raise LandscapeError("\n".join(lines), bad)


def _energy(value) -> float:
    """A structure's energy as a float, NaN when it has none."""
    return float(value) if value is not None and np.isfinite(value) else float("nan")


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


class _Seen(NamedTuple):
    """What :class:`_Molecules` keeps of a crystal: enough to decide and to say why."""

    source: str
    id: str
    molecule_key: str
    energy: float  # kJ/mol per molecule, NaN without one
    energy_raw: float | None  # as the file gives it
    error: str | None  # why its atoms could not be put in canonical order


class _Molecules:
    """Which crystals the landscape keeps: those of its majority molecule, atoms in canonical order.

    Crystals arrive one by one (:meth:`add`) and are put in the canonical order of their own
    molecule's reference: the first crystal of that molecule with an energy (else its first).
    :meth:`decide` then applies the landscape's rules: energies are optional for a whole
    landscape, not for some of its structures (where any structure has one, those without are
    quarantined, "missing energy"), and the molecule most crystals hold is the landscape's.
    """

    def __init__(self, opts: Options):
        self.opts = opts
        self.references: dict[str, object] = {}
        self.with_energy: set[str] = set()
        self.seen: list[_Seen] = []

    def add(self, crystal: Crystal) -> bool:
        """Order the crystal's atoms canonically; False (and the reason kept) where they cannot be."""
        energy = _energy(crystal.energy)
        key, energetic = crystal.molecule_key, not np.isnan(energy)
        if key not in self.references or (energetic and key not in self.with_energy):
            self.references[key] = reference_graph(crystal, self.opts)
            if energetic:
                self.with_energy.add(key)
        error = None
        try:
            assign_canonical_order(crystal, self.references[key], self.opts)
        except BadStructure as exc:
            error = str(exc)
        self.seen.append(_Seen(crystal.source, crystal.id, key, energy, crystal.energy_raw, error))
        return error is None

    def decide(self, lines: dict, has_energies: bool, energy_unit: str = "kJ/mol"
               ) -> tuple[list[int], list[Rejected]]:
        """(indices of the kept crystals in arrival order, the others' rejections).

        lines: id -> the record's line in its file; has_energies: whether any record of the
        landscape states an energy; energy_unit: the file's, for the outlier messages.  Where the
        landscape has energies, the structures without one and the outliers
        (:func:`energy_outliers`, among the majority molecule's) are rejected.
        """
        energetic = [not np.isnan(s.energy) for s in self.seen]
        rejected = []
        if has_energies:
            rejected = [Rejected(s.source, s.id, "missing energy", lines.get(s.id))
                        for s, ok in zip(self.seen, energetic) if not ok]
            candidates = [k for k, ok in enumerate(energetic) if ok]
        else:
            candidates = list(range(len(self.seen)))
        if not candidates:
            return [], rejected
        majority = Counter(self.seen[k].molecule_key for k in candidates).most_common(1)[0][0]
        kept = []
        for k in candidates:
            s = self.seen[k]
            if s.molecule_key != majority:
                rejected.append(Rejected(s.source, s.id, _other_molecule(s.molecule_key, majority), lines.get(s.id)))
            elif s.error is not None:
                rejected.append(Rejected(s.source, s.id, s.error, lines.get(s.id)))
            else:
                kept.append(k)
        if has_energies:
            far, median, spread = energy_outliers([self.seen[k].energy for k in kept])
            rejected += [Rejected(self.seen[k].source, self.seen[k].id,
                                  _outlier(self.seen[k], energy_unit, median, spread), lines.get(self.seen[k].id))
                         for k, out in zip(kept, far) if out]
            kept = [k for k, out in zip(kept, far) if not out]
        return kept, rejected


def _other_molecule(key: str, majority: str) -> str:
    """Why a crystal of molecule ``key`` is not the landscape's (``majority``)."""
    formula = key.split(":")[0]
    if formula != majority.split(":")[0]:
        return f"different molecule: {formula} ({key}) is not the landscape's {majority}"
    return (f"different molecule: {formula} bonded differently from the landscape's {formula} "
            f"({key}, not {majority}): atoms of neighbouring molecules too close, or a wrong cell?")


def _outlier(s: _Seen, energy_unit: str, median: float, spread: float) -> str:
    """Why an energy is an outlier, with the rule."""
    gap = s.energy - median
    return (f"energy outlier: {s.energy_raw:g} {energy_unit} ({s.energy:.6g} kJ/mol per molecule) lies "
            f"{abs(gap):.4g} kJ/mol {'above' if gap > 0 else 'below'} the landscape's median ({median:.6g}), "
            f"{abs(gap) / spread:.3g} times its robust spread ({spread:.3g}): a unit or typing error? (rule: more "
            f"than {OUTLIER_SPREADS:g} spreads and {OUTLIER_MIN_DISTANCE:g} kJ/mol from the median)")


def one_molecule(crystals: list[Crystal], opts: Options | None = None) -> tuple[list[Crystal], list[Rejected]]:
    """The crystals of the majority molecule, atoms in canonical order (as the ingest keeps them),
    and the others' rejections."""
    molecules = _Molecules(opts or Options())
    for crystal in crystals:
        molecules.add(crystal)
    kept, rejected = molecules.decide({}, any(c.energy is not None and np.isfinite(c.energy) for c in crystals))
    return [crystals[k] for k in kept], rejected


def manifest_row(c: Crystal) -> dict:
    """A crystal's manifest entry (energy as given, not yet relative; properties under ``props``)."""
    return {"id": c.id, "source": c.source, "energy": c.energy, "spacegroup_number": c.spacegroup_number,
            "spacegroup": c.spacegroup, "spacegroup_stated": c.spacegroup_stated or "", "z": c.z,
            "zprime": c.zprime, "site_symmetry": " ".join(c.site_symmetries), "density": round(c.density, 5),
            "n_atoms": c.n_atoms, "hash": c.hash, "props": c.properties}


def manifest_table(rows: list[dict]) -> pd.DataFrame:
    """The manifest (store.MANIFEST_COLUMNS, ``duplicate_of``, then properties) of :func:`manifest_row` rows."""
    table = pd.DataFrame([{k: v for k, v in r.items() if k != "props"} for r in rows],
                         columns=[c for c in store.MANIFEST_COLUMNS if c != "rel_energy"])
    energy = table.energy.to_numpy(float)
    table.insert(3, "rel_energy", energy - (np.nanmin(energy) if np.isfinite(energy).any() else np.nan))
    first: dict[str, str] = {}
    table["duplicate_of"] = [_first_with(first, h, i) for h, i in zip(table.hash, table.id)]
    props = pd.DataFrame([r["props"] for r in rows]).add_prefix("prop_")
    return pd.concat([table, props], axis=1)


def manifest(crystals: list[Crystal]) -> pd.DataFrame:
    """One row per crystal (store.MANIFEST_COLUMNS, then properties)."""
    return manifest_table([manifest_row(c) for c in crystals])


def _first_with(first: dict[str, str], content_hash: str, ident: str) -> str:
    """The id of an earlier crystal with the same hash, or ''."""
    earlier = first.setdefault(content_hash, ident)
    return "" if earlier == ident else earlier


def quarantine_table(records: list[Rejected]) -> pd.DataFrame:
    return pd.DataFrame([[q.source, q.id or "", q.line or "", q.reason] for q in records],
                        columns=store.QUARANTINE_COLUMNS)


def source_listing(spec: LandscapeSpec) -> pd.DataFrame:
    """The files the landscape is read from (its source's, then its energy table), with their sizes
    in bytes (store.SOURCES_COLUMNS): what the workflow's ingest job waits for, in one file."""
    from .io import expand_source

    files = expand_source(spec.source, spec.format) + ([spec.energies] if spec.energies else [])
    return pd.DataFrame([[f, os.path.getsize(f)] for f in files], columns=store.SOURCES_COLUMNS)


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
