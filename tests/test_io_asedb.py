"""ASE database reader."""

from __future__ import annotations

import ase.db
import numpy as np
import pytest
from ase.calculators.singlepoint import SinglePointCalculator
from ase.spacegroup import crystal

from latentcsp.io import RawStructure, Rejected, read_source
from latentcsp.io.asedb import read_asedb


def atoms(k=0):
    return crystal(["C", "O"], [[0.11, 0.23, 0.31], [0.27, 0.25, 0.33]], spacegroup=14,
                   cellpar=[7.0 + 0.1 * k, 6.5, 9.0, 90, 105, 90])


def test_rows_ids_energies_and_properties(tmp_path):
    path = str(tmp_path / "land.db")
    with ase.db.connect(path) as db:
        db.write(atoms(0), csd_code="AAA", lattice_energy=-5.0, space_group="P21/c", Z=4, Zprime=1.0)
        calc_atoms = atoms(1)
        calc_atoms.calc = SinglePointCalculator(calc_atoms, energy=-7.5)
        db.write(calc_atoms, spg_num=14, Zprime=0.5)
        db.write(atoms(2), name="CCC")
    recs = list(read_asedb(path))
    assert [r.id for r in recs] == ["AAA", "land-2", "CCC"]
    assert [r.energy for r in recs] == [-5.0, -7.5, None]
    assert [r.spacegroup for r in recs] == ["P21/c", "14", None]
    assert recs[0].properties["Z"] == 4 and recs[1].properties["Zprime"] == 0.5
    assert np.allclose(recs[0].positions, atoms(0).positions) and len(recs[0].numbers) == 8
    assert [r.line for r in recs] == [1, 2, 3]
    assert [r.id for r in read_source(path)] == ["AAA", "land-2", "CCC"]


def test_bad_rows_and_files(tmp_path):
    path = str(tmp_path / "bad.db")
    mol = atoms()
    mol.pbc = False
    with ase.db.connect(path) as db:
        db.write(atoms(0), name="a")
        db.write(atoms(1), name="a")
        db.write(mol, name="mol")
        db.write(atoms(2), name="b", lattice_energy="high")
        db.write(atoms(3), name="c")
        db.write(atoms(4), name="d", space_group="Q 42")
    recs = {(r.id, type(r).__name__): r for r in read_asedb(path)}
    assert recs[("a", "Rejected")].reason.startswith("duplicate id")
    assert recs[("mol", "Rejected")].reason == "row 3 has no 3-d periodic cell"
    assert recs[("b", "Rejected")].reason == "non-numeric lattice_energy 'high' in row 4"
    assert recs[("d", "Rejected")].reason == "unknown space-group symbol 'Q 42' in row 6"
    assert ("c", "RawStructure") in recs and ("a", "RawStructure") in recs
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    assert [r.reason for r in read_asedb(str(empty))] == ["empty file"]
    junk = tmp_path / "junk.db"
    junk.write_text("this is not sqlite " * 100)
    (rej,) = read_asedb(str(junk))
    assert isinstance(rej, Rejected) and rej.reason.startswith("not a readable ASE database")
    nothing = str(tmp_path / "nothing.db")
    with ase.db.connect(nothing) as db:
        db.write(atoms(0))
        db.delete([1])
    assert [r.reason for r in read_asedb(nothing)] == ["empty database (no rows)"]


@pytest.mark.shared
def test_htocsp_benchmark(shared_data):
    recs = list(read_asedb(str(shared_data / "exp-htocsp-benchmark100" / "benchmark.db")))
    assert len(recs) == 100 and all(isinstance(r, RawStructure) for r in recs)
    assert len({r.id for r in recs}) == 100 and recs[0].id == "FORMAM"
    zprimes = sorted({r.properties["Zprime"] for r in recs})
    assert zprimes == [0.25, 0.5, 1.0, 2.0, 4.0]
    assert all(r.spacegroup for r in recs) and all(r.energy is None for r in recs)
    assert all(r.properties["mol_formula"] for r in recs)
