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


def own_molecule_images(atoms: Atoms, i: int) -> set[tuple[int, tuple[int, int, int]]]:
    """The (atom, translation) images bonded to atom i's image at translation 0, through
    covalent bonds between images (ASE natural cutoffs): i's molecule instance, found
    independently of the atoms' molecule ids."""
    nl = NeighborList(natural_cutoffs(atoms, mult=1.15), self_interaction=False, bothways=True)
    nl.update(atoms)
    seen = {(i, (0, 0, 0))}
    todo = [(i, np.zeros(3, int))]
    while todo:
        a, n = todo.pop()
        for b, off in zip(*nl.get_neighbors(a)):
            image = (int(b), tuple(int(x) for x in n + off))
            if image not in seen:
                assert len(seen) < 500, "not a molecule"
                seen.add(image)
                todo.append((int(b), n + off))
    return seen


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
    sup.arrays["mol_id"] = molecule_ids(sup)  # each copy of a molecule is a molecule of its own
    got = D.aev(sup, neighbours=mode)
    assert got.shape == (8 * len(formam), ref.shape[1])
    np.testing.assert_allclose(got, np.tile(ref, (8, 1)), rtol=0, atol=1e-10)


def test_supercell_with_per_molecule_ids_and_mol_shifts(formam):
    """With mol_shifts, intermolecular leaves out only the molecule instance of
    the centre: its translated copies are neighbours, as they are in a
    supercell where each copy has its own id.  Without them, aev() makes the
    molecules whole itself and gives the same numbers."""
    small = formam.copy()
    small.arrays["mol_shift"] = D.molecule_shifts(small.cell.array, small.positions, small.arrays["mol_id"])
    ref = D.aev(small, neighbours="intermolecular")
    sup = formam.repeat((2, 2, 2))
    sup.arrays["mol_id"] = molecule_ids(sup)
    assert len(set(sup.arrays["mol_id"])) == 32
    sup.arrays["mol_shift"] = D.molecule_shifts(sup.cell.array, sup.positions, sup.arrays["mol_id"])
    np.testing.assert_allclose(D.aev(sup, neighbours="intermolecular"), np.tile(ref, (8, 1)), atol=1e-10)
    without = D.aev(formam, neighbours="intermolecular")
    np.testing.assert_allclose(without, ref, rtol=0, atol=1e-12)
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
    """all = intermolecular + (terms involving the centre's own molecule instance),
    the latter from the NumPy reference with the instance found through bonds."""
    params = D.ani2x
    centres = [0, 5, 11, 17]
    species = params.species_index(formam.numbers)
    own = {i: own_molecule_images(formam, i) for i in centres}
    a_all = D.aev(formam, params, centres=centres)
    a_inter = D.aev(formam, params, neighbours="intermolecular", centres=centres)
    own_terms = reference_aev(formam.cell.array, formam.positions, species, params, centres, part="own", own=own)
    assert np.abs(own_terms).max() > 0.1
    np.testing.assert_allclose(a_all - a_inter, own_terms, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("name", ["formam", "roy"])
def test_intermolecular_default_keeps_images_of_the_own_molecule(name, request):
    """aev(neighbours="intermolecular") with mol_ids only (no mol_shifts) equals a masked
    reference that leaves out the centre's molecule instance (found through bonds between
    periodic images, not from the ids) and keeps every periodic image of it."""
    atoms = request.getfixturevalue(name)
    assert "mol_shift" not in atoms.arrays
    params = D.ani2x
    centres = [0, 3, 8, 13]
    species = params.species_index(atoms.numbers)
    own = {i: own_molecule_images(atoms, i) for i in centres}
    mol = atoms.arrays["mol_id"]
    assert all(sorted(j for j, _ in own[i]) == list(np.flatnonzero(mol == mol[i])) for i in centres)
    got = D.aev(atoms, params, neighbours="intermolecular", centres=centres)
    ref = reference_aev(atoms.cell.array, atoms.positions, species, params, centres,
                        neighbours_mode="intermolecular", own=own)
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-11)
    # leaving out every image of the own molecule (the old default) is a different answer
    every_image = reference_aev(atoms.cell.array, atoms.positions, species, params, centres,
                                atoms.arrays["mol_id"], "intermolecular")
    if name == "formam":  # stacked along its 3.65 Å axis: the images are close contacts
        assert np.abs(every_image - ref).max() > 0.1
