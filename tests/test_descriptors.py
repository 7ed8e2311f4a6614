"""AEV engine: agreement with a slow NumPy reference and with TorchANI, API."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numba
import numpy as np
import pytest
from ase import Atoms
from ase.geometry import cellpar_to_cell

import latentcsp.descriptors as D
from latentcsp.descriptors.kernels import angular_plan, radial_plan

sys.path.insert(0, str(Path(__file__).parent / "reference"))
from numpy_aev import reference_aev  # noqa: E402

FIXTURE = Path(__file__).parent / "data" / "torchani_aev_reference.npz"


def random_crystal(rng, cell, n_atoms, n_species, n_mol=3, min_dist=0.95, unwrap=True):
    """Random atoms in ``cell`` (rows), no two closer than ``min_dist`` (all images)."""
    cell = np.asarray(cell, float)
    frac: list[np.ndarray] = []
    shifts = np.array([(a, b, c) for a in range(-3, 4) for b in range(-3, 4) for c in range(-3, 4)], float)
    while len(frac) < n_atoms:
        f = rng.random(3)
        ok = True
        for g in frac:
            d = (g - f + shifts) @ cell
            if np.min(np.einsum("ij,ij->i", d, d)) < min_dist**2:
                ok = False
                break
        if ok:
            frac.append(f)
    frac = np.array(frac)
    if unwrap:  # the engine must not assume wrapped positions
        frac = frac + rng.integers(-2, 3, size=frac.shape)
    positions = frac @ cell
    species = rng.integers(0, n_species, size=n_atoms)
    mol_ids = rng.integers(0, n_mol, size=n_atoms)
    return positions, species, mol_ids


T_SKEW = np.array([[1, 2, 1], [0, 1, 1], [1, 1, 1]])  # unimodular (det 1)

CELLS = {
    "triclinic": cellpar_to_cell([6.1, 7.3, 7.9, 78, 99, 113]),
    "skewed": T_SKEW @ cellpar_to_cell([5.6, 6.0, 6.3, 85, 95, 100]),
    # narrower than both cutoffs along a: an atom sees several images of itself
    "narrow": cellpar_to_cell([2.3, 6.4, 6.9, 90, 104, 90]),
    "left-handed": cellpar_to_cell([6.1, 7.3, 7.9, 78, 99, 113])[[1, 0, 2]],
}
N_ATOMS = {"triclinic": 22, "skewed": 18, "narrow": 7, "left-handed": 22}


@pytest.mark.parametrize("mode", ["all", "intermolecular"])
@pytest.mark.parametrize("name", list(CELLS))
def test_matches_numpy_reference(name, mode):
    rng = np.random.default_rng(sum(map(ord, name + mode)))
    params = D.ani2x
    cell = CELLS[name]
    positions, species, mol_ids = random_crystal(rng, cell, N_ATOMS[name], params.n_species)
    centres = rng.choice(len(positions), size=min(4, len(positions)), replace=False)
    mol_shifts = rng.integers(-1, 2, size=(len(positions), 3))  # random ids: explicit instances
    got = D.aev_arrays(cell, positions, species, mol_ids, centres, params, mode, mol_shifts)
    ref = reference_aev(cell, positions, species, params, centres, mol_ids, mode, mol_shifts=mol_shifts)
    assert got.shape == (len(centres), params.n_features)
    assert np.abs(ref).max() > 0.1 and np.count_nonzero(ref[:, params.radial_length:]) > 0
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-11)


def test_matches_numpy_reference_ani1x_and_custom():
    rng = np.random.default_rng(7)
    cell = CELLS["skewed"]
    # the custom sets take the kernels' general paths: 5 radial shifts (one exp
    # per shift), 3 ShfA x 3 ShfZ (no register tiles); 16 shifts with a steep
    # EtaR (radial_plan off) and a steep EtaA (angular Gaussian not factorised)
    steep = D.get_params({"preset": "ani2x", "EtaR": 60.0, "EtaA": 300.0})
    assert radial_plan(steep.EtaR, steep.ShfR, steep.Rcr)[32] == 0.0
    assert angular_plan(steep.EtaA, steep.ShfA, steep.Zeta, steep.Rca)[0] == 0.0
    for params in (D.ani1x, steep, D.get_params({"preset": "ani2x", "Zeta": 3.0, "ShfA": [1.0, 2.2, 3.1],
                                                 "ShfZ": [0.2, 1.5, 2.9], "EtaR": 4.0, "Rcr": 4.0,
                                                 "ShfR": [0.9, 1.7, 2.2, 3.0, 3.6]})):
        positions, species, mol_ids = random_crystal(rng, cell, 14, params.n_species)
        got = D.aev_arrays(cell, positions, species, mol_ids, [0, 3, 5], params, "all")
        ref = reference_aev(cell, positions, species, params, [0, 3, 5])
        assert np.abs(ref[:, :params.radial_length]).max() > 0.05
        assert np.abs(ref[:, params.radial_length:]).max() > 0.05
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-11)


def _fixture():
    if not FIXTURE.exists():
        pytest.skip("TorchANI fixture missing; see tests/reference/README.md")
    data = np.load(FIXTURE)
    meta = json.loads(str(data["meta"]))
    return data, meta


def test_matches_torchani_fixture():
    data, meta = _fixture()
    checked = set()
    for name, info in meta["crystals"].items():
        for preset in info["presets"]:
            atoms = Atoms(numbers=data[f"{name}__numbers"], positions=data[f"{name}__positions"],
                          cell=data[f"{name}__cell"], pbc=True)
            centres = data[f"{name}__centres"]
            got = D.aev(atoms, preset, centres=centres)
            ref = data[f"{name}__aev_{preset}"]
            assert got.shape == ref.shape
            err = np.abs(got - ref).max()
            assert err <= 1e-5, (name, preset, err)
            assert err <= 1e-10, (name, preset, err)  # in practice ~1e-14: the same constants
            checked.add((name, preset))
    assert {("roy0", "ani2x"), ("formam", "ani1x"), ("bm030", "ani2x"), ("formam_skewed", "ani2x")} <= checked


def test_results_do_not_depend_on_threads():
    rng = np.random.default_rng(3)
    cell = CELLS["triclinic"]
    positions, species, mol_ids = random_crystal(rng, cell, 60, 7, min_dist=0.7)
    whole = np.zeros((60, 3), int)
    runs = [D.aev_arrays(cell, positions, species, mol_ids, neighbours="intermolecular", mol_shifts=whole,
                         threads=t) for t in (1, 2, 3)]
    assert all(np.array_equal(runs[0], r) for r in runs[1:])
    # 660 centres: several blocks per thread
    many = np.tile(np.arange(60), 11)
    split = D.aev_arrays(cell, positions, species, mol_ids, many, neighbours="intermolecular", mol_shifts=whole,
                         threads=2)
    assert np.array_equal(split, np.tile(runs[0], (11, 1)))
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = D.aev_arrays(cell, positions, species, mol_ids, neighbours="intermolecular", mol_shifts=whole)
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(one, runs[0])


def test_centres_subset_and_order():
    rng = np.random.default_rng(4)
    cell = CELLS["triclinic"]
    positions, species, mol_ids = random_crystal(rng, cell, 20, 7)
    full = D.aev_arrays(cell, positions, species)
    sub = D.aev_arrays(cell, positions, species, centres=[7, 2, 2, 11])
    np.testing.assert_array_equal(sub, full[[7, 2, 2, 11]])
    assert D.aev_arrays(cell, positions, species, centres=[]).shape == (0, D.ani2x.n_features)


def test_out_buffer_reused():
    rng = np.random.default_rng(6)
    cell = CELLS["triclinic"]
    positions, species, mol_ids = random_crystal(rng, cell, 20, 7)
    fresh = D.aev_arrays(cell, positions, species, centres=[3, 5, 8])
    buf = np.full((3, D.ani2x.n_features), np.nan)  # stale content must be overwritten
    got = D.aev_arrays(cell, positions, species, centres=[3, 5, 8], out=buf)
    assert got is buf
    np.testing.assert_array_equal(buf, fresh)
    for bad in (np.empty((2, D.ani2x.n_features)), np.empty((3, D.ani2x.n_features), np.float32),
                np.empty((D.ani2x.n_features, 3)).T):
        with pytest.raises(ValueError, match="out must be"):
            D.aev_arrays(cell, positions, species, centres=[3, 5, 8], out=bad)


def test_aev_atoms_api_and_mol_id_array():
    rng = np.random.default_rng(5)
    cell = CELLS["triclinic"]
    positions, species, mol_ids = random_crystal(rng, cell, 16, 4)
    numbers = np.array([1, 6, 7, 8])[species]
    atoms = Atoms(numbers=numbers, positions=positions, cell=cell, pbc=True)
    a = D.aev(atoms, "ani1x")
    assert a.shape == (16, 384) and a.dtype == np.float64
    np.testing.assert_array_equal(a, D.aev_arrays(cell, positions, species, params="ani1x"))
    atoms.arrays["mol_id"] = mol_ids
    with pytest.raises(ValueError, match="mol_shifts"):  # random ids: not bonded molecules
        D.aev(atoms, "ani1x", neighbours="intermolecular")
    into_cell = -np.floor(positions @ np.linalg.inv(cell)).astype(int)  # each "molecule" in one cell
    atoms.arrays["mol_shift"] = into_cell
    inter = D.aev(atoms, "ani1x", neighbours="intermolecular")
    np.testing.assert_array_equal(
        inter, D.aev_arrays(cell, positions, species, mol_ids, params="ani1x", neighbours="intermolecular",
                            mol_shifts=into_cell))
    assert not np.array_equal(inter, a)


def test_errors():
    cell = CELLS["triclinic"]
    atoms = Atoms("CSiH", positions=[[0, 0, 0], [1.5, 0, 0], [0, 1.1, 0]], cell=cell, pbc=True)
    with pytest.raises(ValueError, match=r"Si.*ani2x"):
        D.aev(atoms, "ani2x")
    atoms = Atoms("CSH", positions=[[0, 0, 0], [1.8, 0, 0], [0, 1.1, 0]], cell=cell, pbc=True)
    with pytest.raises(ValueError, match=r"S.*ani1x"):
        D.aev(atoms, "ani1x")
    assert D.aev(atoms, "ani2x").shape == (3, 1008)
    with pytest.raises(ValueError, match="mol_id"):
        D.aev(atoms, "ani2x", neighbours="intermolecular")
    with pytest.raises(ValueError, match="neighbours"):
        D.aev(atoms, "ani2x", neighbours="inter")
    atoms.pbc = [True, True, False]
    with pytest.raises(ValueError, match="periodic"):
        D.aev(atoms)
    with pytest.raises(ValueError, match="singular"):
        D.aev_arrays(np.zeros((3, 3)), np.zeros((1, 3)), [0])
    with pytest.raises(ValueError, match="centres"):
        D.aev_arrays(cell, np.zeros((2, 3)), [0, 1], centres=[2])
