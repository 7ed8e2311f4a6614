"""Extended XYZ reader: frames as ASE reads them, and bad frames rejected one by one."""

from __future__ import annotations

import bz2

import numpy as np
import pytest
from ase.io import read as ase_read
from ase.io import write as ase_write
from ase.spacegroup import crystal

from latentcsp.io import RawStructure, Rejected
from latentcsp.io.extxyz import read_extxyz


def frames(n=3):
    out = []
    for k in range(n):
        atoms = crystal(["C", "O"], [[0.11, 0.23, 0.31], [0.27, 0.25, 0.33]], spacegroup=14,
                        cellpar=[7.0 + 0.1 * k, 6.5, 9.0, 90, 105, 90])
        atoms.info = {"name": f"s{k}", "energy": -10.0 + k, "spacegroup": "P 21/c", "density": 1.2, "type": "x"}
        out.append(atoms)
    return out


def write(tmp_path, images, name="x.extxyz"):
    path = tmp_path / name
    ase_write(str(path), images, format="extxyz")
    return str(path)


def test_frames_match_ase(tmp_path):
    path = write(tmp_path, frames())
    recs = list(read_extxyz(path))
    ref = ase_read(path, index=":")
    assert [r.id for r in recs] == ["s0", "s1", "s2"]
    for rec, atoms in zip(recs, ref):
        assert np.allclose(rec.cell, atoms.cell[:]) and np.allclose(rec.positions, atoms.positions)
        assert (rec.numbers == atoms.numbers).all()
        assert rec.energy == atoms.get_potential_energy() and rec.spacegroup == "P 21/c"
        assert rec.properties == {"density": 1.2, "type": "x", "spacegroup_number_stated": 14}
    assert [r.line for r in recs] == [1, 11, 21]


def test_compressed_and_unnamed(tmp_path):
    images = frames(2)
    for a in images:
        del a.info["name"]
    plain = write(tmp_path, images, "land.extxyz")
    packed = tmp_path / "land.xyz.bz2"
    packed.write_bytes(bz2.compress(open(plain, "rb").read()))
    recs = list(read_extxyz(str(packed)))
    assert [r.id for r in recs] == ["land-0", "land-1"]


def _lines(tmp_path):
    return open(write(tmp_path, frames())).read().splitlines()


def test_non_numeric_fields_rejected_and_the_rest_read(tmp_path):
    lines = _lines(tmp_path)
    lines[1] = lines[1].replace("energy=-10.0", "energy=oops")
    lines[13] = lines[13].replace(lines[13].split()[2], "1.2x", 1)  # a coordinate of frame 2
    path = tmp_path / "bad.extxyz"
    path.write_text("\n".join(lines) + "\n")
    recs = list(read_extxyz(str(path)))
    assert [type(r).__name__ for r in recs] == ["Rejected", "Rejected", "RawStructure"]
    assert recs[0].id == "s0" and recs[0].reason == "non-numeric energy 'oops'" and recs[0].line == 1
    assert recs[1].line == 11 and "non-numeric position '1.2x'" in recs[1].reason


def test_truncated_and_garbled_files(tmp_path):
    lines = _lines(tmp_path)
    path = tmp_path / "cut.extxyz"
    path.write_text("\n".join(lines[:-3]) + "\n")
    recs = list(read_extxyz(str(path)))
    assert [type(r).__name__ for r in recs] == ["RawStructure", "RawStructure", "Rejected"]
    assert recs[2].reason.startswith("truncated frame") and recs[2].line == 21
    path.write_text("\n".join(lines[:10] + ["eight"] + lines[11:]) + "\n")
    recs = list(read_extxyz(str(path)))  # the frame after the broken one is kept
    assert [(type(r).__name__, r.id, r.line) for r in recs] == [("RawStructure", "s0", 1), ("Rejected", "s1", 11),
                                                                 ("RawStructure", "s2", 21)]
    assert "reads 'eight', not an integer" in recs[1].reason


@pytest.mark.parametrize("edit,reason", [
    (lambda ls: ls[:10] + ["10"] + ls[11:], "announces 10 atoms but 8 atom lines follow before the next frame (line 21)"),
    (lambda ls: ls[:10] + ["6"] + ls[11:], "announces 6 atoms but 8 atom lines follow"),
    (lambda ls: ls[:14] + ls[15:], "announces 8 atoms but 7 atom lines follow"),
    (lambda ls: ls[:14] + ["7"] + ls[15:], "announces 8 atoms but 2 atom lines follow before the next frame (line 15)"),
    (lambda ls: ls[:14] + [""] + ls[14:], "blank or broken lines among the atom lines"),
])
def test_a_frame_with_a_wrong_atom_count_takes_no_good_frame_with_it(tmp_path, edit, reason):
    path = tmp_path / "count.extxyz"
    path.write_text("\n".join(edit(_lines(tmp_path))) + "\n")
    recs = list(read_extxyz(str(path)))
    good = [r.id for r in recs if isinstance(r, RawStructure)]
    assert good == ["s0", "s2"] and all(len(r.numbers) == 8 for r in recs if isinstance(r, RawStructure))
    bad = [r for r in recs if isinstance(r, Rejected)]
    assert bad[0].line == 11 and reason in bad[0].reason, bad
    assert all(r.line < 21 for r in bad)


@pytest.mark.parametrize("text,reason", [
    ("-70628,795559", "has a decimal comma (write '-70628.795559')"),
    ('"-1,5"', "decimal comma"),
    ("1_000", "non-numeric energy '1_000'"),
    ("T", "non-numeric energy 'T'"),
    ("nan", "missing energy 'nan'"),
    ("1e999", "too large"),
    ("-12kJ", "non-numeric energy '-12kJ'"),
])
def test_energies_are_parsed_strictly(tmp_path, text, reason):
    lines = _lines(tmp_path)
    lines[11] = lines[11].replace("energy=-9.0", f"energy={text}")
    path = tmp_path / "e.extxyz"
    path.write_text("\n".join(lines) + "\n")
    recs = list(read_extxyz(str(path)))
    assert [type(r).__name__ for r in recs] == ["RawStructure", "Rejected", "RawStructure"]
    assert reason in recs[1].reason and recs[1].id == "s1", recs[1].reason


def test_duplicate_ids_no_lattice_and_empty(tmp_path):
    images = frames(3)
    images[2].info["name"] = "s0"
    recs = list(read_extxyz(write(tmp_path, images)))
    assert isinstance(recs[2], Rejected) and recs[2].reason.startswith("duplicate id") and recs[2].id == "s0"
    mol = frames(1)[0]
    mol.set_cell(np.zeros((3, 3)))
    mol.pbc = False
    (rej,) = read_extxyz(write(tmp_path, [mol], "mol.extxyz"))
    assert isinstance(rej, Rejected) and rej.reason == "frame has no 3-d lattice"
    empty = tmp_path / "e.extxyz"
    empty.write_text("")
    (rej,) = read_extxyz(str(empty))
    assert rej.reason == "empty file"
    assert all(isinstance(r, RawStructure) for r in recs[:2])


def test_unknown_spacegroup_symbol(tmp_path):
    images = frames(3)
    images[1].info["spacegroup"] = "P 9 z"
    recs = list(read_extxyz(write(tmp_path, images)))
    assert [type(r).__name__ for r in recs] == ["RawStructure", "Rejected", "RawStructure"]
    assert recs[1].reason == "unknown space-group symbol 'P 9 z'" and recs[1].id == "s1" and recs[1].line == 11
