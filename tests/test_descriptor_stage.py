"""Descriptor stage: pooling, the content-addressed cache, MPI ranks, HDF5 output."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from crystals import methanol_like

from latentcsp.descriptors import aev
from latentcsp.descriptors.stage import DescriptorSet, balance, compute_group
from latentcsp.io import RawStructure
from latentcsp.ingest import one_molecule
from latentcsp.store import read_matrix, read_structures, write_structures
from latentcsp.structure.crystal import Options, analyse

INTER = DescriptorSet("inter", "ani2x", "intermolecular", "atoms")


def _crystals(n, start=0, permute=False):
    out = []
    rng = np.random.default_rng(start)
    for k in range(start, start + n):
        atoms = methanol_like(14, (7.0 + 0.01 * k, 6.5, 9.0 + 0.005 * k, 90, 105, 90))
        if permute:
            atoms = atoms[rng.permutation(len(atoms))]
        out.append(analyse(RawStructure(f"s{k}", "t", atoms.cell[:], atoms.positions, atoms.numbers, 0.0)))
    kept, bad = one_molecule(out, Options())
    assert not bad
    return kept


def _store(tmp_path, crystals, name="structures.h5"):
    write_structures(crystals, tmp_path / name)
    return read_structures(tmp_path / name)


def test_atoms_pooling_is_the_molecule_in_canonical_order(tmp_path):
    """Atoms alone in their orbit (C, O, the hydroxyl H) keep their own row at their canonical
    place; the methyl H's rows are sorted (tests/test_descriptor_orbits.py)."""
    structures = _store(tmp_path, _crystals(2))
    compute_group(structures, INTER, tmp_path / "d.h5")
    ids, X, record = read_matrix(tmp_path / "d.h5")
    assert record["pooling"] == "atoms" and record["neighbours"] == "intermolecular"
    F = INTER.params.n_features
    assert X.shape == (2, 6 * F) and X.dtype == np.float32
    # independent check: all atoms of the cell through the public API, one molecule's rows
    part = structures.atoms_of(0)
    from ase import Atoms
    atoms = Atoms(numbers=structures.numbers[part], positions=structures.positions[part],
                  cell=structures.cell[0], pbc=True)
    every = aev(atoms, "ani2x", "intermolecular", mol_ids=structures.mol_id[part],
                mol_shifts=np.zeros((len(atoms), 3), dtype=int))
    canon = structures.canonical[part]
    rows = np.zeros((6, F))
    rows[canon[canon >= 0]] = every[canon >= 0]
    orbit = np.zeros(6, dtype=int)
    orbit[canon[canon >= 0]] = structures.orbit[part][canon >= 0]
    alone = np.flatnonzero(np.bincount(orbit)[orbit] == 1)
    assert len(alone) == 3
    assert np.allclose(X[0].reshape(6, F)[alone], rows[alone], atol=1e-6)


def test_vectors_do_not_depend_on_atom_order_in_the_file(tmp_path):
    """The same crystal written with its atoms in another order, in one landscape."""
    plain = _crystals(3)
    shuffled = _crystals(3, permute=True)
    for c in shuffled:
        c.id += "-shuffled"
    structures = _store(tmp_path, one_molecule(plain + shuffled, Options())[0])
    for dset in (INTER, DescriptorSet("el", "ani2x", "all", "elements")):
        compute_group(structures, dset, tmp_path / "d.h5")
        X = read_matrix(tmp_path / "d.h5")[1]
        assert np.allclose(X[:3], X[3:], atol=1e-6)
        assert np.abs(X[0] - X[1]).max() > 1e-4  # the check can tell crystals apart
    assert X.shape[1] == 3 * INTER.params.n_features  # elements pooling: H, C, O


def test_cache_computes_only_new_structures(tmp_path):
    cache = tmp_path / "cache"
    old = _crystals(200)
    report = compute_group(_store(tmp_path, old), INTER, tmp_path / "cold200.h5", cache_dir=cache, chunk=64)
    assert (report.n_computed, report.n_cached) == (200, 0)
    more = old + _crystals(10, start=200)
    warm = compute_group(_store(tmp_path, more, "more.h5"), INTER, tmp_path / "warm.h5", cache_dir=cache, chunk=64)
    assert (warm.n_computed, warm.n_cached) == (10, 200)
    cold = compute_group(_store(tmp_path, more, "more.h5"), INTER, tmp_path / "cold.h5")
    assert cold.n_computed == 210
    assert np.array_equal(read_matrix(tmp_path / "warm.h5")[1], read_matrix(tmp_path / "cold.h5")[1])


def test_balance_splits_by_cost():
    costs = np.array([10, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 9], float)
    shares = balance(costs, 2)
    assert sorted(np.concatenate(shares).tolist()) == list(range(12))
    loads = [costs[s].sum() for s in shares]
    assert abs(loads[0] - loads[1]) <= 1


@pytest.mark.skipif(shutil.which("mpiexec", path=str(Path(sys.executable).parent)) is None,
                    reason="mpiexec (the mpich wheel) not installed")
def test_two_mpi_ranks_give_the_same_matrix(tmp_path):
    crystals = _crystals(12)
    _store(tmp_path, crystals)
    pd.DataFrame({"window": "10", "group": "P21_c", "spacegroup_number": 14,
                  "id": [c.id for c in crystals]}).to_csv(tmp_path / "groups.csv", index=False)
    base = [sys.executable, "-m", "latentcsp.cli", "descriptors", "--structures", str(tmp_path / "structures.h5"),
            "--groups", str(tmp_path / "groups.csv"), "--group", "P21_c", "--set-name", "inter",
            "--set", '{"preset": "ani2x", "neighbours": "intermolecular"}', "--threads", "1"]
    subprocess.run(base + ["--out", str(tmp_path / "one.h5")], check=True)
    mpiexec = str(Path(sys.executable).parent / "mpiexec")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    run = subprocess.run([mpiexec, "-n", "2"] + base + ["--mpi", "--out", str(tmp_path / "two.h5")],
                         capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    assert "rank 0/2" in run.stderr
    ids1, X1, _ = read_matrix(tmp_path / "one.h5")
    ids2, X2, _ = read_matrix(tmp_path / "two.h5")
    assert list(ids1) == list(ids2) and np.array_equal(X1, X2)
    # with a cache each rank files the rows it computed; a later 1-rank run finds them all
    cache = ["--cache-dir", str(tmp_path / "cache")]
    run = subprocess.run([mpiexec, "-n", "2"] + base + cache + ["--mpi", "--out", str(tmp_path / "cold.h5")],
                         capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    assert len(list((tmp_path / "cache").glob("*/*.h5"))) == 2  # one part per rank
    warm = subprocess.run(base + cache + ["--out", str(tmp_path / "warm.h5")], capture_output=True, text=True)
    assert warm.returncode == 0, warm.stderr
    assert "0 computed, 12 from cache" in warm.stderr
    for name in ("cold.h5", "warm.h5"):
        assert np.array_equal(read_matrix(tmp_path / name)[1], X1)
