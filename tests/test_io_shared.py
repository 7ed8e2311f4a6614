"""The readers on the real landscapes in ../shared/data (skipped where that folder is absent)."""

from __future__ import annotations

import csv
import warnings
from collections import Counter
from pathlib import Path

import gemmi
import numpy as np
import pytest
from ase.io import read as ase_read

from crystals import same_sites

from latentcsp.io import RawStructure, read_source
from latentcsp.io.cif import formula_counts, read_cif
from latentcsp.io.res import read_res, res_from_cif

pytestmark = pytest.mark.shared

CASES = {"aspirin": 127, "CL-20": 137, "DNI": 116, "HMX": 89, "Target_I": 89, "Target_XXII": 106}
#: Genarris CIFs (pymatgen-written, odd origins such as -z+593/813) that ASE's
#: reader expands to too many atoms.
OVER_EXPANDED = [
    "DNI/MACE/30eade37b6fe7ea", "DNI/PBE_MBD/30eade37b6fe7ea", "DNI/PBE_MBD/f68cd0b8948f8fc",
    "HMX/PBE_MBD/3d5350b86232efb", "Target_I/MACE/3c05cb69009e0f5", "Target_I/MACE/79dc55e1dcdfef4",
    "Target_I/PBE_MBD/3c05cb69009e0f5", "Target_I/PBE_MBD/79dc55e1dcdfef4", "Target_I/PBE_MBD/d24f6fbaa11de29",
    "Target_XXII/MACE/5cf1e41d17067d5", "Target_XXII/MACE/deb749770cbe9d2", "Target_XXII/PBE_MBD/5cf1e41d17067d5",
    "Target_XXII/PBE_MBD/deb749770cbe9d2",
]


def composition(rec) -> Counter:
    return Counter({gemmi.Element(int(z)).name: float(n) for z, n in Counter(rec.numbers.tolist()).items()})


def stated_formula(path) -> Counter:
    block = gemmi.cif.read(str(path)).sole_block()
    return formula_counts(gemmi.cif.as_string(block.find_value("_chemical_formula_sum")))



def test_roy(shared_data):
    recs = list(read_source(shared_data / "roy-beran2022" / "beran_roy_structures.xyz.bz2"))
    assert len(recs) == 264 and all(isinstance(r, RawStructure) for r in recs)
    assert len({r.id for r in recs}) == 264
    energies = [r.energy for r in recs]
    assert min(energies) == 0.0 and max(energies) == pytest.approx(17.5, abs=0.1)
    assert len({r.spacegroup for r in recs}) == 19
    assert all(len(r.numbers) % 27 == 0 for r in recs)  # C12H9N3O2S


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("level", ["PBE_MBD", "MACE"])
def test_genarris_case(shared_data, case, level):
    folder = shared_data / "genarris3-cases" / case
    with open(folder / f"{case}.csv") as handle:
        ids = [row[0] for row in csv.reader(handle)][1:]
    assert len(ids) == CASES[case]
    recs = list(read_source(folder / level))
    assert all(isinstance(r, RawStructure) for r in recs), [r for r in recs if not isinstance(r, RawStructure)][:3]
    assert sorted(r.id for r in recs) == sorted(ids)
    for rec in recs:  # every cell holds exactly the stated formula (pymatgen: per cell)
        assert composition(rec) == stated_formula(rec.source), rec.source
        assert rec.spacegroup and rec.properties["spacegroup_number_stated"] >= 1


def test_genarris_over_expanded_cifs(shared_data):
    base = shared_data / "genarris3-cases"
    for name in OVER_EXPANDED:
        path = base / f"{name}.cif"
        (rec,) = read_cif(str(path))
        assert isinstance(rec, RawStructure), rec
        formula = stated_formula(path)
        assert composition(rec) == formula
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert len(ase_read(str(path))) > sum(formula.values())  # what ASE makes of it


def test_genarris_agrees_with_ase_on_well_behaved_files(shared_data):
    paths = sorted((shared_data / "genarris3-cases").glob("*/PBE_MBD/*.cif"))[::7]
    compared = 0
    for path in paths:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = ase_read(str(path))
        if len(ref) != sum(stated_formula(path).values()):
            continue  # one of the over-expanded files
        (rec,) = read_cif(str(path))
        assert np.allclose(rec.cell, ref.cell[:], atol=1e-6)
        assert same_sites(rec.cell, rec.positions, rec.numbers, ref.positions, ref.numbers, tol=1e-3), path
        compared += 1
    assert compared >= 80


def test_genarris_experimental_csd_cifs(shared_data):
    base = shared_data / "genarris3-cases"
    expected = {"aspirin/ACSALA00": 84, "aspirin/ACSALA17": 84, "CL-20/PUBMUU02": 144, "DNI/TEVHEH01": 104,
                "HMX/OCHTET03": 168, "Target_I/XULDUD": 104, "Target_XXII/NACJAF": 60}
    for name, n in expected.items():
        (rec,) = read_cif(str(base / f"{name}.cif"))
        assert isinstance(rec, RawStructure), rec
        assert len(rec.numbers) == n, name


def test_genarris_res_copies_read_the_same(shared_data, tmp_path):
    paths = sorted((shared_data / "genarris3-cases").glob("*/*/*.cif"))[::5] + \
        [shared_data / "genarris3-cases" / f"{name}.cif" for name in OVER_EXPANDED]
    for path in paths:
        text = res_from_cif(path)
        res = tmp_path / f"{path.parent.name}-{path.stem}.res"
        res.write_text(text)
        (from_res,) = read_res(str(res))
        (from_cif,) = read_cif(str(path))
        assert isinstance(from_res, RawStructure), from_res
        assert same_sites(from_cif.cell, from_cif.positions, from_cif.numbers,
                          from_res.positions, from_res.numbers, tol=5e-3), path


def test_read_source_on_all_real_sets(shared_data):
    n = {}
    for sub in ("roy-beran2022", "genarris3-cases", "exp-htocsp-benchmark100"):
        recs = list(read_source(shared_data / sub))
        assert all(isinstance(r, RawStructure) for r in recs)
        n[sub] = len(recs)
    assert n == {"roy-beran2022": 264, "genarris3-cases": 2 * 664 + 7, "exp-htocsp-benchmark100": 100}
    assert Path(shared_data).is_dir()
