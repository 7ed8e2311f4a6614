"""Extended XYZ landscapes (one frame per crystal), optionally bz2/gz compressed.

Energy from the frame's info dict (``energy``) or its calculator; space group
from ``info['spacegroup']``; the id from ``info['name']`` (or ``id``), else
``<file stem>-<frame index>``.  Other scalar info entries are kept as
properties.

A stated space group that no symbol table knows is rejected; the number of
one that is known is kept as ``properties['spacegroup_number_stated']``.

The energy is read strictly from the comment line's text
(:func:`latentcsp.io.energies.parse_energy`: ``energy=-1,5`` is an error,
not -1 or a list).

Frames are split by their atom-count lines and parsed one at a time, so a bad
frame (non-numeric field, missing lattice) is rejected with its line and the
frames after it are still read.  A frame is accepted only when its count line
announces exactly the atom lines that follow it up to the next frame (or the
end of the file); a wrong count, a count line that is not a number, or a
damaged atom line resynchronises on the next line holding only an integer,
so one bad frame never takes good ones with it.
"""

from __future__ import annotations

import io
import re
from typing import Iterator

import numpy as np
from ase.data import atomic_numbers
from ase.io.extxyz import key_val_str_to_dict, read_xyz

from . import RawStructure, Rejected, UnreadableFile, file_stem, read_text, register
from ..structure.symmetry import resolve_spacegroup
from .energies import parse_energy

_SKIP = {"energy", "spacegroup", "name", "id", "pbc", "unit_cell"}


_ENERGY_TOKEN = re.compile(r"""(?:^|\s)energy\s*=\s*("[^"]*"|'[^']*'|\S+)""")
_COUNT = re.compile(r"\s*\d+\s*")


def _energy(frame: "_Frame", comment: str) -> float | None:
    """The frame's energy, parsed strictly from the comment line's text; None when it states none."""
    token = _ENERGY_TOKEN.search(comment)
    if token is not None:
        return parse_energy(token.group(1).strip("\"'"))
    if "energy" in frame.info:
        return parse_energy(frame.info["energy"])
    if frame.calc is not None:
        try:
            return parse_energy(frame.get_potential_energy())
        except Exception:  # noqa: BLE001 - a calculator without an energy
            return None
    return None


def _frames(lines: list[str]) -> Iterator[tuple[int, int, str | None]]:
    """(first line index, stop index, error or None) of every frame; a bad frame ends at the next count line.

    A frame is good when its count line is an integer n, the n lines after
    its comment line are atom lines (at least 4 fields) and the line after
    them is not (the next count line, a blank line or the end).
    """
    i = 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        head = lines[i].strip()
        if not _COUNT.fullmatch(head):
            nxt = _next_count(lines, i + 1)
            yield i, nxt, f"the atom-count line of a frame reads {head[:40]!r}, not an integer"
            i = nxt
            continue
        n = int(head)
        stop = i + 2 + n
        if stop <= len(lines) and all(_is_atom_line(ln) for ln in lines[i + 2:stop]) and (
                stop == len(lines) or not _is_atom_line(lines[stop])):
            yield i, stop, None
            i = stop
            continue
        nxt = _next_count(lines, i + 2)
        atoms = sum(_is_atom_line(ln) for ln in lines[i + 2:nxt])
        if nxt == len(lines) and atoms < n:
            yield i, nxt, f"truncated frame: {n} atoms announced, {atoms} atom lines left in the file"
        elif atoms == n:
            yield i, nxt, "blank or broken lines among the atom lines"
        else:
            end = f"the next frame (line {nxt + 1})" if nxt < len(lines) else "the end of the file"
            yield i, nxt, f"the frame announces {n} atoms but {atoms} atom lines follow before {end}"
        i = nxt


def _is_atom_line(line: str) -> bool:
    return len(line.split()) >= 4


def _next_count(lines: list[str], start: int) -> int:
    """Index of the first line at or after ``start`` holding only an integer and followed by a comment line."""
    for k in range(start, len(lines) - 1):
        if _COUNT.fullmatch(lines[k]):
            return k
    return len(lines)


class _Frame:
    """What the reader needs of one frame: info, cell, positions, numbers (and an ASE calc, if any)."""

    __slots__ = ("info", "cell", "positions", "numbers", "calc")

    def __init__(self, info, cell, positions, numbers, calc=None):
        self.info, self.cell, self.positions, self.numbers, self.calc = info, cell, positions, numbers, calc

    def get_potential_energy(self):
        return self.calc.get_potential_energy()


def _fast_frame(lines: list[str], lo: int, hi: int) -> _Frame | None:
    """Parse a frame with species and pos columns directly; None when it needs ASE's reader."""
    info = key_val_str_to_dict(lines[lo + 1])
    lattice = info.pop("Lattice", None)
    props = info.pop("Properties", "species:S:1:pos:R:3")
    if lattice is None:
        return None
    fields = props.split(":")
    cols, at = {}, 0
    for name, kind, width in zip(fields[0::3], fields[1::3], fields[2::3]):
        cols[name] = (at, kind, int(width))
        at += int(width)
    if "species" not in cols or "pos" not in cols or cols["pos"][1] != "R" or cols["pos"][2] != 3:
        return None
    rows = [ln.split() for ln in lines[lo + 2:hi]]
    if any(len(r) != at for r in rows):
        raise ValueError(f"atom lines must have {at} columns ({props})")
    n = len(rows)
    ps = cols["pos"][0]
    try:
        positions = np.array([r[ps:ps + 3] for r in rows], dtype=float).reshape(n, 3)
    except ValueError:
        bad = next(t for r in rows for t in r[ps:ps + 3] if not _is_float(t))
        raise ValueError(f"non-numeric position {bad!r}") from None
    sp = cols["species"][0]
    try:
        numbers = np.array([atomic_numbers[r[sp].capitalize()] for r in rows], dtype=int)
    except KeyError as exc:
        raise ValueError(f"unknown element {exc.args[0]!r}") from None
    cell = np.asarray(lattice, dtype=float).reshape(3, 3).T  # ASE parses Lattice column-major
    return _Frame(info, cell, positions, numbers)


def _is_float(tok: str) -> bool:
    try:
        float(tok)
        return True
    except ValueError:
        return False


def _ase_frame(lines: list[str], lo: int, hi: int) -> _Frame:
    atoms = next(read_xyz(io.StringIO("\n".join(lines[lo:hi]) + "\n"), index=0))
    cell = np.array(atoms.cell[:], dtype=float) if atoms.cell.rank == 3 else None
    return _Frame(dict(atoms.info), cell, atoms.get_positions(), atoms.get_atomic_numbers(), atoms.calc)


def _name_in(comment: str, fallback: str) -> str:
    """The name=/id= a comment line states (for a frame too broken to parse), else ``fallback``."""
    found = re.search(r"""(?:^|\s)(?:name|id)\s*=\s*("[^"]*"|'[^']*'|\S+)""", comment)
    return found.group(1).strip("\"'") if found else fallback


@register("extxyz")
def read_extxyz(path: str) -> Iterator[RawStructure | Rejected]:
    """Yield every frame of an extended XYZ file."""
    try:
        text = read_text(path)
    except UnreadableFile as exc:
        yield Rejected(path, None, str(exc))
        return
    if not text.strip():
        yield Rejected(path, None, "empty file")
        return
    lines = text.splitlines()
    stem = file_stem(path)
    seen: dict[str, int] = {}
    for index, (lo, hi, error) in enumerate(_frames(lines)):
        fallback = f"{stem}-{index}"
        if error is not None:
            yield Rejected(path, _name_in(lines[lo + 1] if lo + 1 < hi else "", fallback), error, lo + 1)
            continue
        try:
            frame = _fast_frame(lines, lo, hi) or _ase_frame(lines, lo, hi)
        except Exception as exc:  # noqa: BLE001 - ASE raises many kinds on bad text
            yield Rejected(path, _name_in(lines[lo + 1], fallback), f"unreadable frame: {exc}", lo + 1)
            continue
        ident = str(frame.info.get("name", frame.info.get("id", fallback)))
        if ident in seen:
            yield Rejected(path, ident, f"duplicate id: frame of line {seen[ident]} has the same id", lo + 1)
            continue
        seen[ident] = lo + 1
        if frame.cell is None or abs(np.linalg.det(frame.cell)) < 1e-6:
            yield Rejected(path, ident, "frame has no 3-d lattice", lo + 1)
            continue
        if not np.isfinite(frame.positions).all() or not np.isfinite(frame.cell).all():
            yield Rejected(path, ident, "non-numeric (nan/inf) position or lattice value", lo + 1)
            continue
        try:
            energy = _energy(frame, lines[lo + 1])
        except ValueError as exc:
            yield Rejected(path, ident, str(exc), lo + 1)
            continue
        props = {k: v for k, v in frame.info.items() if k not in _SKIP and np.ndim(v) == 0}
        sg = frame.info.get("spacegroup")
        if sg is not None:
            resolved = resolve_spacegroup(str(sg))
            if resolved is None:
                yield Rejected(path, ident, f"unknown space-group symbol {str(sg)!r}", lo + 1)
                continue
            props["spacegroup_number_stated"] = resolved.number
        yield RawStructure(
            id=ident,
            source=path,
            cell=frame.cell,
            positions=frame.positions,
            numbers=frame.numbers,
            energy=energy,
            spacegroup=None if sg is None else str(sg),
            properties=props,
            line=lo + 1,
        )
