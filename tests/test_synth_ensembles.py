"""Batch crystal building, the batch clash check and the reference ensembles of known
dimension, against slow one-at-a-time references."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import spglib

from latentcsp.synth import CrystalModel, SamplingOptions, read_xyz
from latentcsp.synth.ensembles import LOCAL_STEP, Ensemble, dof_kind, sample
from latentcsp.synth.lattice import cell_from_params, cells
from latentcsp.synth.kernels import min_contact_batch, reduced_basis
from latentcsp.synth.sampling import accept, sample_trials, thetas_from_unit

MOLDIR = Path(__file__).resolve().parents[1] / "config" / "molecules"
GROUPS = ["P21/c", "P-1", "C2/c", "Pna21", "P212121"]


@pytest.fixture(scope="module")
def anti():
    return read_xyz(MOLDIR / "anti-BDT.xyz")


def _slow_min_contact(model, theta, images=3):
    """Smallest r / (R_i + R_j) by brute force over a fixed block of images."""
    s = model.build(theta)
    x, cell, n0 = s["x"], s["cell"], model.n0
    radii = np.tile(model.radii, model.sg.z)
    best = np.inf
    rng = range(-images, images + 1)
    shifts = np.array([[i, j, k] for i in rng for j in rng for k in rng]) @ cell
    for i in range(n0):
        for t in shifts:
            d = np.linalg.norm(x + t - x[i], axis=1) / (radii + radii[i])
            if not t.any():
                d[:n0] = np.inf  # the atom's own molecule
            best = min(best, d.min())
    return best


@pytest.mark.parametrize("sg", GROUPS)
def test_batch_build_and_contacts_match_one_at_a_time(anti, sg):
    model = CrystalModel(anti, sg)
    u = np.random.default_rng(1).random((40, model.n_dof))
    thetas, valid = thetas_from_unit(model, u, SamplingOptions())
    batch = model.build_batch(thetas)
    contacts = model.min_contacts(thetas)
    for b in np.flatnonzero(valid)[:12]:
        one = model.build(thetas[b])
        np.testing.assert_allclose(batch["x"][b], one["x"], atol=1e-12)
        np.testing.assert_allclose(batch["centres"][b], one["centres"], atol=1e-12)
        assert contacts[b] == pytest.approx(_slow_min_contact(model, thetas[b]), rel=1e-12)


def test_early_stop_only_says_below(anti):
    model = CrystalModel(anti, "P21/c")
    u = np.random.default_rng(2).random((200, model.n_dof))
    thetas, valid = thetas_from_unit(model, u, SamplingOptions())
    full = model.min_contacts(thetas)
    early = model.min_contacts(thetas, stop_below=0.8)
    assert np.array_equal(full >= 0.8, early >= 0.8)
    assert np.allclose(full[full >= 0.8], early[full >= 0.8])
    assert (early[valid] >= full[valid] - 1e-12).all()  # an early value is a contact, never below the true minimum


def test_contacts_do_not_depend_on_the_basis_of_the_lattice(anti):
    """The same lattice given by an oblique basis (a unimodular integer change) has the
    same contacts; the image enumeration runs over a reduced basis either way."""
    model = CrystalModel(anti, "P-1")
    u = np.random.default_rng(5).random((60, model.n_dof))
    thetas, valid = thetas_from_unit(model, u, SamplingOptions())
    batch = model.build_batch(thetas[valid])
    reach = 2 * model.rmol + 2 * model.radii.max()
    args = (batch["centres"], batch["valid"], model.radii_all, model.n0, model.sg.z, reach, 0.0)
    plain = min_contact_batch(batch["x"], batch["cell"], *args)
    unimodular = np.array([[1.0, 0, 0], [5, 1, 0], [7, -3, 1]])
    oblique = min_contact_batch(batch["x"], unimodular @ batch["cell"], *args)
    np.testing.assert_allclose(oblique, plain, rtol=1e-12)
    for b in range(3):
        assert plain[b] == pytest.approx(_slow_min_contact(model, thetas[valid][b]), rel=1e-12)
    r = reduced_basis(unimodular @ batch["cell"][0])
    assert abs(np.linalg.det(r)) == pytest.approx(abs(np.linalg.det(batch["cell"][0])))
    assert np.linalg.norm(r, axis=1).max() <= np.linalg.norm(batch["cell"][0], axis=1).max() + 1e-9


def test_a_nearly_flat_cell_is_a_clash_not_a_memory_error(anti):
    """Lattice angles that nearly close the cell (volume 1e-6 A^3 here) would ask for
    billions of images; such a cell has a lattice vector shorter than any contact allows."""
    model = CrystalModel(anti, "P-1")
    theta = sample_trials(model, 1, 0)[0][0]
    batch = model.build_batch(theta[None])
    flat = batch["cell"].copy()
    flat[0, 2] = flat[0, 0] + flat[0, 1] + np.array([0.0, 0.0, 1e-8])  # third vector nearly in the plane
    reach = 2 * model.rmol + 2 * model.radii.max()
    got = min_contact_batch(batch["x"], flat, batch["centres"], np.array([True]), model.radii_all, model.n0,
                            model.sg.z, reach, 0.8)
    assert got[0] < 0.8


@pytest.mark.parametrize("n", [3, 40])
def test_accept_keeps_the_first_clash_free_proposals_whatever_the_batches(anti, n):
    """Proposals come in batches sized to the need; the crystals kept are still the first n of
    the proposal sequence that pass, as one long batch checked at once finds them."""
    model, clash = CrystalModel(anti, "P21/c"), SamplingOptions().clash
    u = np.random.default_rng(4).random((6000, model.n_dof))
    thetas, valid = thetas_from_unit(model, u, SamplingOptions())
    contacts = model.min_contacts(thetas)
    first = np.flatnonzero(valid & (contacts >= clash))[:n]
    sizes = []

    def propose(size):
        start = sum(sizes)
        sizes.append(size)
        return thetas[start:start + size], valid[start:start + size]

    kept, attempts = accept(model, propose, n, clash, max_attempts=len(thetas))
    np.testing.assert_array_equal(kept, thetas[first])
    assert attempts == first[-1] + 1
    assert sizes[0] == max(64, 1 << (2 * n - 1).bit_length()) and sizes == sorted(sizes)


def test_unit_cube_maps_to_the_sampling_ranges(anti):
    opts = SamplingOptions()
    model = CrystalModel(anti, "P-1")
    u = np.random.default_rng(3).random((500, model.n_dof))
    thetas, valid = thetas_from_unit(model, u, opts)
    lat = thetas[valid, :6]
    ck = model.sg.z * anti.volume / np.array([abs(np.linalg.det(cell_from_params(p))) for p in lat])
    assert ck.min() >= opts.ck_min - 1e-9 and ck.max() <= opts.ck_max + 1e-9
    assert np.degrees(lat[:, 3:]).min() >= 60 - 1e-9 and np.degrees(lat[:, 3:]).max() <= 120 + 1e-9
    assert (lat[:, :3].max(axis=1) / lat[:, :3].min(axis=1)).max() <= opts.ratio_max**2 + 1e-9
    assert np.allclose(thetas[:, 9:], u[:, 9:])  # centroid fractions pass through
    assert valid.all()  # every triple of angles in 60-120 degrees makes a cell


def test_angles_that_make_no_cell_are_masked():
    p6 = np.array([[5, 6, 7, *np.radians([90, 90, 90])], [5, 6, 7, *np.radians([170, 10, 10])]])
    cell, ok = cells(p6)
    assert ok.tolist() == [True, False]
    np.testing.assert_allclose(cell[0], np.diag([5.0, 6.0, 7.0]), atol=1e-12)


def test_trials_are_clash_free_and_keep_the_group(anti):
    model = CrystalModel(anti, "C2/c")
    thetas, attempts = sample_trials(model, 5, seed=4)
    assert len(thetas) == 5 and attempts > 5
    for th in thetas:
        assert _slow_min_contact(model, th) >= SamplingOptions().clash
        atoms = model.atoms(th)
        data = spglib.get_symmetry_dataset((atoms.cell[:], atoms.get_scaled_positions(), atoms.numbers), symprec=1e-3)
        assert data.number == 15


@pytest.mark.parametrize("scheme", ["full", "local", "gaussian"])
@pytest.mark.parametrize("sequence", ["sobol", "random"])
def test_ensembles_vary_exactly_the_free_dof(anti, scheme, sequence):
    model = CrystalModel(anti, "P21/c")
    base = sample_trials(model, 1, seed=5)[0][0]
    free = ("b", "rot_y", "z")
    ens = Ensemble(free, scheme=scheme, amplitude=0.5, sequence=sequence)
    thetas, attempts = sample(model, ens, base, 60, seed=6)
    assert thetas.shape == (60, model.n_dof) and attempts >= 60
    varied = np.ptp(thetas, axis=0) > 0
    assert [n for n, v in zip(model.names, varied) if v] == list(free)
    assert (model.min_contacts(thetas) >= SamplingOptions().clash).all()
    if scheme == "local":
        steps = np.array([0.5 * LOCAL_STEP[dof_kind(n)] for n in model.names])
        assert (np.abs(thetas - base) <= steps + 1e-12).all()
    assert ens.dimension == 3


def test_mixed_scheme_turns_molecules_freely_near_one_lattice(anti):
    """full_kinds = rotations: the lattice stays within its local steps of the base, the
    rotations leave them (the full range), and the ensemble reads back from its record."""
    model = CrystalModel(anti, "P-1")
    base = sample_trials(model, 1, seed=2)[0][0].copy()
    base[: model.n_lat] *= [1.3, 1.3, 1.3, 1, 1, 1]
    ens = Ensemble(("a", "gamma", "rot_x", "rot_y"), scheme="local", amplitude=0.5, full_kinds=("rotation",))
    thetas, _ = sample(model, ens, base, 200, seed=4)
    off = np.abs(thetas - base)
    steps = ens.steps(model.names)
    for name in ("a", "gamma"):
        i = model.names.index(name)
        assert off[:, i].max() <= steps[i] + 1e-12 and off[:, i].max() > 0.5 * steps[i]
    for name in ("rot_x", "rot_y"):
        assert off[:, model.names.index(name)].max() > 5 * steps[model.names.index(name)]
    assert np.ptp(thetas[:, model.names.index("rot_z")]) == 0
    assert Ensemble.from_record(dataclasses.asdict(ens)) == ens
    assert "rotation full" in ens.label()
    with pytest.raises(ValueError, match="full_kinds"):
        Ensemble(("a",), scheme="local", full_kinds=("torsion",))


def test_gaussian_scheme_has_the_asked_spread(anti):
    """Without clashes to reject (a loose cell, one DoF), the offsets from the base are normal
    with standard deviation amplitude x step: mean ~0, sd within 10 %, ~5 % beyond 1.96 sd."""
    model = CrystalModel(anti, "P-1")
    base = sample_trials(model, 1, seed=2)[0][0].copy()
    base[: model.n_lat] *= [1.6, 1.6, 1.6, 1, 1, 1]  # far apart: no proposal clashes
    ens = Ensemble(("rot_x",), scheme="gaussian", amplitude=0.7, sequence="random")
    thetas, attempts = sample(model, ens, base, 2000, seed=3)
    assert attempts == 2000  # nothing rejected, so the sample is the proposal distribution
    offset = thetas[:, model.names.index("rot_x")] - base[model.names.index("rot_x")]
    sd = 0.7 * LOCAL_STEP["rotation"]
    assert abs(offset.mean()) < 4 * sd / np.sqrt(2000)
    assert offset.std() == pytest.approx(sd, rel=0.1)
    assert 0.03 < np.mean(np.abs(offset) > 1.96 * sd) < 0.07
    assert ens.label().startswith("rot_x (gaussian x0.7")


def test_local_amplitude_per_kind(anti):
    model = CrystalModel(anti, "P-1")
    ens = Ensemble(("a", "alpha", "rot_x", "x"), scheme="local", amplitude={"length": 2.0, "rotation": 0.1})
    steps = ens.steps(model.names)
    assert steps[model.names.index("a")] == 2.0 * LOCAL_STEP["length"]
    assert steps[model.names.index("rot_x")] == pytest.approx(0.1 * LOCAL_STEP["rotation"])
    assert steps[model.names.index("alpha")] == LOCAL_STEP["angle"]  # kinds not named keep one step


def test_unknown_dof_is_a_clear_error(anti):
    model = CrystalModel(anti, "P21/c")
    with pytest.raises(ValueError, match="no DoF"):
        sample(model, Ensemble(("alpha",)), np.zeros(model.n_dof), 3)
