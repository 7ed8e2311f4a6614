"""SHELX .res reader: TITL styles, LATT/SYMM/SFAC expansion, special positions, bad input."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from ase.io import write as ase_write
from ase.spacegroup import crystal

from crystals import same_sites

from latentcsp.io import RawStructure, Rejected, read_source
from latentcsp.structure.crystallography import shelx_ops
from latentcsp.io.res import format_res, read_res

CELL = (7.0, 6.5, 9.0, 90.0, 105.0, 90.0)
SITES = [("C", (0.11, 0.23, 0.31)), ("O", (0.27, 0.25, 0.33))]


def record(title="s1 -101.25 P21/c", latt="1", symm=("-X, 1/2+Y, 1/2-Z",), sfac="C O",
           atoms=("C1 1 0.11 0.23 0.31 11.0 0.05", "O1 2 0.27 0.25 0.33 11.0 0.05"), cell=CELL, extra=()):
    lines = [f"TITL {title}", "CELL 1.54180 " + " ".join(str(v) for v in cell), "ZERR 4 0 0 0 0 0 0"]
    if latt is not None:
        lines.append(f"LATT {latt}")
    lines += [f"SYMM {s}" for s in symm]
    if sfac is not None:
        lines.append(f"SFAC {sfac}")
    lines += list(extra) + list(atoms) + ["END"]
    return "\n".join(lines) + "\n"


def write(tmp_path, text, name="x.res"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)



def reference(spacegroup, cell=CELL, sites=SITES):
    return crystal([s for s, _ in sites], [x for _, x in sites], spacegroup=spacegroup, cellpar=cell)


# ---------------------------------------------------------------- expansion


def test_cspy_style_p21c(tmp_path):
    (rec,) = read_res(write(tmp_path, record()))
    assert isinstance(rec, RawStructure), rec
    ref = reference(14)
    assert np.allclose(rec.cell, ref.cell[:])
    assert same_sites(rec.cell, rec.positions, rec.numbers, ref.positions, ref.numbers)
    assert rec.id == "x" and rec.energy == -101.25 and rec.spacegroup == "P21/c" and rec.line == 1
    assert rec.properties["title_name"] == "s1" and rec.properties["z_stated"] == 4


@pytest.mark.parametrize("latt,symm,sg", [
    ("7", ("-X, Y, 1/2-Z",), 15),                  # C2/c
    ("-7", ("X, -Y, 1/2+Z",), 9),                   # Cc
    ("-1", ("-X, 1/2+Y, -Z",), 4),                  # P21
    ("1", (), 2),                                   # P-1
    ("2", ("-X, -Y, Z", "-Y, X, Z", "Y, -X, Z"), 87),  # I4/m
])
def test_latt_and_symm_expansion(tmp_path, latt, symm, sg):
    assert len(shelx_ops(tuple(symm), int(latt))[0]) == len(reference(sg).get_array("spacegroup_kinds")) \
        // 2 * 0 + {15: 8, 9: 4, 4: 2, 2: 2, 87: 16}[sg]
    cell = (9.0, 9.0, 7.0, 90, 90, 90) if sg == 87 else CELL
    (rec,) = read_res(write(tmp_path, record(latt=latt, symm=symm, cell=cell, title="s1 -1.0")))
    ref = reference(sg, cell=cell)
    assert same_sites(rec.cell, rec.positions, rec.numbers, ref.positions, ref.numbers)


def test_special_positions_shelx_occupancy(tmp_path):
    atoms = ("C1 1 0.0 0.0 0.0 10.5 0.05",        # on the inversion centre, SHELX sof 1/2
             "C2 1 0.5 0.5 0.5 11.0 0.05",        # on another, sof 1 (writers that ignore the convention)
             "O1 2 0.2 0.3 0.1 11.0 0.05")
    (rec,) = read_res(write(tmp_path, record(latt="1", symm=(), atoms=atoms, title="p -1.0 P-1")))
    assert isinstance(rec, RawStructure), rec
    assert Counter(rec.numbers.tolist()) == {6: 2, 8: 2}


def test_partial_occupancy(tmp_path):
    atoms = ("C1 1 0.11 0.23 0.31 10.5 0.05", "O1 2 0.27 0.25 0.33 11.0 0.05")
    (rej,) = read_res(write(tmp_path, record(atoms=atoms)))
    assert isinstance(rej, Rejected) and rej.reason.startswith("partial occupancy: atom C1 sof 0.5")
    assert rej.line == 7
    # free-variable occupancies decode through FVAR
    atoms = ("C1 1 0.11 0.23 0.31 21.0 0.05", "O1 2 0.27 0.25 0.33 11.0 0.05")
    (rej,) = read_res(write(tmp_path, record(atoms=atoms, extra=("FVAR 1.0 0.6",))))
    assert "partial occupancy" in rej.reason and "0.6" in rej.reason
    (ok,) = read_res(write(tmp_path, record(atoms=atoms, extra=("FVAR 1.0 1.0",))))
    assert isinstance(ok, RawStructure)


def test_fixed_coordinates_and_continuations(tmp_path):
    atoms = ("C1 1 10.11 0.23 0.31 11.0 0.05 0.05 =", "   0.05 0 0 0", "O1 2 0.27 0.25 0.33")
    (rec,) = read_res(write(tmp_path, record(atoms=atoms)))
    ref = reference(14)
    assert same_sites(rec.cell, rec.positions, rec.numbers, ref.positions, ref.numbers)


def test_shelxl_file_with_long_sfac_q_peaks_and_instructions(tmp_path):
    text = "\n".join([
        "TITL caf in Fm-3m", "CELL 0.56087 5.450952 5.450952 5.450952 90 90 90", "ZERR 4 0.0001 0.0001 0.0001 0 0 0",
        "LATT 4",
        *[f"SYMM {op}" for op in ("-X,-Y,Z", "-X,Y,-Z", "X,-Y,-Z", "Z,X,Y", "Z,-X,-Y", "-Z,-X,Y", "-Z,X,-Y",
                                  "Y,Z,X", "-Y,Z,-X", "Y,-Z,-X", "-Y,-Z,X", "Y,X,-Z", "-Y,-X,-Z", "Y,-X,Z",
                                  "-Y,X,Z", "X,Z,-Y", "-X,Z,Y", "-X,-Z,-Y", "X,-Z,Y", "Z,Y,-X", "Z,-Y,X",
                                  "-Z,Y,X", "-Z,-Y,-X")],
        "SFAC Ca 8.6266 10.4421 7.3873 0.6599 1.5899 85.7484 1.0211 178.437 1.3751 =",
        "   0.0 0.0 0.0 1.0 40.08",
        "SFAC F", "UNIT 4 8", "L.S. 10", "PLAN 20", "FMAP 2", "WGHT 0.02 0.28", "FVAR 5.65548",
        "REM some remark", "Ca01 1 0.50000 0.50000 0.50000 10.02083 0.00333 0.00333 0.00333 =",
        " 0.00000 0.00000 0.00000", "F002 2 0.25000 0.75000 0.75000 10.04167 0.00492 0.00492 0.00492 =",
        " 0.00000 0.00000 0.00000", "HKLF 4", "END", "Q1 1 0.388889 0.388889 0.388889 11 0.05 0.32"])
    (rec,) = read_res(write(tmp_path, text + "\n"))
    assert isinstance(rec, RawStructure), rec
    assert Counter(rec.numbers.tolist()) == {20: 4, 9: 8}
    assert rec.spacegroup == "Fm-3m" and "unit_stated" not in rec.properties


def test_airss_title_and_p1(tmp_path):
    text = record(title="roy-3xk2 0.00 1234.5 -4321.987 0.00 0.00 56 (P21/c) n - 3", latt="-1", symm=(),
                  sfac="C O")
    (rec,) = read_res(write(tmp_path, text))
    assert rec.energy == -4321.987 and rec.spacegroup == "P21/c" and len(rec.numbers) == 2
    assert rec.properties["natoms"] == 56 and rec.properties["times_found"] == 3
    assert rec.properties["pressure"] == 0.0 and rec.properties["volume"] == 1234.5


def test_ase_written_res_round_trip(tmp_path):
    atoms = reference(14)
    atoms.info = {"energy": -12.5, "spacegroup": "P21/c"}  # ASE writes info as key=value pairs
    path = str(tmp_path / "ase.res")
    ase_write(path, atoms, format="res")
    (rec,) = read_res(path)
    assert isinstance(rec, RawStructure), rec
    assert same_sites(rec.cell, rec.positions, rec.numbers, atoms.positions, atoms.numbers, tol=1e-3)
    assert rec.properties["latt"] == -1 and rec.energy == -12.5 and rec.spacegroup == "P21/c"


def test_format_res_round_trip_with_centring_and_inversion(tmp_path):
    from latentcsp.structure.symmetry import resolve_spacegroup
    ops = resolve_spacegroup("C2/c").symops
    text = format_res("c2c", CELL, ["C", "O"], [x for _, x in SITES], ops, energy=-3.5, spacegroup="C 2/c")
    assert "LATT 7" in text and text.count("SYMM") == 1
    (rec,) = read_res(write(tmp_path, text))
    ref = reference(15)
    assert same_sites(rec.cell, rec.positions, rec.numbers, ref.positions, ref.numbers)
    assert rec.energy == -3.5 and rec.spacegroup == "C2/c"


def test_multi_record_file_ids_from_titles(tmp_path):
    text = record(title="a -1.0 P21/c") + record(title="b -2.0 P21/c") + record(title="c -3.0 P21/c")
    recs = list(read_res(write(tmp_path, text, "many.res")))
    assert [r.id for r in recs] == ["a", "b", "c"] and [r.energy for r in recs] == [-1.0, -2.0, -3.0]
    assert [r.line for r in recs] == [1, 10, 19]
    assert list(read_source(str(tmp_path)))[0].id == "a"


def test_synthetic_generator_title(tmp_path):
    (rec,) = read_res(write(tmp_path, record(title="gen-0001 12.3456 P212121", latt="-1",
                                             symm=("1/2-X, -Y, 1/2+Z", "-X, 1/2+Y, 1/2-Z", "1/2+X, 1/2-Y, -Z"))))
    assert rec.energy == 12.3456 and rec.spacegroup == "P212121" and len(rec.numbers) == 8


@pytest.mark.parametrize("title,energy,sg", [
    ("name=s7 energy=-3.25 spacegroup=P21/c", -3.25, "P21/c"),
    ("s7 in P2(1)/c", None, "P2(1)/c"),
    ("s7 relaxed structure", None, None),
    ("s7", None, None),
])
def test_title_variants(tmp_path, title, energy, sg):
    (rec,) = read_res(write(tmp_path, record(title=title)))
    assert isinstance(rec, RawStructure), rec
    assert rec.energy == energy and rec.spacegroup == sg


def test_energy_from_rem_line(tmp_path):
    (rec,) = read_res(write(tmp_path, record(title="s1", extra=("REM Energy = -99.5 kJ/mol",))))
    assert rec.energy == -99.5 and rec.properties["energy_from"] == "REM"


# ---------------------------------------------------------------- bad input


def test_empty_file(tmp_path):
    (rej,) = read_res(write(tmp_path, "\n\n"))
    assert isinstance(rej, Rejected) and rej.reason == "empty file"


@pytest.mark.parametrize("kwargs,reason,line", [
    (dict(title="s -1.0 Pxyz9"), "unknown space-group symbol 'Pxyz9'", 1),
    (dict(title="s abc P21/c"), "non-numeric energy 'abc'", 1),
    (dict(title="s -1.2.3 P21/c"), "non-numeric energy '-1.2.3'", 1),
    (dict(cell=(7.0, "six", 9.0, 90, 105, 90)), "non-numeric CELL value 'six'", 2),
    (dict(atoms=("C1 1 0.11 0.2?3 0.31 11.0", "O1 2 0.27 0.25 0.33 11.0")), "non-numeric coordinate of atom C1", 7),
    (dict(atoms=("C1 1 0.11 0.23 0.31 x.0", "O1 2 0.27 0.25 0.33 11.0")), "non-numeric occupancy of atom C1", 7),
    (dict(atoms=("C1 3 0.11 0.23 0.31", "O1 2 0.27 0.25 0.33")), "SFAC index 3 of atom C1 out of range", 7),
    (dict(symm=("-X, 1/2+Y, 1/2-Q",)), "unparseable SYMM", 5),
    (dict(sfac="C Qq"), "unknown SFAC element 'Qq'", 6),
    (dict(latt="x"), "non-numeric LATT", 4),
    (dict(atoms=()), "no atoms", 1),
    (dict(title="s -70628,795559 P21/c"), "energy '-70628,795559' has a decimal comma", 1),
    (dict(extra=("FVAR 1.0 1e19",), atoms=("C1 1 21.0 0.23 0.31 11.0", "O1 2 0.27 0.25 0.33 11.0")),
     "atom C1 lies 1e+19 cells from the origin", 8),
    (dict(atoms=("C1 1 1e19 0.23 0.31 11.0", "O1 2 0.27 0.25 0.33 11.0")),
     "coordinate of atom C1 is 1e+19: not a fractional value but a SHELX code", 7),
    (dict(atoms=("C1 1 0.1_1 0.23 0.31 11.0", "O1 2 0.27 0.25 0.33 11.0")), "non-numeric coordinate of atom C1", 7),
])
def test_bad_records_are_rejected_and_the_rest_read(tmp_path, kwargs, reason, line):
    text = record(title="good1 -1.0 P21/c") + record(**{"title": "bad -1.0 P21/c", **kwargs}) \
        + record(title="good2 -2.0 P21/c")
    recs = list(read_res(write(tmp_path, text)))
    assert [type(r).__name__ for r in recs] == ["RawStructure", "Rejected", "RawStructure"]
    rej = recs[1]
    assert reason in rej.reason, rej.reason
    assert rej.id == kwargs.get("title", "bad").split()[0]
    first = text.splitlines().index(f"TITL {kwargs.get('title', 'bad -1.0 P21/c')}")
    assert rej.line == first + line


def test_missing_cell_and_duplicate_ids(tmp_path):
    no_cell = "\n".join(ln for ln in record().splitlines() if not ln.startswith("CELL")) + "\n"
    (rej,) = read_res(write(tmp_path, no_cell))
    assert rej.reason == "no CELL line"
    text = record(title="a -1.0") + record(title="a -2.0") + record(title="b -3.0")
    recs = list(read_res(write(tmp_path, text)))
    assert [(type(r).__name__, r.id) for r in recs] == [("RawStructure", "a"), ("Rejected", "a"), ("RawStructure", "b")]
    assert recs[1].reason.startswith("duplicate id") and recs[1].line == 10
