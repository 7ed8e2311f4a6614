"""Energies through the ingest: units checked, outliers quarantined, the zero of relative energies kept."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from crystals import methanol_like
from landscape_files import chemiscope_dataset, extxyz_frame

from latentcsp.ingest import (OUTLIER_MIN_DISTANCE, OUTLIER_MIN_SPREAD, OUTLIER_SPREADS, LandscapeError, LandscapeSpec,
                              energy_outliers, ingest, manifest)
from latentcsp.io import RawStructure, read_source
from latentcsp.io.energies import ENERGY_UNITS


def good_frames(n=8, energy=lambda k: -100.0 + 1.5 * k):
    """n good crystals of one molecule, slightly different cells; energies kJ/mol per molecule."""
    return [(methanol_like(cellpar=(7.0 + 0.05 * k, 6.5, 9.0, 90, 105, 90)), f"g{k}", energy(k)) for k in range(n)]


def write_xyz(path, frames):
    path.write_text("".join(extxyz_frame(a, name, e) for a, name, e in frames))
    return str(path)


def relative(result):
    table = manifest(result.crystals)
    return dict(zip(table.id, table.rel_energy))


def test_the_outlier_rule_against_a_direct_computation():
    rng = np.random.default_rng(3)
    energies = np.r_[rng.normal(-120, 6, 200), -120 - 30, -120 + 40, 5e5, -9e6]
    flagged, median, spread = energy_outliers(energies)
    assert median == np.median(energies)
    mad = np.median(np.abs(energies - np.median(energies)))
    assert spread == pytest.approx(max(1.4826 * mad, OUTLIER_MIN_SPREAD))
    limit = max(OUTLIER_SPREADS * spread, OUTLIER_MIN_DISTANCE)
    assert (flagged == (np.abs(energies - median) > limit)).all()
    assert list(np.flatnonzero(flagged)) == [202, 203]  # 30 and 40 kJ/mol from the bulk are a landscape's tails
    # the floor: equal energies and one 50 kJ/mol away is a real structure, 150 kJ/mol away is not
    assert list(energy_outliers([-100.0] * 10 + [-50.0, 50.0])[0]) == [False] * 11 + [True]
    assert not energy_outliers([1.0, 1e9])[0].any()  # two values: no bulk to be far from
    assert not energy_outliers([])[0].any()


@pytest.mark.parametrize("bad_energy,side", [(1e6, "above"), (-1.6e8, "below"), (-100.0 * 96.485, "below")])
def test_one_bad_energy_cannot_move_the_zero(tmp_path, bad_energy, side):
    frames = good_frames()
    clean = ingest(LandscapeSpec("m", write_xyz(tmp_path / "clean.extxyz", frames)), progress=False)
    bad = methanol_like(cellpar=(7.3, 6.6, 9.1, 90, 104, 90))
    result = ingest(LandscapeSpec("m", write_xyz(tmp_path / "bad.extxyz", frames + [(bad, "typo", bad_energy)])),
                    progress=False)
    assert relative(result) == relative(clean)  # every good structure kept, every relative energy unchanged
    (q,) = result.quarantine
    assert q.id == "typo" and q.reason.startswith("energy outlier") and f"kJ/mol {side} the landscape's median" in \
        q.reason and q.line == 8 * (len(bad) + 2) + 1


def test_a_kj_per_mol_value_in_an_ev_table(tmp_path):
    """The issue's case: per-cell eV totals, one value typed in kJ/mol, used to become the global minimum."""
    frames = good_frames(energy=lambda k: 0.0)
    src = write_xyz(tmp_path / "land.extxyz", frames)
    rows = [(name, -70628.8 + 0.01 * k) for k, (_, name, _) in enumerate(frames)]
    rows[3] = (rows[3][0], rows[3][1] * ENERGY_UNITS["eV"])  # kJ/mol written in the eV column
    with open(tmp_path / "e.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([("id", "PBE+MBD(eV)")] + rows)
    spec = LandscapeSpec("m", src, energies=str(tmp_path / "e.csv"), energy_unit="eV", energy_per="cell")
    result = ingest(spec, progress=False)
    assert sorted(c.id for c in result.crystals) == sorted(r[0] for r in rows if r[0] != "g3")
    assert [q.id for q in result.quarantine] == ["g3"] and "below the landscape's median" in result.quarantine[0].reason
    assert max(relative(result).values()) == pytest.approx(0.07 * ENERGY_UNITS["eV"] / 4, rel=1e-3)


def test_a_header_unit_that_disagrees_with_the_config_stops_the_landscape(tmp_path):
    src = write_xyz(tmp_path / "land.extxyz", good_frames())
    pd.DataFrame({"id": ["g0"], "E(eV)": [-1.0]}).to_csv(tmp_path / "e.csv", index=False)
    with pytest.raises(LandscapeError, match=r"'E\(eV\)' states eV, but the landscape's energy_unit is kJ/mol"):
        ingest(LandscapeSpec("m", src, energies=str(tmp_path / "e.csv")), progress=False)


def test_a_decimal_comma_in_the_table_is_quarantined_not_truncated(tmp_path):
    frames = good_frames()
    src = write_xyz(tmp_path / "land.extxyz", frames)
    (tmp_path / "e.csv").write_text("id,E(kJ/mol)\ng0,-100.5\ng1,-98,795559\n")
    result = ingest(LandscapeSpec("m", src, energies=str(tmp_path / "e.csv")), progress=False)
    (q,) = result.quarantine
    assert q.id == "g1" and "3 fields for 2 columns" in q.reason and "decimal comma" in q.reason
    assert "e.csv line 3" in q.reason and q.line == len(frames[0][0]) + 3  # the table's line, the frame's line
    assert {c.id: c.energy for c in result.crystals}["g0"] == -100.5


def test_a_stated_unit_in_a_chemiscope_file_is_checked(tmp_path):
    frames = good_frames(4)
    path = tmp_path / "d.json"
    path.write_text(json.dumps(chemiscope_dataset([a for a, _, _ in frames], [n for _, n, _ in frames],
                                                  [e for _, _, e in frames], units="eV")))
    with pytest.raises(LandscapeError, match="the file states energies in eV, but the landscape's energy_unit is kJ/mol"):
        ingest(LandscapeSpec("m", str(path)), progress=False)
    assert len(ingest(LandscapeSpec("m", str(path), energy_unit="eV"), progress=False).crystals) == 4


def test_a_landscape_with_nothing_good_names_its_files_and_writes_its_quarantine(tmp_path):
    src = tmp_path / "data"
    src.mkdir()
    (src / "a.res").write_bytes(bytes(range(256)) * 8)
    # a landscape may have no energies at all, but where one structure has one, the others need one too
    frames = extxyz_frame(methanol_like(), "b", None) + extxyz_frame(methanol_like(), "b2", 1e307)
    (src / "b.xyz").write_text(frames)
    (src / "c.cif").write_text("data_c\n_cell_length_a 7\n")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "latentcsp.cli", "ingest", "--name", "m", "--spec",
                           json.dumps({"source": str(src), "energy_unit": "hartree"}), "--outdir", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    second = 1 + len(frames.splitlines()) // 2
    for name, reason in (("a.res", "binary data, not a text file"), ("b.xyz line 1 (b)", "missing energy"),
                         (f"b.xyz line {second} (b2)", "too large to convert to kJ/mol"),
                         ("c.cif", "missing _cell_length_b")):
        assert f"{name}" in proc.stderr and reason in proc.stderr, proc.stderr
    assert f"reasons written to {out / 'quarantine.csv'}" in proc.stderr
    table = pd.read_csv(out / "quarantine.csv")
    assert sorted(table.source.str.rsplit("/", n=1).str[1]) == ["a.res", "b.xyz", "b.xyz", "c.cif"]


# ------------------------------------------------------------------ real landscapes keep every structure


def _per_molecule(records, per_cell: bool) -> np.ndarray:
    energies = np.array([r.energy for r in records], float)
    if per_cell:
        energies = energies / np.array([r.properties["z_stated"] for r in records], float)
    return energies


@pytest.mark.shared
def test_real_landscapes_lose_no_structure_to_the_outlier_rule(shared_data):
    checked = {}
    roy = [r for r in read_source(shared_data / "roy-beran2022" / "beran_roy_structures.xyz.bz2")]
    checked["roy"] = _per_molecule(roy, per_cell=False)
    genarris = shared_data / "genarris3-cases"
    for case in ("aspirin", "CL-20", "DNI", "HMX", "Target_I", "Target_XXII"):
        table = pd.read_csv(genarris / case / f"{case}.csv")
        for level, column in (("PBE_MBD", "PBE+MBD(eV)"), ("MACE", "MACE-OFF23(L)(eV)")):
            recs = [r for r in read_source(genarris / case / level) if isinstance(r, RawStructure)]
            energy = dict(zip(table.iloc[:, 0].astype(str), table[column]))
            for r in recs:
                r.energy = energy[r.id] * ENERGY_UNITS["eV"]
            checked[f"{case}/{level}"] = _per_molecule(recs, per_cell=True)
    aza = [r for r in read_source(shared_data / "azaphenacenes-chemiscope" / "Azaphenacenes.json.gz")]
    for group in sorted({r.properties["groups"] for r in aza}):
        checked[f"azaphenacenes/{group}"] = _per_molecule([r for r in aza if r.properties["groups"] == group], False)
    assert len(checked) == 1 + 12 + 28 and sum(map(len, checked.values())) == 264 + 2 * 664 + 523
    for name, energies in checked.items():
        flagged, median, spread = energy_outliers(energies)
        assert not flagged.any(), name
        assert np.abs(energies - median).max() < 6 * max(spread, OUTLIER_MIN_SPREAD), name  # far inside the rule
