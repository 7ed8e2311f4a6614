"""ASE databases (``ase.db``: SQLite ``.db``, or JSON), one row per crystal.

* id: the first of the key-value pairs ``name``, ``id``, ``csd_code``,
  ``identifier``, ``label``, else ``<file stem>-<row id>``;
* energy: key-value pair ``lattice_energy`` (``energy`` is a reserved key
  in ase.db), else the row's calculator energy, else None;
* space group: ``space_group``/``spacegroup``/``sg`` (a symbol), else
  ``spg_num``/``spacegroup_number``/``space_group_number`` (a number);
* every other scalar key-value pair (Z, Zprime, mol_smi, ...) is kept in
  ``properties``.  Row ``data`` blobs are not loaded (speed).

``line`` is the row id.  Rejected: empty database, unreadable file (not an ASE database), rows without
a 3-d periodic cell, non-numeric energy, unknown space-group symbol, duplicate
ids.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from . import RawStructure, Rejected, file_stem, register
from ..structure.symmetry import resolve_spacegroup
from .energies import parse_energy

ID_KEYS = ("name", "id", "csd_code", "identifier", "label")
ENERGY_KEYS = ("energy", "lattice_energy")  # "energy" is reserved in ase.db; kept for JSON dbs
SG_SYMBOL_KEYS = ("space_group", "spacegroup", "sg")
SG_NUMBER_KEYS = ("spg_num", "spacegroup_number", "space_group_number")


@register("ase-db")
def read_asedb(path: str) -> Iterator[RawStructure | Rejected]:
    """Yield every row of an ASE database as a crystal."""
    import ase.db

    if Path(path).stat().st_size == 0:
        yield Rejected(path, None, "empty file")
        return
    with open(path, "rb") as handle:
        head = handle.read(16)
    if not path.endswith(".json") and not head.startswith(b"SQLite format 3\x00"):
        kind = "compressed (decompress it first)" if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ")) \
            else "not an SQLite file"
        yield Rejected(path, None, f"not a readable ASE database: {kind}")
        return
    try:
        db = ase.db.connect(path, create_indices=False) if path.endswith(".db") else ase.db.connect(path)
        rows = list(db.select(include_data=False))
    except Exception as exc:  # noqa: BLE001 - sqlite3/json/ase raise many kinds
        yield Rejected(path, None, f"not a readable ASE database: {type(exc).__name__}: {exc}")
        return
    if not rows:
        yield Rejected(path, None, "empty database (no rows)")
        return
    stem = file_stem(path)
    seen: dict[str, int] = {}
    for row in rows:
        kvp = dict(row.key_value_pairs)
        ident = next((str(kvp[k]) for k in ID_KEYS if k in kvp and str(kvp[k]).strip()), f"{stem}-{row.id}")
        if ident in seen:
            yield Rejected(path, ident, f"duplicate id: row {row.id} repeats row {seen[ident]}", row.id)
            continue
        seen[ident] = row.id
        try:
            atoms = row.toatoms()
        except Exception as exc:  # noqa: BLE001
            yield Rejected(path, ident, f"unreadable row {row.id}: {exc}", row.id)
            continue
        cell = np.array(atoms.cell[:], dtype=float)
        if not atoms.pbc.all() or abs(np.linalg.det(cell)) < 1e-6:
            yield Rejected(path, ident, f"row {row.id} has no 3-d periodic cell", row.id)
            continue
        key = next((k for k in ENERGY_KEYS if k in kvp), None)
        stated = kvp[key] if key else row.get("energy")
        try:
            energy = None if stated is None else parse_energy(stated)
        except ValueError:
            yield Rejected(path, ident, f"non-numeric {key or 'calculator energy'} {stated!r} in row {row.id}", row.id)
            continue
        sg = next((str(kvp[k]) for k in SG_SYMBOL_KEYS if k in kvp), None)
        if sg is None:
            sg = next((str(int(kvp[k])) for k in SG_NUMBER_KEYS if k in kvp), None)
        used = set(ENERGY_KEYS) | set(SG_SYMBOL_KEYS)
        props = {k: v for k, v in kvp.items() if k not in used and np.ndim(v) == 0}
        if sg is not None:
            resolved = resolve_spacegroup(sg)
            if resolved is None:
                yield Rejected(path, ident, f"unknown space-group symbol {sg!r} in row {row.id}", row.id)
                continue
            props["spacegroup_number_stated"] = resolved.number
        props.setdefault("row_id", row.id)
        yield RawStructure(
            id=ident, source=path, cell=cell, positions=atoms.get_positions(),
            numbers=atoms.get_atomic_numbers(), energy=energy, spacegroup=sg,
            properties=props, line=row.id)
