"""A landscape through ingest and select: energies, quarantine, groups, CLI."""

import numpy as np
import pandas as pd
import pytest
from ase.io import write
from crystals import co_crystal, methanol_like, to_extxyz_frame

from latentcsp.cli import main
from latentcsp.ingest import LandscapeError, LandscapeSpec, ingest, write_landscape
from latentcsp.select import make_groups, slug
from latentcsp.store import read_manifest, read_structures


def _landscape(tmp_path, frames):
    path = tmp_path / "land.extxyz"
    write(path, frames, format="extxyz")
    return str(path)


def _good_frames():
    frames = []
    for k, (sg, c) in enumerate([(14, 9.0), (14, 9.2), (61, 11.0), (2, 9.0), (14, 9.4)]):
        cell = (9, 10, c, 90, 90, 90) if sg == 61 else (7.0, 6.5, c, 90, 105, 90) if sg == 14 else (7, 7.5, c, 80, 95, 100)
        frames.append(to_extxyz_frame(methanol_like(sg, cell), f"s{k}", energy=-100.0 + 3 * k))
    return frames


def test_energies_relative_and_converted_per_molecule(tmp_path):
    src = _landscape(tmp_path, _good_frames())
    spec = LandscapeSpec("m", src, energy_unit="kcal/mol", energy_per="cell")
    result = ingest(spec, progress=False)
    assert len(result.crystals) == 5 and not result.quarantine
    by_id = {c.id: c for c in result.crystals}
    assert by_id["s0"].energy == pytest.approx(-100.0 * 4.184 / 4)  # Z = 4 in P21/c
    assert by_id["s2"].energy == pytest.approx(-94.0 * 4.184 / 8)   # Z = 8 in Pbca
    write_landscape(result, tmp_path / "out")
    man = read_manifest(tmp_path / "out" / "manifest.csv")
    assert man.rel_energy.min() == 0.0
    assert np.allclose(man.rel_energy, man.energy - man.energy.min())
    assert list(man.energy) == sorted(man.energy)
    store = read_structures(tmp_path / "out" / "structures.h5")
    assert list(store.ids) == list(man.id)
    assert (store.canonical >= 0).sum() == 5 * 6


def test_bad_structures_are_quarantined_and_good_ones_kept(tmp_path):
    frames = _good_frames()
    overlap = methanol_like()
    overlap.positions[1] = overlap.positions[0] + [0.2, 0.0, 0.0]
    frames.append(to_extxyz_frame(overlap, "overlap", energy=1.0))
    frames.append(to_extxyz_frame(methanol_like(), "noenergy", energy=None))
    frames.append(to_extxyz_frame(methanol_like(), "s1", energy=2.0))
    frames.append(to_extxyz_frame(co_crystal(), "co", energy=3.0))
    src = _landscape(tmp_path, frames)
    result = ingest(LandscapeSpec("m", src), progress=False)
    reasons = {q.id: q.reason for q in result.quarantine}
    assert len(result.crystals) == 5
    assert reasons["overlap"].startswith("overlapping atoms")
    assert reasons["noenergy"] == "missing energy"
    assert reasons["s1"].startswith("duplicate id")
    assert reasons["co"].startswith("different molecule")
    assert all(q.source == src for q in result.quarantine)
    assert "quarantined 4" in result.summary("m")


def test_landscape_with_no_survivors_says_why(tmp_path):
    overlap = methanol_like()
    overlap.positions[1] = overlap.positions[0] + [0.2, 0.0, 0.0]
    src = _landscape(tmp_path, [to_extxyz_frame(overlap, "a", energy=1.0)])
    with pytest.raises(LandscapeError, match="overlapping atoms"):
        ingest(LandscapeSpec("m", src), progress=False)


def test_landscape_without_energies_is_kept_whole(tmp_path):
    frames = [to_extxyz_frame(methanol_like(sg, cell), f"s{k}", energy=None)
              for k, (sg, cell) in enumerate([(14, (7.0, 6.5, 9.0, 90, 105, 90)), (14, (7.0, 6.5, 9.3, 90, 105, 90)),
                                              (2, (7, 7.5, 9.0, 80, 95, 100))])]
    result = ingest(LandscapeSpec("m", _landscape(tmp_path, frames)), progress=False)
    assert len(result.crystals) == 3 and not result.quarantine
    write_landscape(result, tmp_path / "out")
    man = read_manifest(tmp_path / "out" / "manifest.csv")
    assert man.energy.isna().all() and man.rel_energy.isna().all() and list(man.id) == ["s0", "s1", "s2"]
    groups = make_groups(man, [10, 20], "top10")
    assert set(groups.window) == {"inf"}  # no energies: the whole landscape is the only window
    assert groups.groupby("group").size().to_dict() == {"P21_c": 2, "P-1": 1, "all": 3}


def test_side_table_energies_fill_and_override(tmp_path):
    frames = _good_frames()
    src = _landscape(tmp_path, frames)
    table = tmp_path / "e.csv"
    pd.DataFrame({"id": ["s0", "s1"], "E(eV)": [-1.0, "oops"]}).to_csv(table, index=False)
    result = ingest(LandscapeSpec("m", src, energies=str(table), energy_unit="eV"), progress=False)
    by_id = {c.id: c.energy for c in result.crystals}
    assert by_id["s0"] == pytest.approx(-96.485, rel=1e-4)
    assert by_id["s2"] == pytest.approx(-94.0 * 96.485, rel=1e-4)  # not in the table: the file's value
    (bad,) = result.quarantine
    assert bad.id == "s1" and "non-numeric energy 'oops'" in bad.reason and "line 3" in bad.reason


def test_groups_by_window_and_spacegroup():
    man = pd.DataFrame({
        "id": list("abcdef"), "rel_energy": [0, 5, 12, 15, 25, 3],
        "spacegroup_number": [14, 14, 14, 2, 14, 227], "spacegroup": ["P2_1/c"] * 3 + ["P-1", "P2_1/c", "Fd-3m"],
    })
    g = make_groups(man, [10, 20], "top10")
    sizes = g.groupby(["window", "group"]).size().to_dict()
    assert sizes == {("10", "P21_c"): 2, ("10", "all"): 2, ("20", "P21_c"): 3, ("20", "P-1"): 1, ("20", "all"): 4,
                     ("inf", "P21_c"): 4, ("inf", "P-1"): 1, ("inf", "all"): 5}  # d at 25 kJ/mol: the whole landscape too
    assert set(make_groups(man, [10, 30], "top10").window) == {"10", "30"}  # nothing above 30: no extra window
    g_all = make_groups(man, [10], "all")
    assert set(g_all.group[g_all.window == "10"]) == {"P21_c", "Fd-3m", "all"}
    assert set(make_groups(man, [30], ["P-1", 227]).group) == {"P-1", "Fd-3m", "all"}
    assert slug("P 21 21 21") == "P212121" and slug("P2_1/c") == "P21_c"


def test_cli_ingest_and_select(tmp_path):
    src = _landscape(tmp_path, _good_frames())
    out = tmp_path / "res"
    main(["ingest", "--name", "m", "--spec", f'{{"source": "{src}"}}', "--outdir", str(out)])
    assert (out / "quarantine.csv").exists() and (out / "structures.h5").exists()
    main(["select", "--manifest", str(out / "manifest.csv"), "--windows", "5", "10", "--min-group-size", "2",
          "--out", str(out / "g.csv")])
    groups = pd.read_csv(out / "g.csv", dtype={"window": str})
    assert set(groups.window) == {"5", "10", "inf"}  # s4 lies 12 kJ/mol up: the whole landscape is a window too
    assert len(groups[(groups.window == "10") & (groups.group == "all")]) == 4  # 0, 3, 6, 9 kJ/mol
    assert len(groups[(groups.window == "inf") & (groups.group == "all")]) == 5


def test_roy_landscape(shared_data):
    src = shared_data / "roy-beran2022" / "beran_roy_structures.xyz.bz2"
    result = ingest(LandscapeSpec("roy", str(src)), progress=False)
    assert len(result.crystals) == 264 and not result.quarantine
    energies = [c.energy for c in result.crystals]
    assert min(energies) == 0.0 and max(energies) == pytest.approx(17.5, abs=0.1)
    assert len({c.spacegroup_number for c in result.crystals}) == 19
    agree = [c.spacegroup.replace("_", "") == c.spacegroup_stated.replace(" ", "") for c in result.crystals]
    assert np.mean(agree) > 0.95


def test_ingest_to_writes_what_the_in_memory_ingest_writes(tmp_path, monkeypatch):
    import latentcsp.ingest as ingest_module
    from latentcsp.ingest import ingest_to

    frames = _good_frames()[::-1]  # energies descending: the store reorders them
    frames.insert(2, to_extxyz_frame(methanol_like(), "noenergy", energy=None))
    frames.insert(0, to_extxyz_frame(co_crystal(), "co", energy=3.0))
    overlap = methanol_like()
    overlap.positions[1] = overlap.positions[0] + [0.2, 0.0, 0.0]
    frames.append(to_extxyz_frame(overlap, "overlap", energy=1.0))
    frames.append(to_extxyz_frame(methanol_like(), "far", energy=5000.0))  # an outlier, known once all are read
    spec = LandscapeSpec("m", _landscape(tmp_path, frames))
    write_landscape(ingest(spec, progress=False), tmp_path / "memory")
    monkeypatch.setattr(ingest_module, "STAGING_CHUNK", 2)  # several staging chunks
    result = ingest_to(spec, tmp_path / "streamed", progress=False)
    assert result.n_kept == 5 and not result.crystals and len(result.quarantine) == 4
    far = pd.read_csv(tmp_path / "streamed" / "quarantine.csv").set_index("id").loc["far"]
    assert far.reason.startswith("energy outlier: 5000 kJ/mol") and far.line > 1
    assert sorted(p.name for p in (tmp_path / "streamed").iterdir()) == ["manifest.csv", "quarantine.csv",
                                                                         "structures.h5"]
    for name in ("manifest.csv", "quarantine.csv"):
        assert (tmp_path / "memory" / name).read_text() == (tmp_path / "streamed" / name).read_text()
    a, b = (read_structures(tmp_path / d / "structures.h5") for d in ("memory", "streamed"))
    for field in ("ids", "hashes", "cell", "atom_offsets", "numbers", "positions", "mol_id", "canonical", "orbit"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field
    assert list(b.ids) == ["s0", "s1", "s2", "s3", "s4"]


def test_copy_structures_reorders_in_chunks(tmp_path):
    from latentcsp.store import copy_structures, write_structures

    result = ingest(LandscapeSpec("m", _landscape(tmp_path, _good_frames())), progress=False)
    write_structures(result.crystals, tmp_path / "a.h5")
    copy_structures(tmp_path / "a.h5", tmp_path / "b.h5", [4, 0, 3, 1, 2], chunk=2)
    a, b = read_structures(tmp_path / "a.h5"), read_structures(tmp_path / "b.h5")
    assert list(b.ids) == [a.ids[k] for k in (4, 0, 3, 1, 2)]
    for k, s in enumerate((4, 0, 3, 1, 2)):
        assert np.array_equal(b.positions[b.atoms_of(k)], a.positions[a.atoms_of(s)])
        assert np.array_equal(b.canonical[b.atoms_of(k)], a.canonical[a.atoms_of(s)])
        assert np.array_equal(b.cell[k], a.cell[s])


def test_cli_ingest_records_counts_reasons_energies_and_cost(tmp_path):
    frames = _good_frames() + [to_extxyz_frame(methanol_like(), "noenergy", energy=None)]
    out = tmp_path / "res"
    main(["ingest", "--name", "m", "--spec", f'{{"source": "{_landscape(tmp_path, frames)}"}}', "--outdir", str(out)])
    record = pd.read_json(out / "ingest.json", typ="series")
    assert (record.n_read, record.n_kept, record.n_quarantined) == (6, 5, 1)
    assert record.quarantined == {"missing energy": 1} and record.has_energies
    assert record.job["peak_memory_mb"] > 0 and record.job["seconds"] > 0
