"""The geometry kernels refuse absurd input before compiled code sees it (a seeded random corpus).

Every case is either refused with a ValueError / BadStructure, exactly when
the limits of :mod:`latentcsp.structure.pbc` (re-stated here independently) say so, or
searched correctly (against brute force).  Nothing else may happen: no other
exception, no crash.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import numpy as np
import pytest
from ase.data import covalent_radii
from crystals import methanol_like

from latentcsp.io import RawStructure
from latentcsp.structure.pbc import (MAX_CANDIDATES, MAX_CELL_LENGTH, MAX_CELLS_AWAY, MIN_PLANE_SPACING, PeriodicGrid,
                           check_geometry, close_pairs, neighbour_list)
from latentcsp.structure.canonical import Matcher, kabsch_rmsd_batch
from latentcsp.structure.crystal import BadStructure, Crystal, analyse, find_molecules, molecule_key, periodic_pairs
from latentcsp.structure.kernels import contact_sums, covalent_bonds

HOSTILE = [np.nan, np.inf, -np.inf, 1e19, -1e20, 1e300, 5e3, 0.0, -0.0, 1e-300]


def acceptable(cell, positions, cutoff) -> bool:
    """The documented limits, written out with numpy (the oracle)."""
    cell, positions = np.asarray(cell, float), np.asarray(positions, float)
    if not np.isfinite(cell).all() or np.abs(cell).max() > MAX_CELL_LENGTH:
        return False
    with np.errstate(all="ignore"):
        det = np.linalg.det(cell)
        if not np.isfinite(det) or det == 0:
            return False
        inv = np.linalg.inv(cell)
        spacing = 1.0 / np.linalg.norm(inv, axis=0)
    if not np.isfinite(inv).all() or spacing.min() < MIN_PLANE_SPACING:
        return False
    if not np.isfinite(positions).all() or (len(positions) and np.abs(positions @ inv).max() > MAX_CELLS_AWAY):
        return False
    if not (np.isfinite(cutoff) and cutoff >= 0):
        return False
    images = np.prod(np.floor(2 * cutoff / spacing) + 3)
    return images * len(positions) <= MAX_CANDIDATES


def shift_reach(cell, positions, cutoff) -> np.ndarray:
    """Lattice translations along each axis within which every pair closer than ``cutoff`` lies."""
    inv = np.linalg.inv(cell)
    return np.ceil(cutoff * np.linalg.norm(inv, axis=0) + np.ptp(positions @ inv, axis=0)).astype(int) + 1


def shifts_to_search(cell, positions, cutoff) -> int:
    return int(np.prod(2 * shift_reach(cell, positions, cutoff) + 1))


def pairs_brute_force(cell, positions, cutoff) -> set:
    """Every (i, j, S) with |positions[j] + S @ cell - positions[i]| <= cutoff, S != 0 when i == j."""
    reach = shift_reach(cell, positions, cutoff)
    out = set()
    for S in itertools.product(*[range(-r, r + 1) for r in reach]):
        shifted = positions + np.array(S) @ cell
        d = np.linalg.norm(shifted[None, :, :] - positions[:, None, :], axis=2)
        for i, j in zip(*np.nonzero(d <= cutoff)):
            if i != j or any(S):
                out.add((int(i), int(j), S))
    return out


def random_case(rng):
    """(cell, positions, cutoff): mostly sane, often with one hostile value planted somewhere."""
    lengths = rng.uniform(3.0, 12.0, 3)
    cell = np.diag(lengths) + np.triu(rng.uniform(-2.0, 2.0, (3, 3)), 1)
    n = int(rng.integers(1, 7))
    positions = rng.uniform(-0.3, 1.3, (n, 3)) @ cell
    cutoff = float(rng.uniform(0.5, 4.0))
    kind = rng.integers(0, 7)
    if kind == 1:
        positions[rng.integers(n), rng.integers(3)] = rng.choice(HOSTILE)
    elif kind == 2:
        cell[rng.integers(3), rng.integers(3)] = rng.choice(HOSTILE)
    elif kind == 3:
        cell[2] = cell[0] * rng.choice([1.0, 1 + 1e-12, -1.0]) + rng.choice([0, 1e-9])  # flat
    elif kind == 4:
        cutoff = float(rng.choice([np.nan, np.inf, -1.0, 1e6, 0.0]))
    elif kind == 5:
        cell = cell[::-1].copy()  # a left-handed cell is still a cell
    return cell, positions, cutoff


@pytest.mark.parametrize("seed", range(3))
def test_close_pairs_refuse_exactly_the_absurd_and_are_exact_otherwise(seed):
    rng = np.random.default_rng(seed)
    refused = searched = 0
    for _ in range(120):
        cell, positions, cutoff = random_case(rng)
        ok = acceptable(cell, positions, cutoff)
        try:
            i, j, S, d = periodic_pairs(cell, positions, cutoff)
        except ValueError:
            assert not ok, (cell, positions, cutoff)
            refused += 1
            continue
        assert ok, (cell, positions, cutoff)
        found = {(a, b, tuple(s)) for a, b, s in zip(i.tolist(), j.tolist(), S.tolist())}
        assert len(found) == len(i)
        assert np.allclose(d, np.linalg.norm(positions[j] + S @ cell - positions[i], axis=1))
        if shifts_to_search(cell, positions, cutoff) < 3000:  # brute force is slow on strongly skewed cells
            assert found == pairs_brute_force(cell, positions, cutoff)
            searched += 1
    assert refused > 20 and searched > 20


def test_compiled_entry_points_refuse_without_python_checks():
    """close_pairs and the cell list raise inside numba when called directly with absurd values."""
    cell = np.diag([7.0, 8.0, 9.0])
    inv = np.linalg.inv(cell)
    for positions in (np.array([[0.0, 1e20, 0.0]]), np.array([[np.nan, 0.0, 0.0]])):
        with pytest.raises(ValueError, match="absurd coordinate|not a finite number"):
            close_pairs(cell, inv, positions, 2.0, np.arange(1))
    radii = covalent_radii[[6, 8]]
    with pytest.raises(ValueError, match="cells from the origin"):
        covalent_bonds(cell, inv, np.array([[0.0, 0, 0], [1e21, 0, 0]]), radii, 0.4, 0.5)
    with pytest.raises(ValueError, match="flat"):
        contact_sums(np.zeros((3, 3)), np.full((3, 3), np.inf), np.zeros((1, 3)), np.zeros(1, np.int64),
                     np.arange(1), 5.0, np.ones(3, np.int64))


def test_messages_name_the_atom_and_the_value():
    cell = np.diag([7.0, 8.0, 9.0])
    with pytest.raises(ValueError, match=r"atom O7 at 1, 1e\+20, 2 Å, 1\.2\de\+19 cells away"):
        check_geometry(cell, [[0, 0, 0], [1, 1e20, 2]], labels=["C1", "O7"])
    with pytest.raises(ValueError, match=r"lattice vector is longer than 10000 Å \(lattice vector lengths 7, 8e\+19, 9"):
        check_geometry(np.diag([7.0, 8e19, 9.0]), np.zeros((1, 3)))
    with pytest.raises(ValueError, match=r"flat \(singular\).*volume 0 Å\^3"):
        check_geometry(np.zeros((3, 3)), np.zeros((1, 3)))
    with pytest.raises(ValueError, match="too narrow for the cutoff"):
        PeriodicGrid(np.diag([0.2, 0.2, 0.2]), np.zeros((500, 3)), 5.0)
    with pytest.raises(ValueError, match="not a finite number"):
        neighbour_list(cell, [[0, 0, np.inf]], 5.0)


@pytest.mark.parametrize("seed", range(2))
def test_analyse_quarantines_hostile_structures_and_keeps_the_rest(seed):
    """Random damage to a good crystal: a Crystal or a BadStructure, never another exception."""
    rng = np.random.default_rng(100 + seed)
    good = methanol_like()
    outcomes = set()
    for _ in range(60):
        cell, positions, numbers = good.cell[:].copy(), good.positions.copy(), good.numbers.copy()
        what = rng.integers(0, 5)
        if what == 0:
            positions[rng.integers(len(positions)), rng.integers(3)] = rng.choice(HOSTILE)
        elif what == 1:
            cell[rng.integers(3), rng.integers(3)] = rng.choice(HOSTILE)
        elif what == 2:
            numbers[rng.integers(len(numbers))] = rng.choice([0, -3, 119, 500])
        elif what == 3:
            positions = positions[: rng.integers(0, len(positions))]
        else:
            cell = cell * rng.choice([0.01, 0.3, 10.0, 100.0])
        raw = RawStructure("x", "f", cell, positions, numbers, -1.0)
        try:
            crystal = analyse(raw)
        except BadStructure as exc:
            outcomes.add("bad")
            assert str(exc)
            continue
        assert isinstance(crystal, Crystal) and np.isfinite(crystal.positions).all()
        outcomes.add("kept")
    assert outcomes == {"bad", "kept"}


def test_find_molecules_names_file_labels_in_overlaps():
    atoms = methanol_like(spacegroup=1)
    positions = atoms.positions.copy()
    positions[1] = positions[0] + [0.3, 0.0, 0.0]
    labels = ["C1", "O1", "H1", "H2", "H3", "H4"]
    with pytest.raises(BadStructure, match=r"overlapping atoms C1 and O1 at 0\.300 Å"):
        find_molecules(atoms.cell[:], positions, atoms.numbers, labels=labels)
    with pytest.raises(BadStructure, match=r"overlapping atoms C1 and O2 at 0\.300 Å"):  # file order, 1-based
        find_molecules(atoms.cell[:], positions, atoms.numbers)


def test_graph_and_rmsd_kernels_refuse_indices_outside_the_molecule():
    numbers = np.array([6, 8, 1])
    for bad in ([[0, 3]], [[-1, 1]]):
        with pytest.raises(ValueError, match="outside 0..2"):
            molecule_key(numbers, bad)
        with pytest.raises(ValueError, match="outside 0..2"):
            Matcher(numbers, bad)
    points = np.random.default_rng(0).normal(size=(3, 3))
    assert kabsch_rmsd_batch(points, points, np.array([[0, 1, 2]]))[0] == pytest.approx(0, abs=1e-6)
    for perms in ([[0, 1, 3]], [[0, 1]], [[0, -1, 2]]):
        with pytest.raises(ValueError, match="permutations"):
            kabsch_rmsd_batch(points, points, np.array(perms))


def test_absurd_coordinate_that_crashed_the_ingest_is_quarantined(tmp_path):
    """One frame with a coordinate of 1e20 Å killed the ingest (SIGSEGV in the cell list); now it is quarantined."""
    from ase.io import write
    from crystals import to_extxyz_frame

    bad = methanol_like()
    bad.positions[0, 1] = 1e20
    alone, mixed = tmp_path / "alone.extxyz", tmp_path / "mixed.extxyz"
    write(alone, [to_extxyz_frame(bad, "bad", -1.0)], format="extxyz")
    write(mixed, [to_extxyz_frame(methanol_like(cellpar=(7.0, 6.5, 9.0 + 0.1 * k, 90, 105, 90)), f"g{k}", -1.0 - k)
                  for k in range(3)] + [to_extxyz_frame(bad, "bad", -1.0)], format="extxyz")
    for src, code in ((alone, 1), (mixed, 0)):
        out = tmp_path / src.stem
        proc = subprocess.run([sys.executable, "-m", "latentcsp.cli", "ingest", "--name", "m", "--spec",
                               f'{{"source": "{src}"}}', "--outdir", str(out)], capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == code, proc.stderr  # not -11 (SIGSEGV) or -7 (SIGBUS)
        quarantine = (out / "quarantine.csv").read_text()
        assert "bad" in quarantine and "cells from the origin" in quarantine, quarantine
