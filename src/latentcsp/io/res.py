"""SHELX .res landscapes, as CSP codes write them (CSPy/GLEE/DMACRYS, AIRSS, ASE).

One record per ``TITL ... END``; a file may hold several.  The ``TITL`` line
is read in one of three styles:

* key=value (ASE's writer): ``TITL name=x energy=-1.2 spacegroup=P21/c``;
* AIRSS: ``TITL name pressure volume enthalpy spin modspin [natoms] (sg) n - k``
  (energy = the enthalpy, eV per cell);
* CSP codes (CSPy/GLEE/DMACRYS and our synthetic generator):
  ``TITL <id> <energy> [<space group>] ...`` (the token after the energy is
  the space group when it is the last token or looks like a symbol);
  ``TITL <id> in <space group>`` (SHELXT) and free-text titles give no
  energy.

Energies are as stated (the landscape config gives unit and basis); a
``REM ... energy = <x>`` line is used when the title has none.

The cell is expanded with SHELX semantics: ``LATT n`` (|n| = 1 P, 2 I,
3 R obverse, 4 F, 5 A, 6 B, 7 C; n > 0 adds the inversion; SHELX's default is
n = 1), the identity plus every ``SYMM``, then images closer than
:data:`latentcsp.structure.crystallography.MERGE_TOL` merged (special positions).  A record with
neither ``LATT`` nor ``SYMM`` is taken as P1 (what naive writers mean).
Atoms are ``label sfac x y z [sof [U...]]`` with the element from ``SFAC``
(short or long form) or else the label; coordinates and occupancies decode
SHELX's fixed (+10) and free-variable (``FVAR``) codes.  The occupancy is
chemical when ``sof`` times the site-symmetry order is 1 (SHELX's convention
for special positions) or ``sof`` is 1 (writers that ignore it); anything
else is partial occupancy.  ``ZERR`` Z and ``UNIT`` are kept as properties;
an over-expanded cell (more atoms than ``UNIT``) is re-merged at wider
tolerances.

Ids: the file stem for a one-record file, else the TITL name.

Rejected (the rest of the file still yields): empty file, missing or
non-numeric CELL, non-numeric coordinate/occupancy/energy, unknown SFAC
element or index, unparseable SYMM, unknown space-group symbol in the title,
partial occupancy, no atoms, duplicate id.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path
from typing import Iterator

import gemmi
import numpy as np

from . import RawStructure, Rejected, UnreadableFile, file_stem, read_text, register
from ase.data import chemical_symbols

from ..structure.crystallography import (MERGE_TOL, WIDER_TOLS, cell_matrix, expand_sites, ops_arrays, parse_symop,
                               shelx_encoding, shelx_ops)
from .cif import SYMOP_TAGS, element_counts, element_number, formula_string, loop_values
from ..structure.pbc import MAX_CELLS_AWAY
from ..structure.symmetry import resolve_spacegroup
from .energies import parse_energy

#: SHELX instructions (first four letters); any other first word starts an atom.
INSTRUCTIONS = frozenset("""
ABIN ACTA AFIX ANIS ANSC ANSR BASF BIND BLOC BOND BUMP CELL CGLS CHIV CONF CONN DAMP DANG
DEFS DELU DFIX DISP EADP END EQIV EXTI EXYZ FEND FLAT FMAP FRAG FREE FVAR GRID HFIX HKLF
HTAB ISOR LATT LAUE LIST L.S. MERG MORE MOVE MPLA NCSY NEUT OMIT PART PLAN PRIG REM RESI
RIGU RTAB SADI SAME SFAC SHEL SIMU SIZE SPEC STIR SUMP SWAT SYMM TEMP TITL TWIN TWST UNIT
WGHT WIGL WPDB XNPD ZERR BEDE LONE SPIN MOLE
""".split())

_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_SG_LIKE = re.compile(r"^\(?[PABCIFRH][-0-9_/abcdemn() ]{0,14}(:[12HR])?\)?$")
_REM_ENERGY = re.compile(r"\benergy\b\s*[=:]?\s*([-+]?[\d.][^\s;]*)", re.IGNORECASE)
_Q_PEAK = re.compile(r"^Q\d+$", re.IGNORECASE)


class _Bad(Exception):
    """A record that cannot become a structure: args = (reason, line or None)."""


def _isnum(tok: str) -> bool:
    return bool(_NUMBER.match(tok))


def _num(tok: str, what: str, line: int) -> float:
    """A plain decimal number (not '1_0', 'nan', 'inf', '1,5' or non-ASCII digits); _Bad naming ``what`` otherwise."""
    try:
        value = float(tok)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or "_" in tok or not tok.isascii():
        raise _Bad(f"non-numeric {what} {tok!r}", line)
    return value


def _energy(tok: str, where: str, line: int) -> float:
    try:
        return parse_energy(tok)
    except ValueError as exc:
        raise _Bad(f"{exc} in {where}", line) from None


def _decode(value: float, fvar: list[float], what: str, line: int) -> float:
    """SHELX parameter code: |v| < 5 free, 10 + p fixed, ±(10 m + p) free variable m."""
    a = abs(value)
    if a < 5:
        return value
    m = int((a + 5) // 10)
    p = a - 10 * m
    if m == 1:  # fixed: 10 + p
        return p if value > 0 else -p
    if m - 1 >= len(fvar) or m < 2:
        raise _Bad(f"{what} is {value:g}: not a fractional value but a SHELX code for free variable {m:g}, "
                   f"and FVAR has {len(fvar)}", line)
    fv = fvar[m - 1]
    return p * fv if value > 0 else p * (1.0 - fv)


def _parse_title(rest: str, line: int) -> dict:
    """Name, energy, space group and extras of a TITL line (without 'TITL')."""
    toks = rest.split()
    out: dict = {"name": None, "energy": None, "spacegroup": None, "props": {}}
    if not toks:
        return out
    if any("=" in t for t in toks):  # key=value (ASE)
        pairs = {}
        for t in toks:
            if "=" in t:
                k, _, v = t.partition("=")
                pairs[k.lower()] = v.strip("'\"")
            elif out["name"] is None:
                out["name"] = t
        out["name"] = pairs.pop("name", out["name"])
        for key in ("energy", "enthalpy", "free_energy"):
            if key in pairs:
                out["energy"] = _energy(pairs.pop(key), f"TITL {key}", line)
                break
        for key in ("spacegroup", "space_group", "sg"):
            if key in pairs:
                out["spacegroup"] = pairs.pop(key)
                break
        out["props"].update({k: (float(v) if _isnum(v) else v) for k, v in pairs.items()})
        return out
    out["name"] = toks[0]
    paren = next((i for i, t in enumerate(toks) if t.startswith("(") and t.endswith(")") and i >= 5), None)
    if paren is not None and len(toks) >= 5:  # AIRSS
        fields = toks[1:paren]
        names = ["pressure", "volume", "enthalpy", "spin", "modspin", "natoms"]
        for fname, tok in zip(names, fields):
            value = _num(tok, f"AIRSS TITL {fname}", line)
            if fname == "enthalpy":
                out["energy"] = value
            else:
                out["props"][fname] = int(value) if fname == "natoms" else value
        out["spacegroup"] = toks[paren][1:-1]
        after = toks[paren + 1:]
        if len(after) >= 3 and after[0] == "n" and after[1] == "-" and after[2].isdigit():
            out["props"]["times_found"] = int(after[2])
        out["style"] = "airss"
        return out
    rest_toks = toks[1:]
    if rest_toks and rest_toks[0].lower() == "in" and len(rest_toks) >= 2:  # SHELXT: TITL name in P2(1)/c
        out["spacegroup"] = " ".join(rest_toks[1:])
        return out
    if rest_toks:
        first = rest_toks[0]
        if _isnum(first):
            out["energy"] = float(first)
            rest_toks = rest_toks[1:]
        elif len(rest_toks) >= 2 and (_isnum(rest_toks[1]) or _SG_LIKE.match(rest_toks[1])) \
                or re.match(r"^[-+]?[\d.]", first):
            _energy(first, "TITL (expected TITL <id> <energy> [<space group>])", line)
        # the token after the energy is the space group when it is the last one
        # (TITL <id> <energy> <sg>, our generator's format) or looks like one
        if rest_toks and not _isnum(rest_toks[0]) and (
                (len(rest_toks) == 1 and out["energy"] is not None) or _SG_LIKE.match(rest_toks[0])):
            out["spacegroup"] = rest_toks[0]
            rest_toks = rest_toks[1:]
        if rest_toks:
            out["props"]["title_extra"] = " ".join(rest_toks)
    return out


def _elements_of_sfac(toks: list[str], line: int) -> list[str]:
    """Element symbols of one SFAC line (short form, or long form with coefficients)."""
    out = []
    for tok in toks:
        if _isnum(tok):
            continue  # long-form scattering coefficients
        if element_number(tok) == 0 or not re.match(r"^[A-Za-z]{1,2}$", tok):
            raise _Bad(f"unknown SFAC element {tok!r}", line)
        out.append(tok)
    return out


def _logical_lines(lines: list[str], start: int, stop: int) -> Iterator[tuple[int, str]]:
    """(1-based line, text) of lines[start:stop] with SHELX '=' continuations joined."""
    i = start
    while i < stop:
        no, text = i + 1, lines[i]
        while text.rstrip().endswith("=") and i + 1 < stop:
            i += 1
            text = text.rstrip()[:-1] + " " + lines[i]
        yield no, text
        i += 1


def _records(lines: list[str]) -> list[tuple[int, int]]:
    """(start, stop) line indices of the TITL ... END records."""
    starts = [i for i, ln in enumerate(lines) if ln[:4].upper() == "TITL"]
    if not starts:
        return [(0, len(lines))]
    bounds = starts + [len(lines)]
    return list(zip(bounds, bounds[1:]))


def _parse_record(lines: list[str], lo: int, hi: int) -> dict:
    rec: dict = {"title": {"name": None, "energy": None, "spacegroup": None, "props": {}},
                 "cell": None, "latt": None, "symm": [], "sfac": [], "unit": None, "zerr": None,
                 "fvar": [], "atoms": [], "rem_energy": None, "line": lo + 1, "end": False}
    for no, text in _logical_lines(lines, lo, hi):
        toks = text.split()
        if not toks:
            continue
        word = toks[0].upper()
        key = word[:4]
        if key == "TITL":
            rec["title"] = _parse_title(text.strip()[4:], no)
        elif key == "END":
            rec["end"] = True
            break
        elif key == "CELL":
            if len(toks) < 8:
                raise _Bad(f"CELL needs wavelength a b c alpha beta gamma, got {len(toks) - 1} values", no)
            rec["cell"] = ([_num(t, "CELL value", no) for t in toks[2:8]], no)
        elif key == "ZERR":
            if len(toks) > 1 and _isnum(toks[1]):
                rec["zerr"] = float(toks[1])
        elif key == "LATT":
            if len(toks) < 2 or not re.match(r"^[-+]?\d+$", toks[1]):
                raise _Bad(f"non-numeric LATT {' '.join(toks[1:])!r}", no)
            rec["latt"] = (int(toks[1]), no)
        elif key == "SYMM":
            op = text.strip()[4:].strip()
            try:
                parse_symop(op)
            except ValueError:
                raise _Bad(f"unparseable SYMM {op!r}", no) from None
            rec["symm"].append(op)
        elif key == "SFAC":
            rec["sfac"] += _elements_of_sfac(toks[1:], no)
        elif key == "UNIT":
            rec["unit"] = [float(t) if _isnum(t) else math.nan for t in toks[1:]]
        elif key == "FVAR":
            rec["fvar"] += [_num(t, "FVAR value", no) for t in toks[1:]]
        elif key == "REM":
            m = _REM_ENERGY.search(text)
            if m and rec["rem_energy"] is None:
                rec["rem_energy"] = _energy(m.group(1), "REM", no)
        elif key in INSTRUCTIONS or word in INSTRUCTIONS:
            continue
        elif _Q_PEAK.match(toks[0]):
            continue  # difference-map peaks
        else:
            if len(toks) < 5:
                raise _Bad(f"atom line {toks[0]!r} has {len(toks)} fields, needs label sfac x y z", no)
            rec["atoms"].append((toks, no))
    return rec


def _record_structure(rec: dict, path: str, ident: str) -> RawStructure:
    title = rec["title"]
    if rec["cell"] is None:
        raise _Bad("no CELL line", rec["line"])
    cellpar, cell_line = rec["cell"]
    try:
        lattice = cell_matrix(*cellpar)
    except ValueError as exc:
        raise _Bad(str(exc), cell_line) from None
    if not rec["atoms"]:
        raise _Bad("no atoms", rec["line"])

    sg_text = title["spacegroup"]
    sg_number = None
    if sg_text is not None:
        resolved = resolve_spacegroup(sg_text)
        if resolved is None:
            raise _Bad(f"unknown space-group symbol {sg_text!r}", rec["line"])
        sg_number = resolved.number

    latt = rec["latt"]
    if latt is None:
        latt_n = 1 if rec["symm"] else -1  # SHELX default vs naive P1 writers
    else:
        latt_n = latt[0]
    try:
        R, T = shelx_ops(tuple(rec["symm"]), latt_n)
    except ValueError as exc:
        raise _Bad(str(exc), latt[1] if latt else rec["line"]) from None

    sfac = rec["sfac"]
    fvar = rec["fvar"]
    n = len(rec["atoms"])
    frac = np.empty((n, 3))
    sof = np.empty(n)
    numbers = np.empty(n, dtype=int)
    labels = []
    for i, (toks, no) in enumerate(rec["atoms"]):
        label = toks[0]
        labels.append(label)
        if not re.match(r"^[-+]?\d+$", toks[1]):
            raise _Bad(f"non-numeric SFAC index {toks[1]!r} of atom {label}", no)
        k = int(toks[1])
        if sfac:
            if not 1 <= k <= len(sfac):
                raise _Bad(f"SFAC index {k} of atom {label} out of range 1..{len(sfac)}", no)
            z = element_number(sfac[k - 1])
        else:
            z = element_number(label)
        if z == 0:
            raise _Bad(f"unknown element of atom {label}", no)
        numbers[i] = z
        for j in range(3):
            frac[i, j] = _decode(_num(toks[2 + j], f"coordinate of atom {label}", no), fvar,
                                 f"coordinate of atom {label}", no)
        sof[i] = _decode(_num(toks[5], f"occupancy of atom {label}", no), fvar, f"occupancy of atom {label}", no) \
            if len(toks) > 5 else 1.0

    far = np.flatnonzero(np.abs(frac).max(axis=1) > MAX_CELLS_AWAY)
    if len(far):
        i = int(far[0])
        raise _Bad(f"atom {labels[i]} lies {np.abs(frac[i]).max():.3g} cells from the origin (fractional "
                   f"coordinates {', '.join(f'{x:.4g}' for x in frac[i])}): an absurd value", rec["atoms"][i][1])
    expanded, site, _ = expand_sites(frac, R, T, lattice, MERGE_TOL)
    props: dict = dict(title["props"])
    unit = rec["unit"]
    unit_counts = None
    if unit and sfac and len(unit) == len(sfac) and all(math.isfinite(u) for u in unit):
        unit_counts = Counter()
        for el, u in zip(sfac, unit):
            if u > 0:
                unit_counts[_norm_el(el)] += u
    counts = element_counts(numbers[site])
    if unit_counts and counts != unit_counts and sum(counts.values()) > sum(unit_counts.values()):
        for wider in WIDER_TOLS:  # over-expanded: merge wider
            e2, s2, _ = expand_sites(frac, R, T, lattice, wider)
            c2 = element_counts(numbers[s2])
            if c2 == unit_counts:
                expanded, site, counts = e2, s2, c2
                props["merge_tol"] = wider
                break
    if unit_counts and counts != unit_counts:
        props["unit_stated"] = formula_string(unit_counts)

    images = np.bincount(site, minlength=n)
    order = len(R) / np.maximum(images, 1)
    chem = sof * order
    bad = np.nonzero((np.abs(chem - 1.0) > 0.02) & (np.abs(sof - 1.0) > 0.02))[0]
    if len(bad):
        i = int(bad[0])
        more = f" (and {len(bad) - 1} more atoms)" if len(bad) > 1 else ""
        raise _Bad(f"partial occupancy: atom {labels[i]} sof {sof[i]:g} on a site of symmetry order "
                   f"{order[i]:g} (occupancy {chem[i]:g}){more}", rec["atoms"][i][1])

    energy = title["energy"]
    if energy is None and rec["rem_energy"] is not None:
        energy = rec["rem_energy"]
        props["energy_from"] = "REM"
    if title["name"] is not None and title["name"] != ident:
        props["title_name"] = title["name"]
    if rec["zerr"] is not None:
        props["z_stated"] = int(rec["zerr"]) if float(rec["zerr"]).is_integer() else rec["zerr"]
    props["latt"] = latt_n
    if sg_number is not None:
        props["spacegroup_number_stated"] = sg_number
    return RawStructure(
        id=ident, source=path, cell=lattice, positions=expanded @ lattice, numbers=numbers[site],
        energy=energy, spacegroup=sg_text, properties=props, line=rec["line"], labels=[labels[k] for k in site])


def _norm_el(symbol: str) -> str:
    return chemical_symbols[element_number(symbol)]


@register("res")
def read_res(path: str) -> Iterator[RawStructure | Rejected]:
    """Yield every TITL...END record of a SHELX .res file (see the module docstring)."""
    try:
        text = read_text(path)
    except UnreadableFile as exc:
        yield Rejected(path, None, str(exc))
        return
    if not text.strip():
        yield Rejected(path, None, "empty file")
        return
    lines = text.splitlines()
    records = _records(lines)
    stem = file_stem(path)
    single = len(records) == 1
    seen: dict[str, int] = {}
    for index, (lo, hi) in enumerate(records):
        ident = stem if single else f"{stem}-{index}"
        try:
            rec = _parse_record(lines, lo, hi)
        except _Bad as bad:
            # still try to name it from its TITL line
            if not single and lines[lo][:4].upper() == "TITL" and len(lines[lo].split()) > 1:
                ident = lines[lo].split()[1]
            yield Rejected(path, ident, bad.args[0], bad.args[1] if len(bad.args) > 1 else lo + 1)
            continue
        if not single and rec["title"]["name"]:
            ident = rec["title"]["name"]
        if ident in seen:
            yield Rejected(path, ident, f"duplicate id: the record of line {seen[ident]} has the same id", lo + 1)
            continue
        seen[ident] = lo + 1
        if index == len(records) - 1 and not rec["end"]:
            yield Rejected(path, ident, "the file ends before the record's END line: truncated?", lo + 1)
            continue
        try:
            yield _record_structure(rec, path, ident)
        except _Bad as bad:
            yield Rejected(path, ident, bad.args[0], bad.args[1] if len(bad.args) > 1 else lo + 1)


# --------------------------------------------------------------------------
# writing (tests, benchmarks, the synthetic generator)
# --------------------------------------------------------------------------


def format_res(name: str, cellpar, elements, frac, symops=("x,y,z",), energy: float | None = None,
               spacegroup: str | None = None, z: int | None = None, unit: dict | None = None) -> str:
    """A SHELX .res record (CSP-code style) for an asymmetric unit and its operators.

    cellpar: a b c alpha beta gamma (Å, degrees); elements: symbols of the
    sites; frac: (n, 3) fractional coordinates; symops: the group's
    operators as xyz strings (all of them, centring included).  Inversion at
    the origin and centring are written as LATT, the rest as SYMM.  The title
    is ``TITL <name> [<energy>] [<space group without spaces>]``; ``unit``
    (element -> atoms per cell) writes a UNIT line.
    """
    latt, symm = shelx_encoding(*ops_arrays(tuple(symops)))
    title = [name] + ([f"{energy:.6f}"] if energy is not None else []) \
        + ([spacegroup.replace(" ", "")] if spacegroup else [])
    a, b, c, al, be, ga = cellpar
    out = ["TITL " + " ".join(title),
           f"CELL 0.71073 {a:.6f} {b:.6f} {c:.6f} {al:.6f} {be:.6f} {ga:.6f}",
           f"ZERR {z if z is not None else 1} 0.0 0.0 0.0 0.0 0.0 0.0",
           f"LATT {latt}"]
    out += [f"SYMM {op}" for op in symm]
    species = list(dict.fromkeys(elements))
    out.append("SFAC " + " ".join(species))
    if unit is not None:
        out.append("UNIT " + " ".join(f"{unit.get(e, 0):g}" for e in species))
    for i, (el, x) in enumerate(zip(elements, frac)):
        out.append(f"{el}{i + 1} {species.index(el) + 1} {x[0]:.7f} {x[1]:.7f} {x[2]:.7f} 11.00000 0.05")
    out.append("END")
    return "\n".join(out) + "\n"


def res_from_cif(path, energy: float = -1.0) -> str:
    """SHELX .res text of a single-block CIF's asymmetric unit (its own symmetry operators kept)."""
    block = gemmi.cif.read(str(path)).sole_block()
    cellpar = [gemmi.cif.as_number(block.find_value(f"_cell_{k}")) for k in
               ("length_a", "length_b", "length_c", "angle_alpha", "angle_beta", "angle_gamma")]
    sites = block.find("_atom_site_", ["type_symbol", "fract_x", "fract_y", "fract_z"])
    elements = [row[0] for row in sites]
    frac = np.array([[float(row[i]) for i in (1, 2, 3)] for row in sites])
    sg = block.find_value("_symmetry_space_group_name_H-M")
    return format_res(Path(path).stem, cellpar, elements, frac, loop_values(block, SYMOP_TAGS), energy=energy,
                      spacegroup=gemmi.cif.as_string(sg) if sg else None)
