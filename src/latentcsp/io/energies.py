"""Energies from side tables, and energy units.

A side table is a CSV file whose first column is the structure id and whose
other columns hold energies (Genarris: ``id,PBE+MBD(eV),MACE-OFF23(L)(eV)``).
:func:`read_energy_table` picks the column by name (exactly, then
case-insensitively, then as the one column containing the name) or takes the
first column that holds a number, and returns ``{id: energy}`` in the
table's unit; :data:`ENERGY_UNITS` converts to kJ/mol and
:func:`unit_of_column` reads a unit from a column header like ``E(eV)``.

Bad rows (a non-numeric or missing energy, a duplicate id) either raise
:class:`EnergyTableError` naming the file and line, or, when an ``errors``
list is given, become :class:`~latentcsp.io.Rejected` records there (with
file, id, line and reason) while the good rows are returned.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

from . import Rejected

#: Factors from an energy unit to kJ/mol (CODATA 2018 / thermochemical calorie).
ENERGY_UNITS: dict[str, float] = {
    "kJ/mol": 1.0,
    "kcal/mol": 4.184,
    "eV": 96.48533212,
    "hartree": 2625.499639,
}

_ALIASES = {
    "kj/mol": "kJ/mol", "kjmol": "kJ/mol", "kj mol-1": "kJ/mol", "kj/mole": "kJ/mol",
    "kcal/mol": "kcal/mol", "kcalmol": "kcal/mol", "kcal mol-1": "kcal/mol", "kcal/mole": "kcal/mol",
    "ev": "eV", "electronvolt": "eV",
    "hartree": "hartree", "ha": "hartree", "eh": "hartree", "au": "hartree", "a.u.": "hartree",
}


class EnergyTableError(ValueError):
    """A side table that cannot be used, or (strict mode) a bad row in it."""


def unit_factor(unit: str) -> float:
    """Factor from ``unit`` to kJ/mol; accepts common spellings (kJ/mol, kcal/mol, eV, hartree, Ha)."""
    key = _ALIASES.get(unit.strip().lower().replace("_", " "))
    if key is None:
        raise EnergyTableError(f"unknown energy unit {unit!r}; use one of {sorted(ENERGY_UNITS)}")
    return ENERGY_UNITS[key]


def to_kj_per_mol(value: float, unit: str, per_cell_z: float | None = None) -> float:
    """``value`` in ``unit`` as kJ/mol, divided by Z when it is a per-cell energy."""
    out = value * unit_factor(unit)
    return out / per_cell_z if per_cell_z else out


def unit_of_column(name: str) -> str | None:
    """The unit a column header states in brackets (``'PBE+MBD(eV)'`` -> ``'eV'``), or None."""
    for inner in re.findall(r"[\(\[]([^\)\]]+)[\)\]]", name):
        key = _ALIASES.get(inner.strip().lower())
        if key:
            return key
    return None


def _float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _pick_column(header: list[str], rows: list[tuple[int, list[str]]], column: str | None, path: str) -> int:
    if column is not None:
        for test in (lambda h: h == column,
                     lambda h: h.strip().lower() == column.strip().lower(),
                     lambda h: column.strip().lower() in h.lower()):
            hits = [i for i, h in enumerate(header) if i > 0 and test(h)]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise EnergyTableError(f"{path}: energy column {column!r} is ambiguous: "
                                       f"{[header[i] for i in hits]}")
        raise EnergyTableError(f"{path}: no energy column {column!r}; columns {header}")
    for i in range(1, len(header)):
        if any(len(r) > i and _float(r[i].strip()) is not None for _, r in rows):
            return i
    raise EnergyTableError(f"{path}: no numeric energy column; columns {header}")


def read_energy_table(path: str | Path, column: str | None = None,
                      errors: list[Rejected] | None = None) -> dict[str, float]:
    """``{id: energy}`` from a CSV side table, in the table's own unit.

    path: CSV with a header row; the first column is the id.
    column: the energy column's name (see the module docstring), or None for
        the first numeric column.
    errors: None to raise :class:`EnergyTableError` on the first bad row
        (non-numeric or empty energy, duplicate id, short row); a list to
        collect them as Rejected records (file, id, reason naming file and
        line) and skip those rows.  The first of duplicate ids is kept.
    """
    path = str(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            rows = [(reader.line_num, r) for r in reader]
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        raise EnergyTableError(f"{path}: unreadable energy table: {exc}") from None
    rows = [(n, r) for n, r in rows if r and any(c.strip() for c in r)]
    if not rows:
        raise EnergyTableError(f"{path}: empty energy table")
    (_, header), body = rows[0], rows[1:]
    header = [h.strip() for h in header]
    if len(header) < 2:
        raise EnergyTableError(f"{path}: an energy table needs an id column and an energy column; got {header}")
    col = _pick_column(header, body, column, path)
    out: dict[str, float] = {}
    first_line: dict[str, int] = {}

    def bad(ident: str | None, reason: str, line: int) -> None:
        if errors is None:
            raise EnergyTableError(reason)
        errors.append(Rejected(path, ident, reason, line))

    for line, row in body:
        ident = row[0].strip()
        if not ident:
            bad(None, f"empty id in {path} line {line}", line)
            continue
        if len(row) <= col:
            bad(ident, f"missing energy ({header[col]}) for id {ident!r} in {path} line {line}", line)
            continue
        text = row[col].strip()
        value = _float(text)
        if value is None:
            what = "missing" if text in ("", "nan", "NaN", "NA", "None", "?") else "non-numeric"
            bad(ident, f"{what} energy {text!r} ({header[col]}) for id {ident!r} in {path} line {line}", line)
            continue
        if ident in out:
            bad(ident, f"duplicate id {ident!r} in {path} line {line} (first on line {first_line[ident]})", line)
            continue
        out[ident] = value
        first_line[ident] = line
    return out
