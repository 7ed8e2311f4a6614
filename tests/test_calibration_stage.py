"""The calibration stage end to end on a generated landscape of known dimension: written as
.res files, ingested, described and analysed as the pipeline does, then calibrated."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from latentcsp.analysis.stage import AnalysisConfig
from latentcsp.analysis.stage import run as analyse
from latentcsp.synth.ensembles import dof_kind
from latentcsp.calibration.references import LadderDesign, as_structures, landscape_packing, reference_molecule
from latentcsp.calibration.stage import CalibrationConfig, Group, generate_references
from latentcsp.calibration.stage import run as calibrate
from latentcsp.descriptors.stage import DescriptorSet, compute_group, describe, reference_orbits
from latentcsp.ingest import LandscapeSpec, ingest, write_landscape
from latentcsp.select import make_groups
from latentcsp.store import read_manifest, read_references, read_structures, write_csv
from latentcsp.synth import CrystalModel, read_xyz
from latentcsp.synth.ensembles import Ensemble, sample
from latentcsp.synth.res import write_res
from latentcsp.synth.sampling import sample_trials

MOLDIR = Path(__file__).resolve().parents[1] / "config" / "molecules"
SET = DescriptorSet("smooth", "smooth", "intermolecular", "atoms")


@pytest.fixture(scope="module")
def landscape(tmp_path_factory):
    """anti-BDT in P-1 with 3 of its 12 DoF varied locally around a trial packing: 90 .res files."""
    root = tmp_path_factory.mktemp("known3")
    model = CrystalModel(read_xyz(MOLDIR / "anti-BDT.xyz"), "P-1")
    base = sample_trials(model, 1, seed=2)[0][0]
    thetas, _ = sample(model, Ensemble(("b", "rot_y", "x"), "local", 0.7, "random"), base, 90, seed=3)
    (root / "res").mkdir()
    for k, theta in enumerate(thetas):
        write_res(root / "res" / f"k{k:03d}.res", model, theta, f"k{k:03d}", float(k % 7))
    result = ingest(LandscapeSpec("known3", str(root / "res"), format="res"), progress=False)
    write_landscape(result, root / "out")
    manifest = read_manifest(root / "out" / "manifest.csv")
    groups = make_groups(manifest, [100.0], "top10")
    write_csv(groups, root / "out" / "groups.csv")
    structures = read_structures(root / "out" / "structures.h5")
    compute_group(structures, SET, root / "out" / "P-1.h5")
    cfg = AnalysisConfig(estimators=("TwoNN", "MLE", "GRIDE"), n_boot=4, null_permutations=0, fixed_size=None)
    for group in ("P-1", "all"):
        analyse([root / "out" / "P-1.h5"], root / "out" / "groups.csv", root / "out" / "manifest.csv", "100", group,
                root / "out" / "analysis" / "100" / group, cfg)
    return root, cfg


def test_references_are_described_like_the_landscape(landscape):
    """A reference crystal built from the landscape's own molecule gets the same vector as the
    ingested crystal it reproduces."""
    root, _ = landscape
    structures = read_structures(root / "out" / "structures.h5")
    mol = reference_molecule(structures)
    from latentcsp.synth.recover import recover

    s = 0
    part = structures.atoms_of(s)
    theta = recover(structures.cell[s], structures.positions[part], structures.numbers[part],
                    structures.mol_id[part], structures.canonical[part], mol).theta
    model = CrystalModel(mol, "P-1")
    ours = describe(as_structures(model, theta[None], reference_orbits(structures)), SET)[0]
    theirs = describe(structures.subset([structures.ids[s]]), SET)[0]
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)


def test_ladder_covers_every_dimension_once_per_pattern():
    names = ["a", "b", "c", "alpha", "beta", "gamma", "rot_x", "rot_y", "rot_z", "x", "y", "z"]
    ladder = LadderDesign(patterns=2, schemes=("full", "local")).ensembles(names)
    dims = sorted({e.dimension for e in ladder})
    assert dims == list(range(1, 13))
    assert sum(e.dimension == 12 for e in ladder) == 2  # one subset at d = 12, two schemes
    assert sum(e.dimension == 5 for e in ladder) == 4
    assert ladder == LadderDesign(patterns=2, schemes=("full", "local")).ensembles(names)  # seeded


def test_ladder_draws_pseudo_random_numbers_by_default():
    """A landscape's search draws pseudo-random numbers; the ladder does too unless told otherwise."""
    names = ["a", "b", "c", "beta", "rot_x", "rot_y", "rot_z", "x", "y", "z"]
    assert {e.sequence for e in LadderDesign(patterns=1).ensembles(names)} == {"random"}
    assert {e.sequence for e in CalibrationConfig(sequence="sobol").design().ensembles(names)} == {"sobol"}


def test_quasi_random_points_read_higher_than_random_ones():
    """Why the references are pseudo-random: the same 7-cube sampled from a Sobol sequence is
    more evenly spread than a random sample, and the nearest-neighbour estimators read it
    higher, so Sobol references would calibrate a landscape too low."""
    from scipy.stats import qmc

    from latentcsp.analysis.intrinsic import estimate

    def raw(X):
        found = estimate(X, ["TwoNN", "MLE", "GRIDE"], n_boot=0, standardize=False, pointwise=False)
        return {k: v["dimension"] for k, v in found["estimators"].items()}

    for seed in (0, 1):
        sobol = raw(qmc.Sobol(7, seed=seed).random(1024))
        random = raw(np.random.default_rng(seed).random((1024, 7)))
        assert all(sobol[k] > random[k] + 0.2 for k in sobol), (sobol, random)


def test_mixed_schemes_only_where_the_subset_has_both_sides():
    """A mixed scheme samples rotations + positions (or the lattice) over the full range and
    the rest locally; a subset with DoF of only one side would repeat full or local, so it
    gets no mixed ensemble."""
    names = ["a", "b", "c", "alpha", "beta", "gamma", "rot_x", "rot_y", "rot_z", "x", "y", "z"]
    ladder = LadderDesign(patterns=3, schemes=("mixed-rotations", "mixed-lattice")).ensembles(names)
    assert ladder
    for e in ladder:
        kinds = {dof_kind(n) for n in e.free}
        assert e.scheme == "local" and kinds & set(e.full_kinds) and kinds - set(e.full_kinds)
    assert {e.full_kinds for e in ladder} == {("rotation", "position"), ("length", "angle")}
    assert not any(e.dimension == 1 for e in ladder)  # one DoF is one side only


def test_ladder_spans_the_share_of_cyclic_dof():
    """Each d gets the most and the fewest rotations + positions possible (and one between),
    so full-range references cover both folded and nearly flat manifolds."""
    names = ["a", "b", "c", "alpha", "beta", "gamma", "rot_x", "rot_y", "rot_z", "x", "y", "z"]
    ladder = LadderDesign(patterns=3, schemes=("full",)).ensembles(names)
    for d in range(1, 13):
        counts = [sum(dof_kind(n) in ("rotation", "position") for n in e.free) for e in ladder if e.dimension == d]
        assert max(counts) == min(d, 6) and min(counts) == max(0, d - 6)
        assert len(counts) == (1 if d == 12 else 3)
        assert abs(sorted(counts)[len(counts) // 2] - (min(d, 6) + max(0, d - 6)) / 2) <= 0.5


def test_calibrated_dimension_of_a_known_landscape(landscape):
    root, cfg = landscape
    out, ccfg = root / "cal", CalibrationConfig(patterns=1, schemes=("full", "local"))
    made = generate_references(root / "out" / "structures.h5", root / "out" / "groups.csv", 20, ccfg,
                               root / "references.h5")
    assert made == "references: 1 space groups, 24 ensembles"  # P-1 only: 12 d x 1 subset x 2 schemes
    (refset,) = read_references(root / "references.h5")
    assert refset["base_origin"] == "its lowest-energy structure"
    # the lattice and position DoF the references hold fixed take the landscape's own values, not
    # those of a packing of their own (a local step in rot_y moves every rotation-vector component)
    structures = read_structures(root / "out" / "structures.h5")
    model = CrystalModel(reference_molecule(structures), "P-1")
    frozen = [name not in ("b", "x") and not name.startswith("rot") for name in refset["names"]]
    for s in (0, len(structures.ids) - 1):
        np.testing.assert_allclose(landscape_packing(structures, s, model)[frozen], refset["base"][frozen], atol=1e-4)
    line = calibrate("known3", root / "out" / "structures.h5", root / "references.h5",
                     [root / "out" / "analysis" / "100" / g for g in ("P-1", "all")], SET, cfg, ccfg, out)
    assert "2 groups" in line
    dims = pd.read_csv(out / "dimensions.csv", dtype={"window": str})
    for col in ("landscape", "set", "window", "group", "n", "dof", "calibrated", "calibrated_low",
                "calibrated_high", "resolved", "reason", "torsions", "raw_MLE", "MLE_calibrated"):
        assert col in dims
    row = dims[dims.group == "P-1"].iloc[0]
    assert row.dof == 12 and row.torsions == 0 and row.landscape == "known3" and row["set"] == "smooth"
    assert row.calibrated == pytest.approx(3, abs=1.0)
    if row.resolved:
        assert row.calibrated_low <= 3 <= row.calibrated_high
    else:
        assert isinstance(row.reason, str) and row.reason
    refs = pd.read_csv(out / "references.csv")
    assert set(refs.d) == set(range(1, 13)) and (refs.n == row.n).all()
    held = pd.read_csv(out / "held_out.csv")
    assert len(held) == 2 * len(refs) // 2 and {"combined", "MLE"} <= set(held.columns)
    group = Group.read(root / "out" / "analysis" / "100" / "P-1")
    assert group.trend is not None and group.spacegroup() == (2, None)


def test_references_round_trip_through_the_store(tmp_path):
    from latentcsp.store import read_references, write_references

    ens = [Ensemble(("a", "x"), "full"), Ensemble(("rot_y",), "local", {"length": 2.0, "rotation": 0.5}, "random")]
    item = {"spacegroup": 14, "names": ["a", "b", "c", "beta", "rot_x", "rot_y", "rot_z", "x", "y", "z"],
            "base": np.arange(10.0), "ensembles": [],
            "thetas": [np.random.default_rng(0).random((5, 10)), np.zeros((3, 10))]}
    from dataclasses import asdict

    item["ensembles"] = [asdict(e) for e in ens]
    write_references(tmp_path / "r.h5", [item])
    (back,) = read_references(tmp_path / "r.h5")
    assert back["spacegroup"] == 14 and back["names"] == item["names"]
    assert [Ensemble.from_record(r) for r in back["ensembles"]] == ens
    assert all(np.array_equal(a, b) for a, b in zip(back["thetas"], item["thetas"]))
    assert "base_origin" not in back  # optional
    write_references(tmp_path / "r.h5", [item | {"base_origin": "a generated dense packing"}])
    assert read_references(tmp_path / "r.h5")[0]["base_origin"] == "a generated dense packing"
