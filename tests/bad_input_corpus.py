"""A corpus of bad input over the five formats, made here, each kind with its expected outcome beside it.

Every kind writes its file(s) into a folder, good structures mixed in where
the format holds several, and returns what the ingest must make of each
record: ``{(file name, id): outcome}``, where ``id`` is None for a record
that is the whole file and ``outcome`` is ``KEPT`` or words the quarantine
reason must contain (a list, where one (file, id) has several records).  Good structures come from :class:`Goods` (one
methanol-like molecule in P2_1/c, a slightly different cell each time;
energies in kJ/mol per molecule, within 10 kJ/mol of each other), so the
folder is one landscape.  :data:`ENERGY_TABLE` rows go into a side table.
"""

from __future__ import annotations

import bz2
import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from ase import Atoms
from crystals import co_crystal, methanol_like
from landscape_files import chemiscope_dataset, cif_block, extxyz_frame, res_text, write_asedb

KEPT = "kept"


class Goods:
    """An endless supply of good crystals of one molecule: (atoms, energy in kJ/mol per molecule)."""

    def __init__(self):
        self.count = 0

    def __call__(self) -> tuple[Atoms, float]:
        k = self.count
        self.count += 1
        cellpar = (7.0 + 0.02 * (k % 25), 6.5 + 0.02 * (k // 25), 9.0, 90, 105, 90)
        return methanol_like(cellpar=cellpar), -100.0 + 0.125 * (k % 80)


@dataclass
class Kind:
    name: str
    fmt: str
    write: Callable[[Path, Goods], dict]


KINDS: list[Kind] = []
#: (id, energy text) rows of the corpus's side table (header ``id,energy``); the ids are structures below.
ENERGY_TABLE: list[tuple[str, str]] = []


def kind(fmt: str, name: str):
    def add(func):
        KINDS.append(Kind(name, fmt, func))
        return func
    return add


def _res(folder, name, text):
    (folder / name).write_bytes(text if isinstance(text, bytes) else text.encode())


def _edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


# ---------------------------------------------------------------- SHELX .res


@kind("res", "empty file")
def _(folder, good):
    _res(folder, "r-empty.res", "")
    return {("r-empty.res", None): "empty file"}


@kind("res", "binary file named .res")
def _(folder, good):
    _res(folder, "r-binary.res", np.random.default_rng(1).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    return {("r-binary.res", None): "binary data, not a text file"}


@kind("res", "file cut short inside its last record (no END)")
def _(folder, good):
    first, last = good(), good()
    text = res_text(*first[:1], "rcut1", first[1]) + res_text(last[0], "rcut2", last[1])
    _res(folder, "r-cut.res", text[: text.rindex("H", 0, len(text) - 200)])
    return {("r-cut.res", "rcut1"): KEPT, ("r-cut.res", "rcut2"): "the file ends before the record's END line"}


@kind("res", "record without CELL")
def _(folder, good):
    atoms, e = good()
    text = "\n".join(ln for ln in res_text(atoms, "x", e).splitlines() if not ln.startswith("CELL")) + "\n"
    _res(folder, "r-nocell.res", text)
    return {("r-nocell.res", "r-nocell"): "no CELL line"}


@kind("res", "non-numeric CELL value")
def _(folder, good):
    atoms, e = good()
    _res(folder, "r-cellword.res", _edit(res_text(atoms, "x", e), "CELL 0.71073 7.", "CELL 0.71073 seven7."))
    return {("r-cellword.res", "r-cellword"): "non-numeric CELL value"}


@kind("res", "cell length zero")
def _(folder, good):
    atoms, e = good()
    text = res_text(atoms, "x", e).splitlines()
    text[1] = " ".join(text[1].split()[:2] + ["0.0"] + text[1].split()[3:])
    _res(folder, "r-zerocell.res", "\n".join(text) + "\n")
    return {("r-zerocell.res", "r-zerocell"): "impossible cell"}


@kind("res", "unknown SFAC element")
def _(folder, good):
    atoms, e = good()
    _res(folder, "r-sfac.res", _edit(res_text(atoms, "x", e), "SFAC C O H", "SFAC C Qq H"))
    return {("r-sfac.res", "r-sfac"): "unknown SFAC element 'Qq'"}


@kind("res", "SFAC index out of range")
def _(folder, good):
    atoms, e = good()
    _res(folder, "r-sfacindex.res", _edit(res_text(atoms, "x", e), "\nO5 2 ", "\nO5 7 "))
    return {("r-sfacindex.res", "r-sfacindex"): "SFAC index 7 of atom O5 out of range"}


@kind("res", "unparseable SYMM")
def _(folder, good):
    atoms, e = good()
    _res(folder, "r-symm.res", _edit(res_text(atoms, "x", e), "LATT -1", "LATT -1\nSYMM -X, 1/2+Y, 1/2-Q"))
    return {("r-symm.res", "r-symm"): "unparseable SYMM"}


@kind("res", "symmetry operators that are not a group")
def _(folder, good):
    atoms, e = good()
    _res(folder, "r-group.res", _edit(res_text(atoms, "x", e), "LATT -1", "LATT -1\nSYMM X+0.3, Y, Z"))
    return {("r-group.res", "r-group"): "do not form a group"}


@kind("res", "partial occupancy (disorder)")
def _(folder, good):
    atoms, e = good()
    _res(folder, "r-partial.res", _edit(res_text(atoms, "x", e), " 11.00000 0.05\n", " 10.50000 0.05\n"))
    return {("r-partial.res", "r-partial"): "partial occupancy: atom C1 sof 0.5"}


@kind("res", "coordinate of 1e19 (absurd; SHELX reads it as a free-variable code)")
def _(folder, good):
    atoms, e = good()
    text = res_text(atoms, "x", e).splitlines()
    row = next(k for k, ln in enumerate(text) if ln.startswith("H9 "))
    parts = text[row].split()
    text[row] = " ".join(parts[:3] + ["1e19"] + parts[4:])
    _res(folder, "r-absurd.res", "\n".join(text) + "\n")
    return {("r-absurd.res", "r-absurd"): "coordinate of atom H9 is 1e+19: not a fractional value but a SHELX code"}


@kind("res", "two sites on top of each other (named by the file's labels)")
def _(folder, good):
    atoms, e = good()
    text = res_text(atoms, "x", e)
    row = next(ln for ln in text.splitlines() if ln.startswith("C1 "))
    parts = row.split()
    shifted = f"C99 1 {float(parts[2]) + 0.01:.6f} {parts[3]} {parts[4]} 11.00000 0.05"
    _res(folder, "r-overlap.res", _edit(text, "END", shifted + "\nEND"))
    return {("r-overlap.res", "r-overlap"): "overlapping atoms C1 and C99 at 0.0"}


@kind("res", "decimal comma in the TITL energy")
def _(folder, good):
    atoms, e = good()
    _res(folder, "r-comma.res", res_text(atoms, "x", None).replace("TITL x", "TITL x -70628,795559"))
    return {("r-comma.res", "r-comma"): "decimal comma (write '-70628.795559')"}


@kind("res", "no energy anywhere")
def _(folder, good):
    atoms, _ = good()
    _res(folder, "r-noenergy.res", res_text(atoms, "x", None))
    return {("r-noenergy.res", "r-noenergy"): "missing energy"}


@kind("res", "a broken record between good ones")
def _(folder, good):
    (a, ea), (b, eb), (c, ec) = good(), good(), good()
    broken = _edit(res_text(b, "rmid2", eb), "\nO5 2 ", "\nO5 2 0.2?5 ")
    _res(folder, "r-multi.res", res_text(a, "rmid1", ea) + broken + res_text(c, "rmid3", ec))
    return {("r-multi.res", "rmid1"): KEPT, ("r-multi.res", "rmid2"): "non-numeric coordinate of atom O5",
            ("r-multi.res", "rmid3"): KEPT}


@kind("res", "good file with CRLF line endings and a UTF-8 byte-order mark")
def _(folder, good):
    atoms, e = good()
    _res(folder, "r-crlf.res", b"\xef\xbb\xbf" + res_text(atoms, "x", e).replace("\n", "\r\n").encode())
    return {("r-crlf.res", "r-crlf"): KEPT}


@kind("res", "good gzip-compressed file (.res.gz) in a folder with spaces")
def _(folder, good):
    atoms, e = good()
    (folder / "my data").mkdir(exist_ok=True)
    _res(folder, "my data/r gz.res.gz", gzip.compress(res_text(atoms, "x", e).encode()))
    return {("r gz.res.gz", "r gz"): KEPT}


@kind("res", "crystal of another molecule (CO)")
def _(folder, good):
    _res(folder, "r-other.res", res_text(co_crystal(), "x", -90.0))
    return {("r-other.res", "r-other"): "different molecule: CO"}


@kind("res", "one molecule of the cell broken (a hydrogen missing)")
def _(folder, good):
    atoms, e = good()
    del atoms[[k for k, s in enumerate(atoms.get_chemical_symbols()) if s == "H"][-1]]
    _res(folder, "r-broken.res", res_text(atoms, "x", e))
    return {("r-broken.res", "r-broken"): "more than one kind of molecule in the cell"}


@kind("res", "cell far too small (molecules overlap their images)")
def _(folder, good):
    atoms, e = good()
    atoms.set_cell(atoms.cell[:] * 0.55, scale_atoms=True)
    _res(folder, "r-squeezed.res", res_text(atoms, "x", e))
    return {("r-squeezed.res", "r-squeezed"): "bonded differently from the landscape's CH4O"}


# ---------------------------------------------------------------- CIF


@kind("cif", "empty file")
def _(folder, good):
    _res(folder, "c-empty.cif", "\n")
    return {("c-empty.cif", None): "empty file"}


@kind("cif", "binary file named .cif")
def _(folder, good):
    _res(folder, "c-binary.cif", bytes(range(256)) * 10)
    return {("c-binary.cif", None): "binary data, not a text file"}


@kind("cif", "syntax error in the middle block of three")
def _(folder, good):
    (a, ea), (b, eb), (c, ec) = good(), good(), good()
    broken = _edit(cif_block(b, "cmid2", eb), "loop_\n_atom_site_label", "loop_\n'unclosed\n_atom_site_label")
    _res(folder, "c-multi.cif", cif_block(a, "cmid1", ea) + broken + cif_block(c, "cmid3", ec))
    return {("c-multi.cif", "cmid1"): KEPT, ("c-multi.cif", "cmid2"): "CIF syntax error in block data_cmid2",
            ("c-multi.cif", "cmid3"): KEPT}


@kind("cif", "file cut short in its last block")
def _(folder, good):
    (a, ea), (b, eb) = good(), good()
    text = cif_block(a, "ccut1", ea) + cif_block(b, "ccut2", eb)
    _res(folder, "c-cut.cif", text[: text.rindex("'x, y, z'") + 5])
    return {("c-cut.cif", "ccut1"): KEPT, ("c-cut.cif", "ccut2"): "truncated file?"}


@kind("cif", "missing cell length")
def _(folder, good):
    atoms, e = good()
    text = "\n".join(ln for ln in cif_block(atoms, "x", e).splitlines() if not ln.startswith("_cell_length_c"))
    _res(folder, "c-nocell.cif", text + "\n")
    return {("c-nocell.cif", "c-nocell"): "missing _cell_length_c"}


@kind("cif", "unknown element")
def _(folder, good):
    atoms, e = good()
    _res(folder, "c-element.cif", _edit(cif_block(atoms, "x", e), "O5 O ", "O5 Qq "))
    return {("c-element.cif", "c-element"): "unknown element 'Qq' of site O5"}


@kind("cif", "unknown space-group symbol")
def _(folder, good):
    atoms, e = good()
    _res(folder, "c-sg.cif", _edit(cif_block(atoms, "x", e), "'P 1'", "'P 9/z'"))
    return {("c-sg.cif", "c-sg"): "unknown space-group symbol 'P 9/z'"}


@kind("cif", "composition does not match the stated formula")
def _(folder, good):
    atoms, e = good()
    _res(folder, "c-formula.cif", _edit(cif_block(atoms, "x", e), "_cell_length_a", "_chemical_formula_sum 'C2 O'\n"
                                                                                  "_cell_length_a"))
    return {("c-formula.cif", "c-formula"): "does not match _chemical_formula_sum 'C2 O'"}


@kind("cif", "non-numeric coordinate")
def _(folder, good):
    atoms, e = good()
    text = cif_block(atoms, "x", e).splitlines()
    row = next(k for k, ln in enumerate(text) if ln.startswith("H9 "))
    parts = text[row].split()
    text[row] = " ".join(parts[:3] + ["0.2x5"] + parts[4:])
    _res(folder, "c-coord.cif", "\n".join(text) + "\n")
    return {("c-coord.cif", "c-coord"): "non-numeric coordinate '0.2x5' of site H9"}


@kind("cif", "cell length of 1e19 Å")
def _(folder, good):
    atoms, e = good()
    text = cif_block(atoms, "x", e).splitlines()
    row = next(k for k, ln in enumerate(text) if ln.startswith("_cell_length_b"))
    text[row] = "_cell_length_b 1e19"
    _res(folder, "c-hugecell.cif", "\n".join(text) + "\n")
    return {("c-hugecell.cif", "c-hugecell"): "a lattice vector is longer than 10000 Å"}


@kind("cif", "fractional coordinate of -3e20")
def _(folder, good):
    atoms, e = good()
    text = cif_block(atoms, "x", e).splitlines()
    row = next(k for k, ln in enumerate(text) if ln.startswith("C1 "))
    parts = text[row].split()
    text[row] = " ".join(parts[:4] + ["-3e20"])
    _res(folder, "c-absurd.cif", "\n".join(text) + "\n")
    return {("c-absurd.cif", "c-absurd"): "site C1 lies 3e+20 cells from the origin"}


@kind("cif", "partial occupancy (disorder)")
def _(folder, good):
    atoms, e = good()
    text = _edit(cif_block(atoms, "x", e), "_atom_site_fract_z\n", "_atom_site_fract_z\n_atom_site_occupancy\n")
    lines = text.splitlines()
    start = lines.index("_atom_site_occupancy") + 1
    lines[start:] = [ln + (" 0.5" if k == 2 else " 1.0") for k, ln in enumerate(lines[start:])]
    _res(folder, "c-partial.cif", "\n".join(lines) + "\n")
    return {("c-partial.cif", "c-partial"): "partial occupancy: site C3 occupancy 0.5"}


@kind("cif", "two blocks with the same name")
def _(folder, good):
    (a, ea), (b, eb) = good(), good()
    _res(folder, "c-dup.cif", cif_block(a, "cdup", ea) + cif_block(b, "cdup", eb))
    return {("c-dup.cif", "cdup"): [KEPT, "duplicate id: block data_cdup"]}


@kind("cif", "no crystal data at all (a publication block)")
def _(folder, good):
    _res(folder, "c-nocrystal.cif", "data_global\n_publ_section_title 'A paper'\n")
    return {("c-nocrystal.cif", "c-nocrystal"): "no crystal data blocks"}


@kind("cif", "decimal comma in the energy")
def _(folder, good):
    atoms, _ = good()
    _res(folder, "c-comma.cif", _edit(cif_block(atoms, "x", -1.0), "_csp_energy -1.000000", "_csp_energy -98,5"))
    return {("c-comma.cif", "c-comma"): "decimal comma"}


@kind("cif", "good bzip2-compressed file (.cif.bz2)")
def _(folder, good):
    atoms, e = good()
    _res(folder, "c-good.cif.bz2", bz2.compress(cif_block(atoms, "x", e).encode()))
    return {("c-good.cif.bz2", "c-good"): KEPT}


# ---------------------------------------------------------------- extended XYZ


def _frames(good, names, energies=None):
    out = []
    for k, name in enumerate(names):
        atoms, e = good()
        out.append(extxyz_frame(atoms, name, e if energies is None or energies[k] is None else energies[k]))
    return out


@kind("extxyz", "atom count too large, good frames after it")
def _(folder, good):
    frames = _frames(good, ["xbig1", "xbig2", "xbig3", "xbig4"])
    frames[1] = _edit(frames[1], "24\n", "26\n")
    _res(folder, "x-countbig.extxyz", "".join(frames))
    return {("x-countbig.extxyz", "xbig1"): KEPT, ("x-countbig.extxyz", "xbig2"): "announces 26 atoms but 24",
            ("x-countbig.extxyz", "xbig3"): KEPT, ("x-countbig.extxyz", "xbig4"): KEPT}


@kind("extxyz", "atom count too small, good frames after it")
def _(folder, good):
    frames = _frames(good, ["xsmall1", "xsmall2", "xsmall3"])
    frames[0] = _edit(frames[0], "24\n", "20\n")
    _res(folder, "x-countsmall.extxyz", "".join(frames))
    return {("x-countsmall.extxyz", "xsmall1"): "announces 20 atoms but 24", ("x-countsmall.extxyz", "xsmall2"): KEPT,
            ("x-countsmall.extxyz", "xsmall3"): KEPT}


@kind("extxyz", "atom-count line that is not a number")
def _(folder, good):
    frames = _frames(good, ["xword1", "xword2", "xword3"])
    frames[1] = _edit(frames[1], "24\n", "twenty-four\n")
    _res(folder, "x-countword.extxyz", "".join(frames))
    return {("x-countword.extxyz", "xword1"): KEPT, ("x-countword.extxyz", "xword2"): "not an integer",
            ("x-countword.extxyz", "xword3"): KEPT}


@kind("extxyz", "coordinate of 1e20 Å (crashed the ingest)")
def _(folder, good):
    atoms, e = good()
    atoms.positions[0, 1] = 1e20
    _res(folder, "x-absurd.extxyz", extxyz_frame(atoms, "xabsurd", e))
    return {("x-absurd.extxyz", "xabsurd"): "atom C1 at"}


@kind("extxyz", "NaN coordinate")
def _(folder, good):
    atoms, e = good()
    text = extxyz_frame(atoms, "xnan", e).splitlines()
    text[5] = " ".join(text[5].split()[:2] + ["nan"] + text[5].split()[3:])
    _res(folder, "x-nan.extxyz", "\n".join(text) + "\n")
    return {("x-nan.extxyz", "xnan"): "nan/inf"}


@kind("extxyz", "frame without a lattice")
def _(folder, good):
    atoms, e = good()
    text = extxyz_frame(atoms, "xnolattice", e)
    text = text[:text.index("Lattice=")] + text[text.index("Properties="):]
    _res(folder, "x-nolattice.xyz", text.replace(' pbc="T T T"', ""))
    return {("x-nolattice.xyz", "xnolattice"): "no 3-d lattice"}


@kind("extxyz", "unknown element")
def _(folder, good):
    atoms, e = good()
    text = extxyz_frame(atoms, "xelement", e)
    _res(folder, "x-element.extxyz", text.replace("\nO ", "\nXx ", 1))
    return {("x-element.extxyz", "xelement"): "unknown element 'Xx'"}


@kind("extxyz", "decimal comma in the energy")
def _(folder, good):
    atoms, _ = good()
    _res(folder, "x-comma.extxyz", extxyz_frame(atoms, "xcomma", -98.5).replace("energy=-98.500000",
                                                                                  "energy=-98,500000"))
    return {("x-comma.extxyz", "xcomma"): "has a decimal comma (write '-98.500000')"}


@kind("extxyz", "good gzip-compressed file (.xyz.gz, used to be ignored)")
def _(folder, good):
    atoms, e = good()
    _res(folder, "x-good.xyz.gz", gzip.compress(extxyz_frame(atoms, "xgz", e).encode()))
    return {("x-good.xyz.gz", "xgz"): KEPT}


@kind("extxyz", "binary file named .xyz")
def _(folder, good):
    _res(folder, "x-binary.xyz", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    return {("x-binary.xyz", None): "binary data, not a text file"}


@kind("extxyz", "energy of +1e6 kJ/mol")
def _(folder, good):
    _res(folder, "x-high.extxyz", "".join(_frames(good, ["xhigh1", "xhigh2"], [None, 1e6])))
    return {("x-high.extxyz", "xhigh1"): KEPT, ("x-high.extxyz", "xhigh2"): "energy outlier: 1e+06 kJ/mol"}


@kind("extxyz", "a lone minimum far below the rest (eV value in a kJ/mol landscape, x96)")
def _(folder, good):
    _res(folder, "x-low.extxyz", "".join(_frames(good, ["xlow"], [-100.0 * 96.485])))
    return {("x-low.extxyz", "xlow"): "below the landscape's median"}


@kind("extxyz", "the same id in two files")
def _(folder, good):
    _res(folder, "x-dup-a.extxyz", "".join(_frames(good, ["xdup"])))
    _res(folder, "x-dup-b.extxyz", "".join(_frames(good, ["xdup"])))
    return {("x-dup-a.extxyz", "xdup"): KEPT, ("x-dup-b.extxyz", "xdup"): "duplicate id (first in"}


@kind("extxyz", "file cut short in its last frame")
def _(folder, good):
    text = "".join(_frames(good, ["xcut1", "xcut2"]))
    _res(folder, "x-cut.extxyz", text[: len(text) - 300])
    return {("x-cut.extxyz", "xcut1"): KEPT, ("x-cut.extxyz", "xcut2"): "truncated frame: 24 atoms announced"}


@kind("extxyz", "nearly flat cell")
def _(folder, good):
    atoms, e = good()
    atoms.set_cell([atoms.cell[0], atoms.cell[1], atoms.cell[0] * 1.3 + [0, 0, 0.05]], scale_atoms=False)
    _res(folder, "x-flat.extxyz", extxyz_frame(atoms, "xflat", e))
    return {("x-flat.extxyz", "xflat"): "the cell is flat (singular)"}


@kind("extxyz", "cell and coordinates in pm, not Å (density 5e-7 g/cm^3)")
def _(folder, good):
    atoms, e = good()
    atoms.set_cell(atoms.cell[:] * 100, scale_atoms=True)
    _res(folder, "x-sparse.extxyz", extxyz_frame(atoms, "xsparse", e))
    return {("x-sparse.extxyz", "xsparse"): "is below any crystal's (0.01 g/cm^3): cell lengths in the wrong unit?"}


# ---------------------------------------------------------------- ASE database


@kind("ase-db", "text file named .db")
def _(folder, good):
    _res(folder, "a-text.db", "id,energy\n1,-3.0\n")
    return {("a-text.db", None): "not a readable ASE database: not an SQLite file"}


@kind("ase-db", "gzip-compressed database (.db.gz)")
def _(folder, good):
    atoms, e = good()
    write_asedb(folder / "tmp.db", [(atoms, {"name": "agz", "lattice_energy": e})])
    _res(folder, "a-packed.db.gz", gzip.compress((folder / "tmp.db").read_bytes()))
    (folder / "tmp.db").unlink()
    return {("a-packed.db.gz", None): "compressed (decompress it first)"}


@kind("ase-db", "database with no rows")
def _(folder, good):
    import ase.db

    with ase.db.connect(str(folder / "a-empty.db")) as db:
        db.metadata = {"note": "nothing here"}
    return {("a-empty.db", None): "empty database (no rows)"}


def _db_kind(name: str, damage: Callable[[Atoms, dict], None], reason: str):
    """An ASE database of a good row, a damaged row and a good row."""
    file = f"a-{name}.db"

    def write(folder, good):
        rows = []
        for k in range(3):
            atoms, e = good()
            kvp = {"name": f"a{name}{k}", "lattice_energy": e}
            if k == 1:
                damage(atoms, kvp)
            rows.append((atoms, kvp))
        write_asedb(folder / file, rows)
        return {(file, f"a{name}0"): KEPT, (file, f"a{name}1"): reason, (file, f"a{name}2"): KEPT}
    return write


def _no_pbc(atoms, kvp):
    atoms.pbc = False


def _word_energy(atoms, kvp):
    kvp["lattice_energy"] = "high"


def _absurd_row(atoms, kvp):
    atoms.positions[3] = [2e19, 0.0, 0.0]


def _bad_symbol(atoms, kvp):
    kvp["space_group"] = "Q 42"


def _dummy_atom(atoms, kvp):
    atoms.numbers[5] = 0


for _name, _damage, _reason, _what in [
        ("nopbc", _no_pbc, "has no 3-d periodic cell", "a row without a periodic cell"),
        ("word", _word_energy, "non-numeric lattice_energy 'high'", "a row whose energy is a word"),
        ("absurd", _absurd_row, "atom C4 at 2e+19, 0, 0 Å", "a row with a coordinate of 2e19 Å"),
        ("symbol", _bad_symbol, "unknown space-group symbol 'Q 42'", "a row with an unknown space group"),
        ("dummy", _dummy_atom, "atom 6 has no element (atomic number 0)", "a row with a dummy atom (Z = 0)")]:
    kind("ase-db", _what)(_db_kind(_name, _damage, _reason))


# ---------------------------------------------------------------- chemiscope


def _dataset(good, names, units=None):
    structures = [good() for _ in names]
    return chemiscope_dataset([a for a, _ in structures], names, [e for _, e in structures], units)


@kind("chemiscope", "file cut short (invalid JSON)")
def _(folder, good):
    text = json.dumps(_dataset(good, ["jcut"]))
    _res(folder, "j-cut.json", text[: len(text) // 2])
    return {("j-cut.json", None): "invalid JSON"}


@kind("chemiscope", "JSON that is not a chemiscope dataset")
def _(folder, good):
    _res(folder, "j-list.json", "[1, 2, 3]")
    return {("j-list.json", None): "not a chemiscope dataset"}


def _entry_kind(name: str, damage: Callable[[dict], None], reason: str):
    """A chemiscope dataset of a good entry, a damaged entry and a good entry."""
    file = f"j-{name}.json"

    def write(folder, good):
        data = _dataset(good, [f"j{name}{k}" for k in range(3)])
        damage(data["structures"][1])
        _res(folder, file, json.dumps(data))
        return {(file, f"j{name}0"): KEPT, (file, f"j{name}1"): reason, (file, f"j{name}2"): KEPT}
    return write


def _no_x(entry):
    del entry["x"]


def _number_name(entry):
    entry["names"][0] = 6


def _absurd_entry(entry):
    entry["z"][4] = 1e20


def _short_cell(entry):
    entry["cell"] = entry["cell"][:6]


for _name, _damage, _reason, _what in [
        ("nox", _no_x, "missing key 'x'", "an entry without x coordinates"),
        ("names", _number_name, "'names' must be a list of element symbols", "an entry whose names hold a number"),
        ("absurd", _absurd_entry, "an atom lies more than 1000 cells from the origin",
         "an entry with a coordinate of 1e20 Å (before spglib sees it)"),
        ("cell", _short_cell, "'cell' must hold 9 numbers", "an entry whose cell has 6 numbers")]:
    kind("chemiscope", _what)(_entry_kind(_name, _damage, _reason))


@kind("chemiscope", "energies: a decimal comma, a true/false flag, a property of the wrong length")
def _(folder, good):
    data = _dataset(good, ["jcomma", "jflag", "jfine"])
    data["properties"]["energy"]["values"][0] = "-98,5"
    data["properties"]["energy"]["values"][1] = True
    data["properties"]["density"] = {"target": "structure", "values": [1.0, 2.0]}
    _res(folder, "j-energies.json", json.dumps(data))
    return {("j-energies.json", "jcomma"): "structure 0: energy '-98,5' has a decimal comma",
            ("j-energies.json", "jflag"): "a true/false flag", ("j-energies.json", "jfine"): KEPT,
            ("j-energies.json", None): "property 'density' has 2 values for 3 structures: ignored"}


@kind("chemiscope", "energies stated in eV in a kJ/mol landscape")
def _(folder, good):
    _res(folder, "j-units.json", json.dumps(_dataset(good, ["junits"], units="eV")))
    return {("j-units.json", "junits"): "the file states energies in eV, but the landscape's energy_unit is kJ/mol"}


@kind("chemiscope", "external structure file missing")
def _(folder, good):
    data = _dataset(good, ["jext", "jmissing"])
    (folder / "structures").mkdir(exist_ok=True)
    (folder / "structures" / "s0.json").write_text(json.dumps(data["structures"][0]))
    data["structures"] = [{"data": "structures/s0.json", "size": 24}, {"data": "structures/s1.json", "size": 24}]
    _res(folder, "j-external.json", json.dumps(data))
    return {("j-external.json", "jext"): KEPT, ("j-external.json", "jmissing"): "structure file missing",
            ("s0.json", None): "not a chemiscope dataset"}  # the folder holds the external file too


@kind("chemiscope", "good gzip-compressed dataset of a 2x1x1 supercell")
def _(folder, good):
    atoms, e = good()
    data = chemiscope_dataset([atoms.repeat((2, 1, 1))], ["jsuper"], [e])
    _res(folder, "j-good.json.gz", gzip.compress(json.dumps(data).encode()))
    return {("j-good.json.gz", "jsuper"): KEPT}


# ---------------------------------------------------------------- the side table of energies


@kind("res", "energy table: a decimal comma in a comma-separated row")
def _(folder, good):
    atoms, e = good()
    _res(folder, "t-comma.res", res_text(atoms, "x", e))
    ENERGY_TABLE.append(("t-comma", "-98,795559"))
    return {("t-comma.res", "t-comma"): "3 fields for 2 columns"}


@kind("extxyz", "energy table: 'n/a' for a structure")
def _(folder, good):
    _res(folder, "t-na.extxyz", "".join(_frames(good, ["tna"])))
    ENERGY_TABLE.append(("tna", "n/a"))
    return {("t-na.extxyz", "tna"): "missing energy 'n/a'"}


def write_corpus(folder: Path, good_files: int = 2) -> dict:
    """Write every kind, plus ``good_files`` good files per format, into ``folder``; the expected outcomes."""
    ENERGY_TABLE.clear()
    good = Goods()
    expected: dict = {}
    for k in KINDS:
        found = k.write(folder, good)
        assert not set(found) & set(expected), k.name
        expected.update(found)
    for n in range(good_files):
        expected.update(_good_files(folder, good, n))
    ENERGY_TABLE.append(("g-res-0", f"{-95.0:.3f}"))  # the table fills or overrides good structures too
    with open(folder.parent / "energies.csv", "w") as handle:
        handle.write("id,energy\n" + "".join(f"{i},{e}\n" for i, e in ENERGY_TABLE))
    return expected


def _good_files(folder: Path, good: Goods, n: int) -> dict:
    (a, ea), (b, eb), (c, ec), (d, ed), (e, ee) = (good() for _ in range(5))
    _res(folder, f"g-res-{n}.res", res_text(a, "x", ea))
    _res(folder, f"g-cif-{n}.cif", cif_block(b, f"gcif{n}", eb))
    _res(folder, f"g-xyz-{n}.extxyz", extxyz_frame(c, f"gxyz{n}", ec))
    write_asedb(folder / f"g-db-{n}.db", [(d, {"name": f"gdb{n}", "lattice_energy": ed})])
    _res(folder, f"g-json-{n}.json", json.dumps(chemiscope_dataset([e], [f"gjson{n}"], [ee])))
    return {(f"g-res-{n}.res", f"g-res-{n}"): KEPT, (f"g-cif-{n}.cif", f"g-cif-{n}"): KEPT,
            (f"g-xyz-{n}.extxyz", f"gxyz{n}"): KEPT, (f"g-db-{n}.db", f"gdb{n}"): KEPT,
            (f"g-json-{n}.json", f"gjson{n}"): KEPT}
