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

import numpy as np
import pandas as pd

from . import store
from .io import RawStructure, Rejected, read_source
from .io.energies import ENERGY_UNITS, EnergyTableError, read_energy_table
from .structure import BadStructure, Crystal, Options, analyse, assign_canonical_order, reference_graph


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
    crystals: list[Crystal]
    quarantine: list[Rejected]
    n_read: int

    def summary(self, name: str) -> str:
        reasons = Counter(_reason_kind(q.reason) for q in self.quarantine)
        text = ", ".join(f"{n} {r}" for r, n in reasons.most_common())
        return (f"{name}: read {self.n_read}, kept {len(self.crystals)}, "
                f"quarantined {len(self.quarantine)}" + (f" ({text})" if text else ""))


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
    lines: dict[str, int | None] = {}  # of the structures without an energy
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
            lines[crystal.id] = rec.line
        crystals.append(crystal)
    if progress:
        _progress(spec.name, n_read, start, final=True)
    crystals, missing = _with_energies(crystals, lines)
    bad += missing
    crystals, wrong = _one_molecule(crystals, opts)
    bad += wrong
    if not crystals:
        reasons = Counter(_reason_kind(q.reason) for q in bad).most_common(3)
        raise LandscapeError(f"landscape {spec.name}: no structure survived ingest of {n_read} read "
                             f"from {spec.source}; most common reasons: {reasons}")
    return IngestResult(crystals, bad, n_read)


def _energy(value) -> float:
    """A structure's energy as a float, NaN when it has none."""
    return float(value) if value is not None and np.isfinite(value) else float("nan")


def _with_energies(crystals: list[Crystal], lines: dict) -> tuple[list[Crystal], list[Rejected]]:
    """Energies are optional for a whole landscape, not for some of its structures: where any
    structure has one, those without are quarantined ("missing energy"; ``lines``: id -> line)."""
    if all(np.isnan(c.energy) for c in crystals):
        return crystals, []
    return ([c for c in crystals if not np.isnan(c.energy)],
            [Rejected(c.source, c.id, "missing energy", lines.get(c.id)) for c in crystals if np.isnan(c.energy)])


def _one_molecule(crystals: list[Crystal], opts: Options) -> tuple[list[Crystal], list[Rejected]]:
    """Keep the crystals of the landscape's majority molecule; order their atoms canonically."""
    if not crystals:
        return [], []
    keys = Counter(c.molecule_key for c in crystals)
    majority = keys.most_common(1)[0][0]
    reference = reference_graph(next(c for c in crystals if c.molecule_key == majority), opts)
    kept, bad = [], []
    for c in crystals:
        if c.molecule_key != majority:
            bad.append(Rejected(c.source, c.id, f"different molecule: {c.molecule_key.split(':')[0]} "
                                                f"({c.molecule_key}) is not the landscape's {majority}"))
            continue
        try:
            assign_canonical_order(c, reference, opts)
        except BadStructure as exc:
            bad.append(Rejected(c.source, c.id, str(exc)))
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
        "rel_energy": energy - (np.nanmin(energy) if np.isfinite(energy).any() else np.nan),
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


def write_landscape(result: IngestResult, outdir: str | Path) -> None:
    """Write structures.h5, manifest.csv and quarantine.csv into ``outdir``."""
    outdir = Path(outdir)
    order = np.argsort([c.energy for c in result.crystals], kind="stable")
    crystals = [result.crystals[k] for k in order]
    store.write_structures(crystals, outdir / "structures.h5")
    store.write_csv(manifest(crystals), outdir / "manifest.csv")
    store.write_csv(quarantine_table(result.quarantine), outdir / "quarantine.csv")
