"""chemiscope reader: inline and external structures, properties, supercell reduction, filters."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from ase.neighborlist import neighbor_list
from ase.spacegroup import crystal

from latentcsp.io import RawStructure, Rejected, read_source
from latentcsp.io.chemiscope import apply_filter, matches, read_chemiscope, reduce_to_primitive


def unit(k=0):
    return crystal(["C", "O", "H"], [[0.11, 0.23, 0.31], [0.27, 0.25, 0.33], [0.05, 0.3, 0.2]], spacegroup=14,
                   cellpar=[7.0 + 0.1 * k, 6.5, 9.0, 90, 105, 90])


def frame(atoms):
    return {"size": len(atoms), "names": atoms.get_chemical_symbols(), "x": atoms.positions[:, 0].tolist(),
            "y": atoms.positions[:, 1].tolist(), "z": atoms.positions[:, 2].tolist(),
            "cell": atoms.cell[:].ravel().tolist()}


def dataset(structures, **props):
    return {"meta": {"name": "t"},
            "properties": {k: {"target": "structure", "values": v} for k, v in props.items()},
            "structures": structures}


def bonds(atoms, cutoff=1.7):
    return np.sort(neighbor_list("d", atoms, cutoff))


def test_supercells_reduced_with_geometry_kept(tmp_path):
    cells = [unit(0).repeat((2, 2, 2)), unit(1).repeat((2, 1, 3)), unit(2)]
    path = tmp_path / "d.json"
    path.write_text(json.dumps(dataset([frame(a) for a in cells], energy=[-1.0, -2.0, -3.0],
                                       groups=[1.0, 2.0, 2.0], label=["a", "b", "c"])))
    recs = list(read_chemiscope(str(path)))
    assert [r.id for r in recs] == ["d-0", "d-1", "d-2"]
    assert [r.properties["supercell"] for r in recs] == [8, 6, 1]
    assert [len(r.numbers) for r in recs] == [12, 12, 12]
    assert [r.energy for r in recs] == [-1.0, -2.0, -3.0]
    assert [r.properties["groups"] for r in recs] == [1, 2, 2] and recs[0].properties["label"] == "a"
    for rec, big in zip(recs, cells):
        from ase import Atoms
        small = Atoms(numbers=rec.numbers, positions=rec.positions, cell=rec.cell, pbc=True)
        f = rec.properties["supercell"]
        assert np.isclose(big.get_volume(), f * small.get_volume())
        assert np.allclose(bonds(big)[::f], bonds(small), atol=1e-6)
        # Cartesian frame kept: the reduced cell's atoms sit on atoms of the supercell
        d = np.linalg.norm(big.positions[None, :, :] - rec.positions[:, None, :], axis=-1)
        big_frac = np.linalg.solve(big.cell[:].T, (rec.positions[:, None, :] - big.positions[None]).reshape(-1, 3).T).T
        big_frac -= np.round(big_frac)
        dmin = np.linalg.norm(big_frac @ big.cell[:], axis=1).reshape(d.shape).min(axis=1)
        assert dmin.max() < 1e-6


def test_pseudo_translation_not_averaged_away():
    atoms = unit(0).repeat((2, 1, 1))
    atoms.positions[0] += [0.05, 0.0, 0.0]  # breaks the doubling by 0.05 A, more than the tolerance
    cell, pos, num, factor = reduce_to_primitive(atoms.cell[:], atoms.positions, atoms.numbers)
    assert factor == 1 and len(num) == len(atoms)


def test_external_structure_files_and_filter(tmp_path):
    (tmp_path / "structures").mkdir()
    refs = []
    for k in range(4):
        (tmp_path / "structures" / f"D-{k}.json").write_text(json.dumps(frame(unit(k).repeat((1, 2, 1)))))
        refs.append({"data": f"structures/D-{k}.json", "size": 24})
    refs.append({"data": "structures/D-missing.json", "size": 24})
    path = tmp_path / "D.json.gz"
    data = dataset(refs, energy=[1.0, 2.0, 3.0, 4.0, 5.0], groups=[1, 3, 3, 1, 3])
    data["properties"]["numbers"] = {"target": "atom", "values": [6] * 120}  # per-atom: dropped
    with gzip.open(path, "wt") as handle:
        json.dump(data, handle)
    recs = list(read_chemiscope(str(path)))
    assert [type(r).__name__ for r in recs] == ["RawStructure"] * 4 + ["Rejected"]
    assert recs[-1].reason.startswith("structure file missing") and recs[-1].id == "D-4"
    assert recs[1].properties["structure_file"] == "structures/D-1.json" and "numbers" not in recs[1].properties
    assert all(r.properties["supercell"] == 2 for r in recs[:4])
    three = list(read_chemiscope(str(path), filter={"groups": 3}))
    assert [r.id for r in three] == ["D-1", "D-2", "D-4"]
    assert [r.id for r in read_chemiscope(str(path), filter={"groups": [1, 3.0]})][:2] == ["D-0", "D-1"]
    filtered = list(apply_filter(read_source(str(path)), {"groups": 1}))
    assert [r.id for r in filtered] == ["D-0", "D-3", "D-4"]  # the Rejected passes: no properties
    assert matches({"groups": 3}, {"groups": "3"}) and matches({"t": "Gamma"}, {"t": ["Sheet", "Gamma"]})
    assert not matches({"groups": 3}, {"groups": 4}) and not matches({}, {"groups": 4})


def test_bad_input(tmp_path):
    empty = tmp_path / "e.json"
    empty.write_text("")
    assert [r.reason for r in read_chemiscope(str(empty))] == ["empty file"]
    junk = tmp_path / "j.json"
    junk.write_text("{not json")
    (rej,) = read_chemiscope(str(junk))
    assert rej.reason.startswith("not a readable chemiscope JSON file")
    other = tmp_path / "o.json"
    other.write_text(json.dumps({"a": 1}))
    assert list(read_chemiscope(str(other)))[0].reason == "not a chemiscope dataset (no 'structures' list)"
    bad = [frame(unit()), frame(unit()), frame(unit()), frame(unit()), frame(unit())]
    bad[1]["x"][0] = "abc"
    del bad[2]["cell"]
    path = tmp_path / "b.json"
    path.write_text(json.dumps(dataset(bad, energy=[1.0, 2.0, 3.0, "high", 5.0], name=["a", "b", "c", "a", "e"],
                                       spacegroup=["P21/c", "P21/c", "P21/c", "P21/c", "Pq"])))
    recs = list(read_chemiscope(str(path)))
    kinds = [(type(r).__name__, r.id) for r in recs]
    assert kinds == [("RawStructure", "a"), ("Rejected", "b"), ("Rejected", "c"), ("Rejected", "a"), ("Rejected", "e")]
    assert recs[0].spacegroup == "P21/c" and recs[0].properties["spacegroup_number_stated"] == 14
    assert recs[4].reason == "unknown space-group symbol 'Pq'"
    assert "unreadable structure 1" in recs[1].reason
    assert "no cell" in recs[2].reason
    assert recs[3].reason.startswith("duplicate id")


@pytest.mark.shared
def test_azaphenacenes_counts_and_groups(shared_data):
    path = str(shared_data / "azaphenacenes-chemiscope" / "Azaphenacenes.json.gz")
    recs = list(read_chemiscope(path, primitive=False))
    assert len(recs) == 523 and all(isinstance(r, RawStructure) for r in recs)
    assert sorted({r.properties["groups"] for r in recs}) == list(range(1, 29))
    assert all(isinstance(r.energy, float) for r in recs)
    assert all(len(r.numbers) >= 480 for r in recs)
    # one molecule's landscape, reduced to primitive cells
    three = list(read_chemiscope(path, filter={"groups": 3}))
    assert 0 < len(three) == sum(r.properties["groups"] == 3 for r in recs)
    for rec in three:
        assert rec.properties["supercell"] >= 8 and len(rec.numbers) % 30 == 0 and len(rec.numbers) <= 240
        counts = np.bincount(rec.numbers)
        assert counts[6] == 16 * len(rec.numbers) // 30 and counts[7] == 4 * len(rec.numbers) // 30


@pytest.mark.shared
@pytest.mark.slow
def test_azaphenacenes_all_reduced(shared_data):
    path = str(shared_data / "azaphenacenes-chemiscope" / "Azaphenacenes.json.gz")
    recs = list(read_chemiscope(path))
    assert len(recs) == 523 and all(isinstance(r, RawStructure) for r in recs)
    assert all(r.properties["supercell"] >= 8 and len(r.numbers) <= 240 for r in recs)
