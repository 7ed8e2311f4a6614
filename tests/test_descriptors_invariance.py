"""AEV invariances on real crystals (from the TorchANI fixture) and the
intermolecular decomposition."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.build import niggli_reduce
from ase.neighborlist import NeighborList, natural_cutoffs
from scipy.sparse.csgraph import connected_components

import latentcsp.descriptors as D

sys.path.insert(0, str(Path(__file__).parent / "reference"))
from numpy_aev import reference_aev  # noqa: E402

FIXTURE = Path(__file__).parent / "data" / "torchani_aev_reference.npz"
ATOL = 1e-11


def crystal(name: str) -> Atoms:
    if not FIXTURE.exists():
        pytest.skip("TorchANI fixture missing; see tests/reference/README.md")
    z = np.load(FIXTURE)
    return Atoms(numbers=z[f"{name}__numbers"], positions=z[f"{name}__positions"],
                 cell=z[f"{name}__cell"], pbc=True)


def molecule_ids(atoms: Atoms) -> np.ndarray:
    """Covalent connectivity under PBC (ASE natural cutoffs), one id per molecule."""
    nl = NeighborList(natural_cutoffs(atoms, mult=1.15), self_interaction=False, bothways=True)
    nl.update(atoms)
    _, labels = connected_components(nl.get_connectivity_matrix(sparse=True), directed=False)
    return labels.astype(np.int64)


@pytest.fixture(scope="module")
def formam():
    at = crystal("formam")
    at.arrays["mol_id"] = molecule_ids(at)
    assert len(set(at.arrays["mol_id"])) == 4  # Z = 4 formamide molecules
    return at


@pytest.fixture(scope="module")
def roy():
    at = crystal("roy0")
    at.arrays["mol_id"] = molecule_ids(at)
    return at


@pytest.mark.parametrize("mode", ["all", "intermolecular"])
def test_cell_choice_niggli_vs_skewed(roy, mode):
    ref = D.aev(roy, neighbours=mode)
    T = np.array([[1, 1, 0], [0, 1, 0], [2, 3, 1]])  # unimodular
    skewed = roy.copy()
    skewed.set_cell(T @ roy.cell.array, scale_atoms=False)
    np.testing.assert_allclose(D.aev(skewed, neighbours=mode), ref, rtol=0, atol=ATOL)
    reduced = skewed.copy()
    niggli_reduce(reduced)  # rotates the frame and wraps positions; per-atom order kept
    assert not np.allclose(reduced.cell.array, skewed.cell.array)
    np.testing.assert_allclose(D.aev(reduced, neighbours=mode), ref, rtol=0, atol=ATOL)


def test_origin_shift_and_rotation(formam):
    ref = D.aev(formam, "ani1x", neighbours="intermolecular")
    moved = formam.copy()
    moved.positions += np.array([3.1, -7.7, 12.25])
    np.testing.assert_allclose(D.aev(moved, "ani1x", neighbours="intermolecular"), ref, atol=ATOL)
    moved.rotate(37, "x", rotate_cell=True)
    moved.rotate(-71, (1, 2, 3), rotate_cell=True)
    np.testing.assert_allclose(D.aev(moved, "ani1x", neighbours="intermolecular"), ref, atol=ATOL)


def test_atom_permutation(roy):
    ref = D.aev(roy, neighbours="intermolecular")
    perm = np.random.default_rng(0).permutation(len(roy))
    shuffled = roy[perm]
    np.testing.assert_allclose(D.aev(shuffled, neighbours="intermolecular"), ref[perm], atol=ATOL)


@pytest.mark.parametrize("mode", ["all", "intermolecular"])
def test_supercell(formam, mode):
    ref = D.aev(formam, neighbours=mode)
    sup = formam.repeat((2, 2, 2))
    # repeat() keeps the per-atom arrays: each copy of a molecule keeps its id, so
    # the copies of one molecule share an id -- they are images of it, which is
    # exactly what intermolecular mode leaves out in the small cell
    got = D.aev(sup, neighbours=mode)
    assert got.shape == (8 * len(formam), ref.shape[1])
    np.testing.assert_allclose(got, np.tile(ref, (8, 1)), rtol=0, atol=1e-10)


def test_supercell_with_per_molecule_ids_needs_mol_shifts(formam):
    """With mol_shifts, intermolecular leaves out only the molecule instance of
    the centre: its translated copies are neighbours, as they are in a
    supercell where each copy has its own id.  Without them, every image of
    the own molecule is left out, which depends on the cell (documented)."""
    small = formam.copy()
    small.arrays["mol_shift"] = D.molecule_shifts(small.cell.array, small.positions, small.arrays["mol_id"])
    ref = D.aev(small, neighbours="intermolecular")
    sup = formam.repeat((2, 2, 2))
    sup.arrays["mol_id"] = molecule_ids(sup)
    assert len(set(sup.arrays["mol_id"])) == 32
    sup.arrays["mol_shift"] = D.molecule_shifts(sup.cell.array, sup.positions, sup.arrays["mol_id"])
    np.testing.assert_allclose(D.aev(sup, neighbours="intermolecular"), np.tile(ref, (8, 1)), atol=1e-10)
    # formamide stacks along the 3.65 Å axis: the copies matter
    without = D.aev(formam, neighbours="intermolecular")
    assert np.abs(without - ref).max() > 0.1
    # and the reference agrees with the instance rule
    params = D.ani2x
    centres = [0, 9]
    got = D.aev(small, params, neighbours="intermolecular", centres=centres)
    exp = reference_aev(small.cell.array, small.positions, params.species_index(small.numbers), params, centres,
                        small.arrays["mol_id"], "intermolecular", mol_shifts=small.arrays["mol_shift"])
    np.testing.assert_allclose(got, exp, rtol=1e-10, atol=1e-11)


def test_molecule_shifts_make_molecules_whole(roy):
    shifts = D.molecule_shifts(roy.cell.array, roy.positions, roy.arrays["mol_id"])
    whole = roy.positions + shifts @ roy.cell.array
    for mid in np.unique(roy.arrays["mol_id"]):
        p = whole[roy.arrays["mol_id"] == mid]
        assert len(p) == 27 and np.ptp(p, axis=0).max() < 12.0  # one ROY molecule, compact


def test_intermolecular_is_all_minus_own_molecule_terms(formam):
    """all = intermolecular + (terms involving the centre's own molecule, images included),
    the latter from the NumPy reference."""
    params = D.ani2x
    centres = [0, 5, 11, 17]
    mol = formam.arrays["mol_id"]
    species = params.species_index(formam.numbers)
    a_all = D.aev(formam, params, centres=centres)
    a_inter = D.aev(formam, params, neighbours="intermolecular", centres=centres)
    own = reference_aev(formam.cell.array, formam.positions, species, params, centres, mol, "all", part="own")
    # the formamide cell is 3.65 Å wide: the own-molecule terms include its periodic images
    assert np.abs(own).max() > 0.1
    np.testing.assert_allclose(a_all - a_inter, own, rtol=1e-9, atol=1e-10)
    # and the intermolecular mode against the reference directly
    ref_inter = reference_aev(formam.cell.array, formam.positions, species, params, centres, mol,
                              "intermolecular")
    np.testing.assert_allclose(a_inter, ref_inter, rtol=1e-10, atol=1e-11)
