"""PDD/AMD crystal similarity (average-minimum-distance package): invariances and shapes."""

import numpy as np
import pytest

pytest.importorskip("amd")

from latentcsp.analysis import similarity as sim  # noqa: E402


def toy_crystal(a=5.0, shear=0.7):
    """Two C-H 'molecules' in a triclinic cell; cell rows are lattice vectors (Å)."""
    cell = np.array([[a, 0.0, 0.0], [shear, 4.6, 0.0], [0.4, 0.5, 6.1]])
    frac = np.array([[0.10, 0.20, 0.30], [0.28, 0.22, 0.33], [0.60, 0.70, 0.55], [0.55, 0.52, 0.61]])
    return cell, frac @ cell, np.array([6, 1, 6, 1])


def rotation(seed=0):
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    q *= np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def emd(s1, s2, **kw):
    return sim.pdd_distance_matrix([s1, s2], **kw)[0, 1]


def test_same_crystal_in_other_settings_has_zero_distance():
    cell, pos, z = toy_crystal()
    base = (cell, pos, z)
    # supercell 2x1x1
    sup_cell = cell * np.array([[2], [1], [1]])
    sup = (sup_cell, np.vstack([pos, pos + cell[0]]), np.r_[z, z])
    # another basis of the same lattice, with positions left unwrapped
    other = (np.array([cell[0], cell[1] + cell[0], cell[2] - cell[1]]), pos + 2 * cell[2] - cell[0], z)
    # rigid motion
    R = rotation()
    moved = (cell @ R.T, pos @ R.T + np.array([0.3, -1.2, 7.0]), z)
    for s in (sup, other, moved):
        assert emd(base, s, k=30) == pytest.approx(0.0, abs=1e-6)


def test_different_crystals_are_apart_and_amd_is_a_lower_bound():
    structs = [toy_crystal(), toy_crystal(a=5.4), toy_crystal(shear=1.3)]
    D = sim.pdd_distance_matrix(structs, k=30)
    A = sim.amd_distance_matrix(structs, k=30)
    assert D.shape == A.shape == (3, 3)
    assert np.allclose(D, D.T) and np.allclose(np.diag(D), 0)
    off = D[~np.eye(3, dtype=bool)]
    assert np.all(off > 1e-3)
    assert np.all(A <= D + 1e-9)


def test_pdd_shape_weights_and_hydrogen_removal():
    cell, pos, z = toy_crystal()
    p = sim.pdd(cell, pos, z, k=12)
    assert p.shape[1] == 13
    assert p[:, 0].sum() == pytest.approx(1.0)
    assert np.all(np.diff(p[:, 1:], axis=1) >= -1e-12)  # distances sorted per row
    heavy = sim.pdd(cell, pos, z, k=12, remove_hydrogens=True)
    assert heavy.shape[0] <= 2
    assert sim.amd_vector(cell, pos, z, k=12).shape == (12,)
    with pytest.raises(ValueError):
        sim.pdd(cell, pos, None, remove_hydrogens=True)
    with pytest.raises(ValueError):
        sim.periodic_set(np.zeros((3, 3)), pos)


def test_accepts_store_like_containers():
    structs = [toy_crystal(), toy_crystal(a=5.2)]
    as_tuples = sim.pdd_distance_matrix(structs, k=10)
    as_dicts = sim.pdd_distance_matrix([{"cell": c, "positions": p, "numbers": z} for c, p, z in structs], k=10)
    as_columns = sim.pdd_distance_matrix({"cell": np.stack([s[0] for s in structs]),
                                          "positions": [s[1] for s in structs],
                                          "numbers": [s[2] for s in structs]}, k=10)
    pre = sim.pdd_distance_matrix(pdd_list=sim.pdds(structs, k=10))
    for D in (as_dicts, as_columns, pre):
        assert np.allclose(D, as_tuples)
    assert sim.pdd_distance_matrix([toy_crystal()], k=5).shape == (1, 1)
