"""chemiscope JSON datasets (``.json`` / ``.json.gz``): structures + properties.

A dataset is ``{"meta": ..., "properties": {name: {"target": "structure" |
"atom", "values": [...]}}, "structures": [...]}``.  Each structure is either
inline (``{"size", "names", "x", "y", "z", "cell"}``, ``cell`` = the a, b, c
vectors row-wise, 9 numbers) or, in lazily loaded datasets such as the
azaphenacenes one, a reference ``{"data": "structures/X-0.json", "size": n}``
to a file holding the same keys, relative to the dataset file.

* id: a structure property ``name``/``id``/``identifier`` if the dataset has
  one, else ``<dataset stem>-<index>`` (``Azaphenacenes-17``, the external
  file's own name);
* energy: property ``energy`` (else ``lattice_energy``), read strictly; unit
  as configured (a unit the property states, ``"units": "eV"``, is kept as
  ``properties['energy_unit_stated']`` for the ingest to check);
* space group: property ``spacegroup``/``space_group`` if any;
* other ``structure`` properties are kept (integral floats become ints, so
  ``groups`` is the molecule index 1..28); ``atom`` properties are dropped.

Supercells are reduced to a primitive cell: spglib's
``standardize_cell(to_primitive=True, no_idealize=True)`` at
:data:`PRIMITIVE_SYMPREC` Å (tight, so that a pseudo-translation is not
mistaken for a lattice vector and averaged away), accepted only when the atom
count divides and the composition scales; otherwise the cell is kept as
given.  ``no_idealize`` keeps the Cartesian frame (no rotation) and the
atoms' positions (molecules are split across the new cell's faces, as in any
unit cell).  ``properties['supercell']`` is the reduction factor.

Filtering: ``read_chemiscope(path, filter={"groups": 3})`` yields only the
matching structures and skips loading (and reducing) the others, which
matters when one dataset feeds one landscape per molecule; the same test is
:func:`apply_filter` for any record stream.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import spglib
from ase.data import atomic_numbers

from . import RawStructure, Rejected, UnreadableFile, file_stem, read_text, register
from ..structure.pbc import check_geometry
from ..structure.symmetry import resolve_spacegroup
from .energies import parse_energy, unit_of_column

#: spglib tolerance (Å) for the supercell -> primitive reduction.
PRIMITIVE_SYMPREC = 0.01
ID_KEYS = ("name", "id", "identifier")
ENERGY_KEYS = ("energy", "lattice_energy")
SG_KEYS = ("spacegroup", "space_group")


def _load(path: str | Path) -> dict:
    """The JSON document of a file (compressed or not); UnreadableFile or ValueError (bad JSON)."""
    return json.loads(read_text(path))


def _stated_unit(prop) -> str | None:
    """The unit a property states (``"units": "kJ/mol"``), in :data:`ENERGY_UNITS` spelling where known."""
    units = prop.get("units") if isinstance(prop, dict) else None
    if not isinstance(units, str) or not units.strip():
        return None
    return unit_of_column(f"({units})") or units.strip()


def _plain(value):
    """JSON scalar as a Python scalar; integral floats become ints."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def matches(props: dict, flt: dict | None) -> bool:
    """Whether a structure's properties pass a filter.

    ``flt`` maps a property to a value or a list of values; numbers compare
    numerically (``3`` matches ``3.0``), anything else as strings.
    """
    if not flt:
        return True
    for key, wanted in flt.items():
        if key not in props:
            return False
        options = wanted if isinstance(wanted, (list, tuple, set)) else [wanted]
        value = props[key]
        ok = False
        for option in options:
            try:
                ok = math.isclose(float(value), float(option), rel_tol=0, abs_tol=1e-9)
            except (TypeError, ValueError):
                ok = str(value) == str(option)
            if ok:
                break
        if not ok:
            return False
    return True


def apply_filter(records: Iterable[RawStructure | Rejected], flt: dict | None
                 ) -> Iterator[RawStructure | Rejected]:
    """The records whose properties pass ``flt`` (see :func:`matches`).

    Rejected records carry no properties and always pass, so the quarantine
    still lists them; pass ``filter=`` to :func:`read_chemiscope` to drop
    the structures of other groups before they are read at all.
    """
    for rec in records:
        if isinstance(rec, Rejected) or matches(rec.properties, flt):
            yield rec


def reduce_to_primitive(cell: np.ndarray, positions: np.ndarray, numbers: np.ndarray,
                        symprec: float = PRIMITIVE_SYMPREC
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Primitive cell of a (super)cell, in the same Cartesian frame.

    cell: (3, 3) rows, Å; positions: (n, 3) Cartesian, Å; numbers: (n,).
    Returns (cell, positions, numbers, factor) with factor = n / n_primitive;
    factor 1 (and the input unchanged) when spglib finds nothing smaller or
    its answer is inconsistent (count not dividing, composition not scaling).
    """
    frac = np.linalg.solve(cell.T, positions.T).T
    try:
        with warnings.catch_warnings():  # spglib 2.5's OLD_ERROR_HANDLING notice
            warnings.simplefilter("ignore", DeprecationWarning)
            out = spglib.standardize_cell((cell, frac, numbers), to_primitive=True,
                                          no_idealize=True, symprec=symprec)
    except Exception:  # noqa: BLE001 - spglib raises SpglibError on failure
        out = None
    if out is None:
        return cell, positions, numbers, 1
    pcell, pfrac, pnum = (np.asarray(x) for x in out)
    n, m = len(numbers), len(pnum)
    if m == 0 or m >= n or n % m:
        return cell, positions, numbers, 1
    factor = n // m
    full = np.bincount(numbers, minlength=119)
    prim = np.bincount(pnum, minlength=119)
    if not np.array_equal(full, prim * factor):
        return cell, positions, numbers, 1
    if not math.isclose(abs(np.linalg.det(cell)), factor * abs(np.linalg.det(pcell)), rel_tol=1e-6):
        return cell, positions, numbers, 1
    pfrac = pfrac - np.floor(pfrac)
    return pcell, pfrac @ pcell, pnum.astype(int), factor


def _structure_arrays(data) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """cell (3, 3), positions (n, 3), numbers (n,) of one structure object; ValueError or KeyError naming the problem.

    The geometry must pass :func:`latentcsp.structure.pbc.check_geometry` (finite, sane
    coordinates and cell) before anything compiled (spglib) sees it.
    """
    if not isinstance(data, dict):
        raise ValueError(f"a structure must be a JSON object with names, x, y, z and cell, not {type(data).__name__}")
    names = data["names"]
    if not isinstance(names, list) or not all(isinstance(s, str) for s in names):
        raise ValueError("'names' must be a list of element symbols")
    n = len(names)
    for axis in "xyz":
        if not isinstance(data[axis], list) or len(data[axis]) != n:
            raise ValueError(f"'{axis}' must list {n} coordinates (one per name)")
    pos = np.array([data["x"], data["y"], data["z"]], dtype=float).T.reshape(n, 3)
    try:
        numbers = np.array([atomic_numbers[s.capitalize() if len(s) <= 2 else s] for s in names], dtype=int)
    except KeyError as exc:
        raise ValueError(f"unknown element {exc.args[0]!r}") from None
    if "cell" not in data or data["cell"] is None:
        raise ValueError("no cell (a molecular, not a crystal, structure)")
    cell = np.array(data["cell"], dtype=float)
    if cell.size != 9:
        raise ValueError(f"'cell' must hold 9 numbers (a, b, c vectors), not {cell.size}")
    cell, _, pos = check_geometry(cell.reshape(3, 3), pos)
    return cell, pos, numbers


@register("chemiscope")
def read_chemiscope(path: str, *, filter: dict | None = None, symprec: float = PRIMITIVE_SYMPREC,
                    primitive: bool = True) -> Iterator[RawStructure | Rejected]:
    """Yield every structure of a chemiscope dataset (see the module docstring)."""
    if Path(path).stat().st_size == 0:
        yield Rejected(path, None, "empty file")
        return
    try:
        dataset = _load(path)
    except UnreadableFile as exc:
        yield Rejected(path, None, f"not a readable chemiscope JSON file: {exc}")
        return
    except ValueError as exc:
        yield Rejected(path, None, f"not a readable chemiscope JSON file: invalid JSON ({exc})")
        return
    if not isinstance(dataset, dict) or not isinstance(dataset.get("structures"), list):
        yield Rejected(path, None, "not a chemiscope dataset (no 'structures' list)")
        return
    structures = dataset["structures"]
    if not structures:
        yield Rejected(path, None, "empty dataset (no structures)")
        return
    n = len(structures)
    props_all: dict[str, list] = {}
    properties = dataset.get("properties") or {}
    if not isinstance(properties, dict):
        yield Rejected(path, None, "'properties' is not a JSON object: ignored")
        properties = {}
    for name, prop in properties.items():
        values = prop.get("values") if isinstance(prop, dict) else None
        if isinstance(prop, dict) and prop.get("target", "structure") == "structure" and isinstance(values, list):
            if len(values) != n:
                yield Rejected(path, None, f"property {name!r} has {len(values)} values for {n} structures: ignored")
                continue
            props_all[name] = values
    stem = file_stem(path)
    base = Path(path).parent
    id_key = next((k for k in ID_KEYS if k in props_all), None)
    energy_key = next((k for k in ENERGY_KEYS if k in props_all), None)
    sg_key = next((k for k in SG_KEYS if k in props_all), None)
    energy_unit = _stated_unit(properties.get(energy_key)) if energy_key else None
    seen: dict[str, int] = {}
    for index, entry in enumerate(structures):
        props = {k: _plain(v[index]) for k, v in props_all.items()}
        ident = str(props.pop(id_key)) if id_key else f"{stem}-{index}"
        if not matches(props, filter):
            continue
        if ident in seen:
            yield Rejected(path, ident, f"duplicate id: structure {index} repeats structure {seen[ident]}")
            continue
        seen[ident] = index
        energy = props.pop(energy_key, None) if energy_key else None
        if energy is not None:
            try:
                energy = parse_energy(energy)
            except ValueError as exc:
                yield Rejected(path, ident, f"structure {index}: {exc} (property {energy_key!r})")
                continue
            if energy_unit is not None:
                props["energy_unit_stated"] = energy_unit
        sg = props.pop(sg_key, None) if sg_key else None
        if sg is not None:
            resolved = resolve_spacegroup(str(sg))
            if resolved is None:
                yield Rejected(path, ident, f"unknown space-group symbol {str(sg)!r}")
                continue
            props["spacegroup_number_stated"] = resolved.number
        try:
            if isinstance(entry, dict) and "data" in entry and "names" not in entry:
                ref = entry["data"]
                if not (base / ref).is_file():
                    raise FileNotFoundError(2, "no such file", str(base / ref))
                data = _load(base / ref)
                props["structure_file"] = ref
            else:
                data = entry
            cell, pos, numbers = _structure_arrays(data)
        except FileNotFoundError as exc:
            yield Rejected(path, ident, f"structure file missing: {exc.filename}")
            continue
        except (KeyError, TypeError, ValueError, OSError) as exc:  # UnreadableFile is a ValueError
            what = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
            yield Rejected(path, ident, f"unreadable structure {index}: {what}")
            continue
        if primitive:
            cell, pos, numbers, factor = reduce_to_primitive(cell, pos, numbers, symprec)
            props["supercell"] = factor
        props["index"] = index
        yield RawStructure(id=ident, source=path, cell=cell, positions=pos, numbers=numbers,
                           energy=energy, spacegroup=None if sg is None else str(sg), properties=props)
