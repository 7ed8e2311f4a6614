"""The rigid-body count (latentcsp.calibration.rigid): the block dimension against a slow local
PCA and on sets of known dimension, the count on generated landscapes of known d (frozen
DoF, full-range and local sampling, P-1 and P2_1/c), and the rule that lets it replace the
descriptor calibration."""

from pathlib import Path

import numpy as np
import pytest

from latentcsp.calibration.references import as_structures
from latentcsp.calibration.rigid import FLOOR, NEIGHBOURS_PER_DIM, RATIO, combine, local_dimension, rigid_body_count
from latentcsp.synth import CrystalModel, read_xyz
from latentcsp.synth.ensembles import Ensemble, sample
from latentcsp.synth.minimise import dense_packing

MOLDIR = Path(__file__).resolve().parents[1] / "config" / "molecules"


def slow_local_dimension(points, max_dim, standardise=False):
    """Local PCA written out: columns that vary rescaled to their median spread, merge within
    the floor, k nearest by brute force, eigh per point."""
    k = NEIGHBOURS_PER_DIM * max_dim
    pts = np.array(points, dtype=float)
    if standardise:
        sd = pts.std(axis=0)
        scale = np.median(sd[sd > FLOOR]) if (sd > FLOOR).any() else 1.0
        for j in range(pts.shape[1]):
            pts[:, j] = (pts[:, j] - pts[:, j].mean()) / sd[j] * scale if sd[j] > FLOOR else 0.0
    pts = np.unique(np.round(pts / FLOOR), axis=0) * FLOOR
    if len(pts) <= k:
        return 0
    counts = []
    for p in pts:
        near = pts[np.argsort(((pts - p) ** 2).sum(axis=1), kind="stable")[: k + 1]]
        var = np.sort(np.linalg.eigvalsh(np.cov(near.T, bias=True) * (k + 1) / k))[::-1]
        counts.append(int(((var > RATIO * var[0]) & (var > FLOOR ** 2)).sum()))
    return int(min(np.median(counts), max_dim))


@pytest.mark.parametrize("d", range(0, 7))
def test_block_dimension_of_boxes_with_frozen_axes(d):
    """d axes of R^6 sampled (widths 100x apart: standardised, as the lattice block is), the
    rest frozen with noise below the floor: dimension d, as the slow reference says."""
    rng = np.random.default_rng(d)
    x = rng.normal(0.0, FLOOR / 20, (600, 6)) + 3.0
    widths = np.geomspace(5.0, 0.05, max(d, 1))[:d]
    for axis, w in enumerate(widths):
        x[:, axis] += rng.uniform(-w, w, 600)
    assert local_dimension(x, 6, standardise=True) == d == slow_local_dimension(x, 6, standardise=True)
    even = np.where(np.arange(6) < d, (x - 3.0) / np.maximum(x.std(axis=0), 1e-12), x - 3.0)  # no standardising
    assert local_dimension(even, 6) == d == slow_local_dimension(even, 6)


def test_block_dimension_of_curved_and_discrete_sets():
    rng = np.random.default_rng(0)
    t = rng.uniform(0, 2 * np.pi, 800)
    circle = np.column_stack([np.cos(t), np.sin(t), np.cos(2 * t)]) * 3.0  # a closed curve in R^3
    assert local_dimension(circle, 3) == 1 == slow_local_dimension(circle, 3)
    torus = np.column_stack([np.cos(t), np.sin(t), np.cos(rng.uniform(0, 2 * np.pi, 800)),
                             np.sin(rng.uniform(0, 2 * np.pi, 800))])
    assert local_dimension(torus, 3) in (2, 3)  # the two angles are drawn independently twice: 3 coordinates
    clusters = np.repeat(rng.normal(size=(6, 3)), 100, axis=0)  # a frozen block folded into 6 copies
    assert local_dimension(clusters, 3) == 0
    assert local_dimension(clusters + rng.normal(0.0, FLOOR / 20, clusters.shape), 3) == 0


@pytest.fixture(scope="module")
def anti():
    return read_xyz(MOLDIR / "anti-BDT.xyz")


@pytest.mark.parametrize("group, free, scheme", [
    ("P-1", ("a", "rot_x", "y"), "local"),
    ("P-1", ("alpha", "gamma", "rot_y", "rot_z", "x"), "full"),
    ("P-1", ("a", "b", "c", "alpha", "beta", "gamma", "rot_x", "rot_y", "rot_z", "x", "y", "z"), "local"),
    ("P21/c", ("b", "beta", "rot_x", "rot_y", "rot_z", "z"), "local"),
    ("P21/c", ("c", "rot_z"), "full"),
])
def test_rigid_body_count_of_generated_landscapes(anti, group, free, scheme):
    """Crystals with only ``free`` DoF varying give a count of len(free), each block its share."""
    model = CrystalModel(anti, group)
    base = dense_packing(model, seed=0)
    ens = Ensemble(free, scheme, 0.5 if scheme == "local" else 1.0, sequence="random")
    thetas, _ = sample(model, ens, base, 400, seed=1, max_attempts=400_000)
    assert len(thetas) == 400
    crystals = as_structures(model, thetas, reference_orbits_of(model))
    found = rigid_body_count(crystals, np.arange(len(crystals)), anti)
    lattice = sum(n in model.lattice_names for n in free)
    rotations = sum(n.startswith("rot_") for n in free)
    assert found.blocks == {"lattice": lattice, "orientation": rotations, "position": len(free) - lattice - rotations}
    assert found.count == len(free) and found.n_used == 400


def reference_orbits_of(model):
    """Orbit labels of the model's molecule (what the store would hold): every atom its own."""
    return np.arange(model.n0)


def test_rigid_body_count_needs_rigid_copies(anti):
    model = CrystalModel(anti, "P-1")
    thetas = np.repeat(dense_packing(model, seed=0)[None], 10, axis=0)
    crystals = as_structures(model, thetas, reference_orbits_of(model))
    found = rigid_body_count(crystals, np.arange(10), anti)
    assert found.count is None and "10 of 10 structures" in found.reason and "50 needed" in found.reason


def test_combine_uses_the_count_only_where_checked_and_within_the_interval():
    calibrated = {"calibrated": 9.0, "calibrated_low": 6.8, "calibrated_high": 11.2, "resolved": False}
    checked = {"rigid_count": 7, "rigid_exact": 12, "rigid_checked": 12}
    assert combine(calibrated, checked) == {
        "calibrated": 7.0, "calibrated_low": 7.0, "calibrated_high": 7.0, "resolved": True, "reason": None,
        "calibrated_by": "rigid-body count", "descriptors_calibrated": 9.0, "descriptors_low": 6.8,
        "descriptors_high": 11.2, "descriptors_resolved": False, "descriptors_reason": None}
    below = dict(checked, rigid_count=3)  # an upper bound below the interval: the interval was wrong
    assert combine(calibrated, below)["calibrated"] == 3.0
    above = combine(calibrated, dict(checked, rigid_count=12))
    assert above["calibrated_by"] == "descriptors" and "may vary together" in above["rigid_reason"]
    unchecked = combine(calibrated, dict(checked, rigid_exact=10))
    assert unchecked["calibrated_by"] == "descriptors" and "10 of 12" in unchecked["rigid_reason"]
    assert combine(calibrated, {"rigid_count": None}) == {"calibrated_by": "descriptors"}
    assert combine({"calibrated_high": None}, checked)["calibrated_by"] == "descriptors"


# ---------------------------------------------------------------- real landscapes (../shared/data)
def _ingested(source, folder, **spec):
    from latentcsp import store
    from latentcsp.calibration.references import reference_molecule
    from latentcsp.ingest import LandscapeSpec, ingest, write_landscape

    write_landscape(ingest(LandscapeSpec(name=Path(folder).name, source=str(source), **spec), progress=False), folder)
    structures = store.read_structures(Path(folder) / "structures.h5")
    return structures, store.read_manifest(Path(folder) / "manifest.csv"), reference_molecule(structures)


@pytest.mark.shared
def test_rigid_body_count_on_a_relaxed_rigid_landscape(shared_data, tmp_path):
    """Genarris Target I (C6H6O, rigid, relaxed): every Z' = 1 general-position structure of its
    largest space group is used, and the count cannot exceed the group's DoF."""
    folder = shared_data / "genarris3-cases" / "Target_I"
    structures, manifest, reference = _ingested(folder / "PBE_MBD", tmp_path / "t1",
                                                energies=str(folder / "Target_I.csv"), energy_column="PBE+MBD(eV)",
                                                energy_unit="eV", energy_per="cell")
    group = manifest.spacegroup_number.value_counts().index[0]
    mine = manifest.index[manifest.spacegroup_number == group]
    general = mine[(manifest.zprime[mine] == 1) & (manifest.site_symmetry[mine] == "1")]
    found = rigid_body_count(structures, mine, reference, min_structures=5)
    assert found.n_used == len(general) >= 5
    assert 0 <= found.count <= CrystalModel(reference, int(group)).n_dof
    print(f"\nTarget I, space group {group}: {found.n_used} structures, count {found.count} {found.blocks}")
    too_few = rigid_body_count(structures, mine, reference, min_structures=len(general) + 1)
    assert too_few.count is None and f"{len(general)} of {len(mine)} structures" in too_few.reason


@pytest.mark.shared
def test_flexible_roy_has_no_rigid_body_count(shared_data, tmp_path):
    structures, manifest, reference = _ingested(shared_data / "roy-beran2022" / "beran_roy_structures.xyz.bz2",
                                                tmp_path / "roy")
    p21c = manifest.index[manifest.spacegroup_number == 14]
    found = rigid_body_count(structures, p21c, reference)
    assert found.count is None and "molecule not rigid" in found.reason


def test_reason_is_the_same_in_every_process():
    """Where skips tie, the reason names the first one met, whatever the hash seed: the SLURM
    and local runs must write identical tables."""
    import os
    import subprocess
    import sys

    code = ("from latentcsp.calibration.rigid import Charts, count;"
            "print(count(Charts(skipped={i: f'reason {c}' for i, c in enumerate('fbdaec')}), list(range(6))).reason)")
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in "1234"}
    assert runs == {"0 of 6 structures are rigid Z' = 1 copies of the reference molecule, 50 needed "
                    "(most common reason: reason f)\n"}
