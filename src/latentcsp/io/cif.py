"""CIF landscapes: one crystal per data block, symmetry expanded.

Parsing is gemmi's (``gemmi.cif``, C++), the symmetry expansion is ours:

* Symmetry operators come from ``_space_group_symop_operation_xyz`` /
  ``_symmetry_equiv_pos_as_xyz`` and are parsed with *float* translations, so
  the odd origins that pymatgen writes (``-z+593/813``) survive: gemmi's
  operator parser refuses them (denominators must divide 24), and gemmi's
  small-structure reader and ASE's CIF reader over-expand such files (13 of
  the Genarris 3 CIFs, by 2-3x with ASE).  Near-duplicate operators (within
  2e-3) are one; the list must form a group.  Without operators the group comes from the
  Hall symbol, the H-M symbol, or the IT number (in that order).
* Each site's images closer than :data:`MERGE_TOL` Å are one atom (special
  positions).  Where a site's image count exceeds its stated
  ``_atom_site_symmetry_multiplicity``, or the cell holds more atoms than the
  stated formula, the images are re-merged at the wider tolerances of
  :data:`WIDER_TOLS` until they agree; ``properties['merge_tol']`` then says
  which tolerance was needed.
* The expanded composition must equal ``_chemical_formula_sum`` (per cell, as
  pymatgen writes it, or per formula unit times ``_cell_formula_units_Z``, as
  the CSD writes it), else ``_chemical_formula_moiety`` likewise.  A mismatch
  that no tolerance repairs is rejected with both compositions.

Rejected (the rest of the file still yields): empty file, CIF syntax errors
such as truncation (per block: a broken block does not take its neighbours
with it), missing or non-numeric cell or coordinates, unknown element,
unknown space-group symbol, unparseable symmetry operator or operators that
do not form a group, partial occupancy (``_atom_site_occupancy`` off 1 by
more than :data:`OCC_TOL`), composition mismatch, duplicate block name.

Ids: the file stem when the file holds one crystal block (Genarris, CSD
downloads: the side tables use the stem), else the block name.  The block
name is kept in ``properties['block']``.

The crystallography (operators, cell, site expansion and its repair, space
groups) is :mod:`latentcsp.structure.crystallography`'s, shared with the .res reader
and the generator.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache
from typing import Iterator

import gemmi
import numpy as np
from ase.data import atomic_numbers, chemical_symbols

from . import RawStructure, Rejected, UnreadableFile, file_stem, read_text, register
from ..structure.crystallography import MERGE_TOL, WIDER_TOLS, cell_matrix, expand_sites, ops_arrays
from ..structure.pbc import MAX_CELLS_AWAY
from ..structure.symmetry import resolve_spacegroup
from .energies import parse_energy

#: Occupancies below ``1 - OCC_TOL`` are partial.
OCC_TOL = 0.01

_CELL_TAGS = ("_cell_length_a", "_cell_length_b", "_cell_length_c",
              "_cell_angle_alpha", "_cell_angle_beta", "_cell_angle_gamma")
SYMOP_TAGS = ("_space_group_symop_operation_xyz", "_symmetry_equiv_pos_as_xyz",
               "_space_group_symop.operation_xyz", "_symmetry_equiv.pos_as_xyz")
_HM_TAGS = ("_space_group_name_H-M_alt", "_symmetry_space_group_name_H-M",
            "_space_group.name_H-M_alt", "_space_group_name_H-M")
_HALL_TAGS = ("_space_group_name_Hall", "_symmetry_space_group_name_Hall")
_NUMBER_TAGS = ("_space_group_IT_number", "_symmetry_Int_Tables_number",
                "_space_group.IT_number")
#: Per-structure energy tags some CSP codes add (none is standard CIF).
ENERGY_TAGS = ("_csp_energy", "_lattice_energy", "_energy", "_total_energy")
_CRYSTAL_TAG_PREFIXES = ("_cell_", "_atom_site_", "_symmetry_", "_space_group")


# --------------------------------------------------------------------------
# chemistry helpers
# --------------------------------------------------------------------------

_ELEMENT_RE = re.compile(r"([A-Z][a-z]?)\s*(\d+(?:\.\d+)?)?")
_TWO_LETTER_UPPER = {"CL", "BR", "SI", "SE", "NA", "MG", "AL", "LI", "ZN", "CU", "FE", "CO", "NI", "MN", "CR"}


@lru_cache(maxsize=4096)
def element_number(symbol: str) -> int:
    """Atomic number of a type symbol or site label ('C', 'Cl1-', 'O2-', 'CL3', 'H12A', 'D'); 0 if unknown."""
    m = re.match(r"[A-Za-z]+", symbol.strip().strip("'\""))
    if not m:
        return 0
    letters = m.group(0)
    if letters.upper() in ("D", "T"):
        return 1
    two = letters[:2]
    if len(two) == 2 and ((two[1].islower()) or two.upper() in _TWO_LETTER_UPPER):
        z = atomic_numbers.get(two.capitalize(), 0)
        if z:
            return z
    return atomic_numbers.get(letters[0].upper(), 0)


@lru_cache(maxsize=1024)
def _formula_items(text: str) -> tuple[tuple[str, float], ...]:
    total: Counter = Counter()
    for part in text.split(","):
        part = part.strip()
        mult = 1.0
        m = re.match(r"^(\d+(?:\.\d+)?)\s*\((.*)\)\s*$", part)
        if m:
            mult, part = float(m.group(1)), m.group(2)
        for el, n in _ELEMENT_RE.findall(part):
            if el == "D":
                el = "H"
            total[el] += mult * (float(n) if n else 1.0)
    return tuple(sorted(total.items()))


def formula_counts(text: str) -> Counter:
    """Element counts of a formula ('C9 H8 O4', 'H32 C36 O16', '2(C3 H2 N4 O4), H2 O')."""
    return Counter(dict(_formula_items(text)))


def composition_matches(counts: Counter, formula: Counter, z: float | None) -> bool:
    """True when ``counts`` is the formula (per cell) or Z times it (per formula unit).

    Without Z, any positive integer multiple of the formula matches.
    """
    if not formula or set(counts) != set(formula):
        return False
    ratios = [counts[e] / formula[e] for e in formula if formula[e] > 0]
    if not ratios:
        return False
    ratio = ratios[0]
    if not all(math.isclose(r, ratio, rel_tol=1e-6) for r in ratios):
        return False
    if z:
        return math.isclose(ratio, 1.0, rel_tol=1e-6) or math.isclose(ratio, z, rel_tol=1e-6)
    return ratio >= 1 - 1e-9 and math.isclose(ratio, round(ratio), rel_tol=1e-6)


def formula_string(counts: Counter) -> str:
    """Hill-order formula of element counts ('C9H8O4')."""
    order = sorted(counts, key=lambda e: (0 if e == "C" else 1 if e == "H" else 2, e))
    if "C" not in counts:
        order = sorted(counts)
    return "".join(f"{e}{int(counts[e]) if float(counts[e]).is_integer() else counts[e]}" for e in order)


def element_counts(numbers: np.ndarray) -> Counter:
    """Element symbol -> number of atoms (float) of atomic numbers ``numbers``."""
    return Counter({chemical_symbols[z]: float(c) for z, c in Counter(numbers.tolist()).items()})


# --------------------------------------------------------------------------
# the reader
# --------------------------------------------------------------------------


class _Bad(Exception):
    """A block that cannot become a structure: args = (reason, line or None)."""


def _floats(values: list[str]) -> np.ndarray:
    try:
        return np.array(values, dtype=float)
    except ValueError:
        return np.array([gemmi.cif.as_number(v) for v in values], dtype=float)


def _first(block: "gemmi.cif.Block", tags) -> str | None:
    for tag in tags:
        v = block.find_value(tag)
        if v is not None:
            s = gemmi.cif.as_string(v).strip()
            if s not in ("", "?", "."):
                return s
    return None


def loop_values(block: "gemmi.cif.Block", tags) -> list[str]:
    for tag in tags:
        table = block.find([tag])
        if len(table):
            return [gemmi.cif.as_string(v) for v in table.column(0)]
    return []


def _is_crystal_block(block: "gemmi.cif.Block") -> bool:
    if block.find_value("_cell_length_a") is not None or len(block.find("_atom_site_", ["label"])):
        return True
    for item in block:
        tags = [item.pair[0]] if item.pair is not None else (item.loop.tags if item.loop is not None else [])
        if any(t.lower().startswith(_CRYSTAL_TAG_PREFIXES) for t in tags):
            return True
    return False


def _symmetry(block) -> tuple[tuple[str, ...], str | None, int | None]:
    """(operators as xyz strings, stated symbol, stated number)."""
    hm = _first(block, _HM_TAGS)
    hall = _first(block, _HALL_TAGS)
    num_text = _first(block, _NUMBER_TAGS)
    number = None
    if num_text is not None:
        try:
            number = int(float(num_text))
        except ValueError:
            raise _Bad(f"non-numeric space-group number {num_text!r}") from None
    stated_sg = None
    if hm is not None:
        stated_sg = resolve_spacegroup(hm)
        if stated_sg is None:
            raise _Bad(f"unknown space-group symbol {hm!r}")
    symops = tuple(loop_values(block, SYMOP_TAGS))
    if not symops and hall is not None:
        try:
            symops = tuple(op.triplet() for op in gemmi.symops_from_hall(hall))
        except Exception:  # noqa: BLE001 - gemmi raises RuntimeError/ValueError
            raise _Bad(f"unknown Hall symbol {hall!r} and no symmetry operators") from None
    if not symops:
        sg = stated_sg
        if sg is None and number is not None:
            if not 1 <= number <= 230:
                raise _Bad(f"space-group number {number} out of range and no symmetry operators")
            sg = resolve_spacegroup(str(number))
        symops = sg.symops if sg is not None else ()  # nothing stated: P1
    if number is None and stated_sg is not None:
        number = stated_sg.number
    return symops, hm, number


_SITE_EXTRA = ["?label", "?type_symbol", "?occupancy", "?symmetry_multiplicity", "?calc_flag"]


def _column(table, i: int) -> list[str] | None:
    return list(table.column(i)) if table.has_column(i) else None


def _block_structure(block, path: str, ident: str, lines, line: int | None) -> RawStructure:
    """One data block as a RawStructure; raises _Bad.  ``lines()`` gives the file's lines (for errors)."""
    cellpar = []
    for tag in _CELL_TAGS:
        v = block.find_value(tag)
        if v is None:
            raise _Bad(f"missing {tag}", _line_of(lines, line, tag))
        x = gemmi.cif.as_number(v)
        if not math.isfinite(x):
            raise _Bad(f"non-numeric {tag} {gemmi.cif.as_string(v)!r}", _line_of(lines, line, tag))
        cellpar.append(x)
    try:
        lattice = cell_matrix(*cellpar)
    except ValueError as exc:
        raise _Bad(str(exc), _line_of(lines, line, "_cell_length_a")) from None

    symops, hm, number = _symmetry(block)
    try:
        R, T = ops_arrays(symops)
    except ValueError as exc:
        raise _Bad(str(exc)) from None

    cart = False
    table = block.find("_atom_site_", ["fract_x", "?fract_y", "?fract_z"] + _SITE_EXTRA)
    if not len(table):
        table = block.find("_atom_site_", ["Cartn_x", "?Cartn_y", "?Cartn_z"] + _SITE_EXTRA)
        cart = True
    if not len(table):
        raise _Bad("no atom sites (_atom_site_fract_x)")
    xs, ys, zs, labels, types, occ_text, mult_text, flags = (_column(table, i) for i in range(8))
    if ys is None or zs is None:
        raise _Bad("no complete set of atom coordinates (_atom_site_fract_x/y/z)")
    n = len(xs)
    names = labels or types or [f"site{i + 1}" for i in range(n)]
    coords = np.stack([_floats(xs), _floats(ys), _floats(zs)], axis=1)
    if not np.isfinite(coords).all():
        i = int(np.nonzero(~np.isfinite(coords).all(axis=1))[0][0])
        bad = (xs, ys, zs)[int(np.nonzero(~np.isfinite(coords[i]))[0][0])][i]
        raise _Bad(f"non-numeric coordinate {bad!r} of site {names[i]}", _line_of(lines, line, names[i]))
    if cart:
        coords = np.linalg.solve(lattice.T, coords.T).T
    far = np.flatnonzero((np.abs(coords) > MAX_CELLS_AWAY).any(axis=1))
    if len(far):
        i = int(far[0])
        raise _Bad(f"site {names[i]} lies {np.abs(coords[i]).max():.3g} cells from the origin "
                   f"(fractional coordinates {', '.join(f'{x:.4g}' for x in coords[i])}): an absurd value",
                   _line_of(lines, line, names[i]))

    symbols = types or labels
    if symbols is None:
        raise _Bad("no _atom_site_type_symbol or _atom_site_label to name the elements")
    numbers = np.array([element_number(s) for s in symbols], dtype=int)
    if flags is not None:  # dummy atoms are not atoms
        real = np.array([f.lower() not in ("dum", "dummy") for f in flags])
        if not real.all():
            coords, numbers = coords[real], numbers[real]
            names = [x for x, r in zip(names, real) if r]
            occ_text = None if occ_text is None else [x for x, r in zip(occ_text, real) if r]
            mult_text = None if mult_text is None else [x for x, r in zip(mult_text, real) if r]
    if (numbers == 0).any():
        i = int(np.nonzero(numbers == 0)[0][0])
        raise _Bad(f"unknown element {symbols[i]!r} of site {names[i]}", _line_of(lines, line, names[i]))

    if occ_text is not None:
        occ = _floats([("1" if o in ("?", ".") else o) for o in occ_text])
        if not np.isfinite(occ).all():
            i = int(np.nonzero(~np.isfinite(occ))[0][0])
            raise _Bad(f"non-numeric occupancy {occ_text[i]!r} of site {names[i]}", _line_of(lines, line, names[i]))
        partial = np.nonzero(np.abs(occ - 1.0) > OCC_TOL)[0]
        if len(partial):
            i = int(partial[0])
            more = f" (and {len(partial) - 1} more sites)" if len(partial) > 1 else ""
            raise _Bad(f"partial occupancy: site {names[i]} occupancy {occ_text[i]}{more}",
                       _line_of(lines, line, names[i]))

    mult = None
    if mult_text is not None:
        mult = _floats(mult_text)
        mult = np.where(np.isfinite(mult), mult, 0).astype(int)

    z_text = _first(block, ("_cell_formula_units_Z",))
    z = None
    if z_text is not None:
        z = gemmi.cif.as_number(z_text)
        if not math.isfinite(z):
            raise _Bad(f"non-numeric _cell_formula_units_Z {z_text!r}", _line_of(lines, line, "_cell_formula_units_Z"))
    formula_tag = "_chemical_formula_sum"
    formula_text = _first(block, (formula_tag,))
    if formula_text is None:
        formula_tag = "_chemical_formula_moiety"
        formula_text = _first(block, (formula_tag,))
    formula = formula_counts(formula_text) if formula_text else Counter()

    frac, site, used = expand_sites(coords, R, T, lattice, MERGE_TOL, mult)
    counts = element_counts(numbers[site])
    if formula and not composition_matches(counts, formula, z):
        fixed = False
        if sum(counts.values()) > sum(formula.values()) * (z or 1):  # over-expanded: merge wider
            for wider in WIDER_TOLS:
                f2, s2, u2 = expand_sites(coords, R, T, lattice, wider, mult)
                c2 = element_counts(numbers[s2])
                if composition_matches(c2, formula, z):
                    frac, site, used, counts, fixed = f2, s2, u2, c2, True
                    break
        if not fixed:
            raise _Bad(f"expanded composition {formula_string(counts)} ({int(sum(counts.values()))} atoms, "
                       f"{len(R)} symmetry operators) does not match {formula_tag} {formula_text!r}"
                       + (f" (per cell or x Z={z:g})" if z else ""))
    tol_used = float(used.max()) if len(used) else MERGE_TOL

    props: dict = {"block": block.name}
    if z is not None:
        props["z_stated"] = int(z) if float(z).is_integer() else float(z)
    if number is not None:
        props["spacegroup_number_stated"] = number
    if tol_used > MERGE_TOL:
        props["merge_tol"] = tol_used
    energy = None
    for tag in ENERGY_TAGS:
        v = block.find_value(tag)
        if v is not None and gemmi.cif.as_string(v).strip() not in ("?", "."):
            try:  # strictly: a decimal comma is an error; a standard uncertainty '(3)' is dropped
                energy = parse_energy(re.sub(r"\(\d+\)$", "", gemmi.cif.as_string(v).strip()))
            except ValueError as exc:
                raise _Bad(f"{exc} ({tag})", _line_of(lines, line, tag)) from None
            props["energy_tag"] = tag
            break
    stated = hm if hm is not None else (str(number) if number is not None else None)
    return RawStructure(
        id=ident, source=path, cell=lattice, positions=frac @ lattice, numbers=numbers[site],
        energy=energy, spacegroup=stated, properties=props, line=line, labels=[names[k] for k in site])


def _line_of(lines, start: int | None, token: str) -> int | None:
    """1-based line, at or after ``start``, of the first line holding ``token`` as a word.

    ``lines`` is a callable returning the file's lines (split only on error).
    """
    if start is None:
        return None
    all_lines = lines() if callable(lines) else lines
    for i in range(start - 1, len(all_lines)):
        if token in all_lines[i].split():
            return i + 1
    return start


def _headers(text: str) -> list[tuple[str, int, int]]:
    """(block name, 1-based line, char offset) of every ``data_`` header at a line start."""
    out = []
    pos, line, counted = 0, 1, 0
    while True:
        i = text.find("data_", pos)
        if i < 0:
            break
        pos = i + 5
        j = i - 1
        while j >= 0 and text[j] in " \t":
            j -= 1
        if j >= 0 and text[j] not in "\r\n":
            continue
        line += text.count("\n", counted, i)
        counted = i
        end = i + 5
        while end < len(text) and not text[end].isspace():
            end += 1
        out.append((text[i + 5:end], line, j + 1))
    return out


@register("cif")
def read_cif(path: str) -> Iterator[RawStructure | Rejected]:
    """Yield every crystal block of a CIF file (see the module docstring)."""
    try:
        text = read_text(path)
    except UnreadableFile as exc:
        yield Rejected(path, None, str(exc))
        return
    if not text.strip():
        yield Rejected(path, None, "empty file")
        return
    headers = _headers(text)
    split: list[str] = []

    def lines() -> list[str]:
        if not split:
            split.extend(text.splitlines())
        return split

    # parse the whole document; on a syntax error parse block by block so that
    # one broken (e.g. truncated) block does not take the others with it
    chunks: list[tuple] = []  # (block or None, name, line, error or None)
    try:
        doc = gemmi.cif.read_string(text)
        by_order = len(headers) == len(doc)
        for i, block in enumerate(doc):
            ln = headers[i][1] if by_order else None
            chunks.append((block, block.name, ln, None))
    except Exception as whole_exc:  # noqa: BLE001 - gemmi raises ValueError/RuntimeError
        if not headers:
            yield Rejected(path, file_stem(path), f"CIF syntax error: {_gemmi_message(whole_exc)}",
                           _gemmi_line(whole_exc, 1))
            return
        bounds = [h[2] for h in headers] + [len(text)]
        for (name, ln, _), lo, hi in zip(headers, bounds, bounds[1:]):
            try:
                sub = gemmi.cif.read_string(text[lo:hi])
                chunks.append((sub[0], name, ln, None))
            except Exception as exc:  # noqa: BLE001
                hint = " (truncated file?)" if hi == len(text) else ""
                chunks.append((None, name, _gemmi_line(exc, ln),
                               f"CIF syntax error in block data_{name}: {_gemmi_message(exc)}{hint}"))
    crystal = [c for c in chunks if c[0] is None or _is_crystal_block(c[0])]
    if not crystal:
        yield Rejected(path, file_stem(path), "no crystal data blocks (no _cell_ or _atom_site_ items)", 1)
        return
    single = len(crystal) == 1
    seen: dict[str, int | None] = {}
    for block, name, ln, error in crystal:
        ident = file_stem(path) if single else name
        if error is not None:
            yield Rejected(path, ident, error, ln)
            continue
        if ident in seen:
            yield Rejected(path, ident, f"duplicate id: block data_{name} repeats the block of line {seen[ident]}", ln)
            continue
        seen[ident] = ln
        try:
            yield _block_structure(block, path, ident, lines, ln)
        except _Bad as bad:
            where = bad.args[1] if len(bad.args) > 1 and bad.args[1] is not None else ln
            yield Rejected(path, ident, f"block data_{name}: {bad.args[0]}", where)


def _gemmi_message(exc: Exception) -> str:
    return re.sub(r"^string:\d+(:\d+)?(\(\d+\))?:?\s*", "", str(exc))


def _gemmi_line(exc: Exception, offset: int | None) -> int | None:
    m = re.match(r"^string:(\d+)", str(exc))
    if not m:
        return offset
    return int(m.group(1)) + (offset or 1) - 1
