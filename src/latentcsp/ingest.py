"""Ingest one landscape: read, validate, convert energies, write the store.

The result is ``structures.h5``, ``manifest.csv`` and ``quarantine.csv``
(written even when empty).  Bad structures never stop a landscape; a
landscape where nothing survives raises :class:`LandscapeError` saying why.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from . import store
from .io import RawStructure, Rejected, read_source
from .io.energies import ENERGY_UNITS, EnergyTableError, read_energy_table
from .structure import BadStructure, Crystal, Options, analyse, assign_canonical_order, reference_graph


STAGING_CHUNK = 256  # crystals written to the staging file at a time


class LandscapeError(RuntimeError):
    """A landscape that cannot be ingested at all."""


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
    return reason.split(":")[0].split("(")[0].strip()


def _passes(raw: RawStructure, flt: dict) -> bool:
    return all(str(raw.properties.get(k)) == str(v) for k, v in flt.items())


def _side_energies(spec: LandscapeSpec) -> tuple[dict[str, float], dict[str, Rejected]]:
    """id -> energy from the side table, and id -> Rejected for its bad rows."""
    if not spec.energies:
        return {}, {}
    errors: list[Rejected] = []
    try:
        table = read_energy_table(spec.energies, spec.energy_column, errors=errors)
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
    lines: dict = field(default_factory=dict)  # id -> line of the structures without an energy


def _crystals(spec: LandscapeSpec, opts: Options, tally: _Tally, progress: bool) -> Iterator[Crystal]:
    """Every structure of the landscape that reads and checks well, with its energy (NaN when it
    has none); the rest go to ``tally.bad``."""
    if spec.energy_unit not in ENERGY_UNITS:
        raise LandscapeError(f"landscape {spec.name}: unknown energy_unit {spec.energy_unit!r}; "
                             f"use one of {sorted(ENERGY_UNITS)}")
    side, side_bad = _side_energies(spec)
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
        if rec.id in side:
            rec.energy = side[rec.id]
        try:
            crystal = analyse(rec, opts)
        except BadStructure as exc:
            bad.append(Rejected(rec.source, rec.id, str(exc), rec.line))
            continue
        per = crystal.n_molecules if spec.energy_per == "cell" else 1
        crystal.energy = _energy(rec.energy) * ENERGY_UNITS[spec.energy_unit] / per
        if np.isnan(crystal.energy):
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
    kept, rejected = molecules.decide(tally.lines)
    result = IngestResult([crystals[k] for k in kept], tally.bad + rejected, tally.n_read,
                          has_energies=molecules.has_energies())
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
        kept, rejected = molecules.decide(tally.lines)
        result = IngestResult([], tally.bad + rejected, tally.n_read, n_kept=len(kept),
                              has_energies=molecules.has_energies())
        _check_survivors(spec, result)
        order = [kept[k] for k in np.argsort([rows[k]["energy"] for k in kept], kind="stable")]
        store.copy_structures(staging, outdir / "structures.h5", [staged[k] for k in order])
        store.write_csv(manifest_table([rows[k] for k in order]), outdir / "manifest.csv")
        store.write_csv(quarantine_table(result.quarantine), outdir / "quarantine.csv")
    finally:
        staging.unlink(missing_ok=True)
    return result


def _check_survivors(spec: LandscapeSpec, result: IngestResult) -> None:
    if not result.n_kept:
        reasons = Counter(_reason_kind(q.reason) for q in result.quarantine).most_common(3)
        raise LandscapeError(f"landscape {spec.name}: no structure survived ingest of {result.n_read} read "
                             f"from {spec.source}; most common reasons: {reasons}")


def _energy(value) -> float:
    """A structure's energy as a float, NaN when it has none."""
    return float(value) if value is not None and np.isfinite(value) else float("nan")


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
        self.seen: list[tuple[str, str, str, float, str | None]] = []  # source, id, molecule, energy, error

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
        self.seen.append((crystal.source, crystal.id, key, energy, error))
        return error is None

    def has_energies(self) -> bool:
        return any(not np.isnan(e) for _, _, _, e, _ in self.seen)

    def decide(self, lines: dict) -> tuple[list[int], list[Rejected]]:
        """(indices of the kept crystals in arrival order, the others' rejections); ``lines``: id ->
        line of the structures without an energy."""
        energetic = [not np.isnan(e) for _, _, _, e, _ in self.seen]
        rejected = []
        if any(energetic):
            rejected = [Rejected(src, i, "missing energy", lines.get(i))
                        for (src, i, _, _, _), ok in zip(self.seen, energetic) if not ok]
            candidates = [k for k, ok in enumerate(energetic) if ok]
        else:
            candidates = list(range(len(self.seen)))
        if not candidates:
            return [], rejected
        majority = Counter(self.seen[k][2] for k in candidates).most_common(1)[0][0]
        kept = []
        for k in candidates:
            src, i, key, _, error = self.seen[k]
            if key != majority:
                rejected.append(Rejected(src, i, f"different molecule: {key.split(':')[0]} ({key}) is not the "
                                                 f"landscape's {majority}"))
            elif error is not None:
                rejected.append(Rejected(src, i, error))
            else:
                kept.append(k)
        return kept, rejected


def one_molecule(crystals: list[Crystal], opts: Options | None = None) -> tuple[list[Crystal], list[Rejected]]:
    """The crystals of the majority molecule, atoms in canonical order (as the ingest keeps them),
    and the others' rejections."""
    molecules = _Molecules(opts or Options())
    for crystal in crystals:
        molecules.add(crystal)
    kept, rejected = molecules.decide({})
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


def write_landscape(result: IngestResult, outdir: str | Path) -> None:
    """Write structures.h5, manifest.csv and quarantine.csv into ``outdir``."""
    outdir = Path(outdir)
    order = np.argsort([c.energy for c in result.crystals], kind="stable")
    crystals = [result.crystals[k] for k in order]
    store.write_structures(crystals, outdir / "structures.h5")
    store.write_csv(manifest(crystals), outdir / "manifest.csv")
    store.write_csv(quarantine_table(result.quarantine), outdir / "quarantine.csv")
