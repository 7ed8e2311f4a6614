"""Low-level pieces of the AEV engine: periodic neighbour search and the
vectorisable exp/log/pow/cos used by the kernels."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pytest
from ase.geometry import cellpar_to_cell
from numba import njit

from latentcsp.descriptors import _vecmath as V
from latentcsp.descriptors import neighbour_list
from latentcsp.descriptors.kernels import angular_plan, radial_plan, triu_index

sys.path.insert(0, str(Path(__file__).parent / "reference"))
from numpy_aev import neighbours as ref_neighbours  # noqa: E402


@pytest.mark.parametrize("cellpar, n, cutoff", [
    ([7.0, 8.0, 9.0, 90, 90, 90], 16, 5.1),
    ([6.1, 7.3, 7.9, 78, 99, 113], 12, 5.1),
    ([2.1, 3.0, 9.0, 60, 100, 95], 6, 5.2),  # narrower than the cutoff on two axes
    ([1.2, 1.5, 1.9, 80, 70, 65], 2, 3.5),   # tiny cell: hundreds of images
])
def test_neighbour_list_matches_brute_force(cellpar, n, cutoff):
    rng = np.random.default_rng(n)
    cell = cellpar_to_cell(cellpar)
    if n > 6:
        cell = np.array([[1, 0, 0], [3, 1, 0], [-2, 1, 1]]) @ cell  # skew it (unimodular)
    positions = (rng.random((n, 3)) + rng.integers(-3, 4, (n, 3))) @ cell
    centres = np.arange(0, n, 3)
    off, j, shifts, vec, dist = neighbour_list(cell, positions, cutoff, centres=centres)
    assert off[0] == 0 and off[-1] == len(j)
    for c, i in enumerate(centres):
        got = sorted((int(a), tuple(int(x) for x in s)) for a, s in zip(j[off[c]:off[c + 1]], shifts[off[c]:off[c + 1]]))
        ref = sorted((a, tuple(s)) for a, s, _, _ in ref_neighbours(cell, positions, i, cutoff))
        assert got == ref
        # vectors and distances are consistent with the translations of the input positions
        sl = slice(off[c], off[c + 1])
        expect = positions[j[sl]] + shifts[sl] @ cell - positions[i]
        np.testing.assert_allclose(vec[sl], expect, atol=1e-9)
        np.testing.assert_allclose(dist[sl], np.linalg.norm(expect, axis=1), atol=1e-9)


def test_neighbour_list_exclusion_and_self_images():
    cell = np.diag([2.0, 10.0, 10.0])
    positions = np.array([[0.0, 0, 0], [0.0, 1.0, 0], [0.0, 0.0, 4.0]])
    off, j, shifts, _, dist = neighbour_list(cell, positions, 4.5, centres=[0])
    # own images at x = +-2, +-4; atom 1 at 1.0 and its images; atom 2 at 4.0 (x = 0 only)
    own = sorted(float(d) for a, d in zip(j, dist) if a == 0)
    assert own == [2.0, 2.0, 4.0, 4.0]
    # only the own instance goes: images of 0 and 1 stay (shifts given, or made here: 0-1 is a bond)
    for given in (np.zeros((3, 3), int), None):
        off, j, s, _, d = neighbour_list(cell, positions, 4.5, centres=[0], mol_ids=[5, 5, 6],
                                         exclude_same_mol=True, mol_shifts=given)
        assert sorted(zip(j.tolist(), map(tuple, s.tolist()))) == sorted(
            [(0, (1, 0, 0)), (0, (-1, 0, 0)), (0, (2, 0, 0)), (0, (-2, 0, 0)), (1, (1, 0, 0)), (1, (-1, 0, 0)),
             (1, (2, 0, 0)), (1, (-2, 0, 0)), (2, (0, 0, 0)), (2, (1, 0, 0)), (2, (-1, 0, 0))])


@njit(error_model="numpy")
def _apply(kind, x, p):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        if kind == 0:
            out[i] = V.exp1(x[i])
        elif kind == 1:
            out[i] = V.log1(x[i])
        else:
            out[i] = V.cos_0_pi(x[i])
    return out


def test_vecmath_accuracy():
    x = np.concatenate([np.linspace(-707.9, 709, 100_001), np.linspace(-1, 1, 10_001)])
    np.testing.assert_allclose(_apply(0, x, 0.0), np.exp(x), rtol=5e-16 * 4, atol=0)
    assert _apply(0, np.array([-708.5, -800.0, -1e6]), 0.0).tolist() == [0.0, 0.0, 0.0]
    x = np.concatenate([np.geomspace(1e-300, 1e300, 100_001), np.linspace(0.5, 2.0, 10_001)])
    np.testing.assert_allclose(_apply(1, x, 0.0), np.log(x), rtol=1e-15, atol=3e-16)
    x = np.linspace(0, np.pi, 100_001)
    np.testing.assert_allclose(_apply(2, x, 0.0), np.cos(x), rtol=0, atol=5e-16)
    b = np.concatenate([[0.0], np.linspace(0, 1, 10_001), np.geomspace(1e-250, 1, 1001)])
    for p in (14.100000381469727, 32.0, 0.5, 3.0):
        y = b.copy()
        V.pow_inplace(y, len(y), p)
        ref = b**p
        # relative error ~ |p log x| ulp: < 1e-13 down to 1e-250
        np.testing.assert_allclose(y, ref, rtol=2e-13, atol=1e-300)


@njit
def _axpy16(dst, src, alpha):
    V.axpy16(dst, 20, src, 9, -alpha)


@njit
def _tiles(acc, V8, S4, V4, S8, lo, hi):
    V.tile4x8(acc, 3, V8, S4, lo, hi)
    V.tile8x4(acc, 40, V4, S8, lo, hi)


@pytest.mark.parametrize("lo, hi", [(2, 9), (4, 5), (6, 6)])
def test_register_tiles(lo, hi):
    # acc[r, l] += sum_p S[p, r] V[p, l] over pairs lo <= p < hi, only there
    rng = np.random.default_rng(lo)
    V8, S4, V4, S8 = (rng.normal(size=(10, w)) for w in (8, 4, 4, 8))
    acc = rng.normal(size=80)
    expect = acc.copy()
    expect[3:35] += (S4[lo:hi].T @ V8[lo:hi]).ravel()
    expect[40:72] += (S8[lo:hi].T @ V4[lo:hi]).ravel()
    _tiles(acc, V8.ravel(), S4.ravel(), V4.ravel(), S8.ravel(), lo, hi)
    np.testing.assert_allclose(acc, expect, rtol=1e-14, atol=1e-14)


def test_vector_axpy():
    rng = np.random.default_rng(12)
    src = rng.normal(size=40)
    dst = rng.normal(size=40)
    expect = dst.copy()
    expect[20:36] -= 0.7 * src[9:25]
    _axpy16(dst, src, 0.7)
    np.testing.assert_allclose(dst, expect, rtol=1e-15, atol=1e-15)


def test_triu_index_and_angular_plan():
    t = triu_index(3)
    assert t.tolist() == [[0, 1, 2], [1, 3, 4], [2, 4, 5]]
    assert angular_plan(12.5, [0.8, 3.16], 14.1, 3.5).tolist() == [1.0, 0.0]
    assert angular_plan(8.0, [0.9, 2.85], 32.0, 3.5).tolist() == [1.0, 32.0]
    assert angular_plan(500.0, [0.9, 2.85], 2.5, 3.5)[0] == 0.0  # would overflow: per-shift exps


@njit
def _gauss16(dst, off, plan, a, b, d):
    V.gauss16(dst, off, plan, a, b, d)


@pytest.mark.parametrize("preset", ["ani1x", "ani2x"])
def test_radial_gaussians_from_two_exps(preset):
    # gauss16 with radial_plan gives exp(-EtaR (r - ShfR[k])^2) for the presets'
    # float32-rounded (not exactly evenly spaced) shifts, over the whole cutoff
    from latentcsp.descriptors import get_params

    p = get_params(preset)
    shifts = np.asarray(p.ShfR)
    assert np.ptp(np.diff(shifts)) > 0  # really uneven: the E correction matters
    plan = radial_plan(p.EtaR, shifts, p.Rcr)
    assert plan[32] == 1.0
    for r in np.linspace(0.0, p.Rcr, 301):
        d = r - shifts[0]
        dst = np.zeros(20)
        dst[[0, 1, 18, 19]] = 7.0
        _gauss16(dst, 2, plan, 0.3 * np.exp(-p.EtaR * d * d), np.exp(2 * p.EtaR * plan[33] * d), d)
        expect = 0.3 * np.exp(-p.EtaR * (r - shifts) ** 2)
        # relative error ~ (EtaR d^2) ulp: the rounding of the two exps' arguments
        # (up to ~360) no longer cancels; 2e-13 of a term is far below float32
        np.testing.assert_allclose(dst[2:18], expect, rtol=2e-13, atol=1e-17)
        assert dst[[0, 1, 18, 19]].tolist() == [7.0] * 4


def test_radial_plan_falls_back_to_one_exp_per_shift():
    even = 0.8 + 0.25 * np.arange(16)
    assert radial_plan(19.7, even, 5.1)[32] == 1.0
    assert radial_plan(19.7, even[:12], 5.1)[32] == 0.0  # not 16 shifts
    assert radial_plan(400.0, even, 5.1)[32] == 0.0  # exp(-EtaR d^2) would underflow
    uneven = even.copy()
    uneven[5] += 0.01  # the Taylor-series correction would be inexact
    assert radial_plan(19.7, uneven, 5.1)[32] == 0.0


@pytest.mark.parametrize("cellpar, cutoff", [
    ([7.0, 8.0, 9.0, 90, 90, 90], 5.1),
    ([2.1, 3.0, 9.0, 60, 100, 95], 5.2),
    ([1.2, 1.5, 1.9, 80, 70, 65], 3.5),
])
def test_max_candidates_bounds_every_centre(cellpar, cutoff):
    # the kernels size their neighbour buffers with it: it must never be exceeded
    from latentcsp.structure.pbc import PeriodicGrid, max_candidates

    rng = np.random.default_rng(11)
    cell = cellpar_to_cell(cellpar)
    positions = rng.random((9, 3)) @ cell
    grid = PeriodicGrid(cell, positions, cutoff)
    bound = max_candidates(len(positions), grid.m, grid.reach)
    per_bin = np.diff(grid.bin_start)
    for f in grid.frac:  # (atom, image) pairs in the slabs of each centre, counted the slow way
        ranges = [range(int(np.floor((f[a] - grid.reach[a]) * grid.m[a])),
                        int(np.floor((f[a] + grid.reach[a]) * grid.m[a])) + 1) for a in range(3)]
        visited = sum(per_bin[((c0 % grid.m[0]) * grid.m[1] + c1 % grid.m[1]) * grid.m[2] + c2 % grid.m[2]]
                      for c0 in ranges[0] for c1 in ranges[1] for c2 in ranges[2])
        assert visited <= bound
    # and it counts lattice translations, not a multiple of the cell's whole image shell
    assert bound <= len(positions) * np.prod(2 * np.ceil(grid.reach) + 3)


def test_grid_shapes_any_cell():
    # all combinations of wide/narrow axes give the same neighbour count as brute force
    for widths in itertools.product([1.7, 11.0], repeat=3):
        cell = np.diag(widths)
        positions = np.array([[0.3, 0.2, 0.1], [0.9, 1.0, 1.1]])
        off, j, _, _, _ = neighbour_list(cell, positions, 3.0)
        for i in range(2):
            assert off[i + 1] - off[i] == len(ref_neighbours(cell, positions, i, 3.0))
