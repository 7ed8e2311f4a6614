"""Energies from side tables, and energy units.

A side table is a CSV file whose first column is the structure id and whose
other columns hold energies (Genarris: ``id,PBE+MBD(eV),MACE-OFF23(L)(eV)``).
:func:`read_energy_table` picks the column by name (exactly, then
case-insensitively, then as the one column containing the name) or takes the
first column that holds a number, and returns ``{id: energy}`` in the
table's unit; :data:`ENERGY_UNITS` converts to kJ/mol and
:func:`unit_of_column` reads a unit from a column header like ``E(eV)``.

Numbers are read strictly (:func:`parse_energy`): a decimal comma, a
thousands separator or a unit glued to the number is an error, never a
truncation.  The delimiter is a comma, or a semicolon or tab when the
header has no comma; a row with more fields than the header (a decimal
comma in a comma-separated table) is a bad row.  With ``expect_unit`` the
energy column's stated unit (``E(eV)``) must be the configured one.

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

import numpy as np

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


_DECIMAL = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
_MISSING = {"", "nan", "na", "n/a", "none", "null", "?", "."}


def parse_energy(value) -> float:
    """A finite energy from a file's text or number; ValueError in plain words otherwise.

    Text must be one plain decimal number ('-70628.795559', '-1.2e3');
    '-70628,795559' (a decimal comma), '1_000', '12 kJ', 'nan' or 'inf' are
    errors, not truncations.  Numbers must be finite; True/False and lists
    are refused.
    """
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"non-numeric energy {value!r} (a true/false flag)")
    if isinstance(value, (int, float, np.integer, np.floating)):
        if not math.isfinite(value):
            raise ValueError(f"non-numeric energy {value!r}")
        return float(value)
    if isinstance(value, (list, tuple, np.ndarray)):
        items = np.ravel(value).tolist()
        hint = " (a decimal comma?)" if len(items) == 2 else ""
        raise ValueError(f"energy {','.join(map(str, items))!r} is {len(items)} numbers, not one{hint}")
    text = str(value).strip()
    if _DECIMAL.fullmatch(text):
        number = float(text)
        if math.isfinite(number):
            return number
        raise ValueError(f"energy {text!r} is too large for a number")
    if _DECIMAL.fullmatch(text.replace(",", ".", 1)) and text.count(",") == 1:
        raise ValueError(f"energy {text!r} has a decimal comma (write {text.replace(',', '.')!r})")
    what = "missing" if text.lower() in _MISSING else "non-numeric"
    raise ValueError(f"{what} energy {text!r}")


def _float(text: str) -> float | None:
    try:
        return parse_energy(text)
    except ValueError:
        return None


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
                      errors: list[Rejected] | None = None, expect_unit: str | None = None) -> dict[str, float]:
    """``{id: energy}`` from a CSV side table, in the table's own unit.

    path: CSV with a header row; the first column is the id.
    column: the energy column's name (see the module docstring), or None for
        the first numeric column.
    errors: None to raise :class:`EnergyTableError` on the first bad row
        (non-numeric or empty energy, duplicate id, short or long row); a
        list to collect them as Rejected records (file, id, reason naming
        file and line) and skip those rows.  The first of duplicate ids is kept.
    expect_unit: the configured unit (a key of :data:`ENERGY_UNITS`); an
        energy column whose header states another unit raises EnergyTableError.
    """
    path = str(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise EnergyTableError(f"{path}: unreadable energy table: {exc}") from None
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    delimiter = "," if "," in first or not (";" in first or "\t" in first) else (";" if ";" in first else "\t")
    try:
        reader = csv.reader(text.splitlines(), delimiter=delimiter)
        rows = [(reader.line_num, r) for r in reader]
    except csv.Error as exc:
        raise EnergyTableError(f"{path}: unreadable energy table: {exc}") from None
    rows = [(n, r) for n, r in rows if r and any(c.strip() for c in r)]
    if not rows:
        raise EnergyTableError(f"{path}: empty energy table")
    (_, header), body = rows[0], rows[1:]
    header = [h.strip() for h in _trimmed(header, 1)]
    body = [(n, _trimmed(r, len(header))) for n, r in body]
    if len(header) < 2:
        raise EnergyTableError(f"{path}: an energy table needs an id column and an energy column; got {header}")
    col = _pick_column(header, body, column, path)
    stated = unit_of_column(header[col])
    if expect_unit is not None and stated is not None and stated != expect_unit:
        raise EnergyTableError(f"{path}: the energy column {header[col]!r} states {stated}, but the landscape's "
                               f"energy_unit is {expect_unit}; set energy_unit: {stated} in the config "
                               f"(or correct the header)")
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
        if len(row) > len(header):
            bad(ident, f"{len(row)} fields for {len(header)} columns for id {ident!r} in {path} line {line} "
                       f"({delimiter.join(row[1:])!r}): a decimal comma in a comma-separated table?", line)
            continue
        if len(row) <= col:
            bad(ident, f"missing energy ({header[col]}) for id {ident!r} in {path} line {line}", line)
            continue
        try:
            value = parse_energy(row[col])
        except ValueError as exc:
            bad(ident, f"{exc} ({header[col]}) for id {ident!r} in {path} line {line}", line)
            continue
        if ident in out:
            bad(ident, f"duplicate id {ident!r} in {path} line {line} (first on line {first_line[ident]})", line)
            continue
        out[ident] = value
        first_line[ident] = line
    return out


def _trimmed(row: list[str], width: int) -> list[str]:
    """A CSV row without the empty fields beyond ``width`` that a spreadsheet leaves at its end."""
    while len(row) > width and not row[-1].strip():
        row = row[:-1]
    return row
