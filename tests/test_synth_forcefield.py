"""The generator's exp-6 force field: W99 / DREIDING parameters and combining rules against
the literature, atom types from the bond graph, the lattice energy and its gradient for a
molecule with N, O, F and Cl, and the errors for molecules it cannot type."""

import sys
from itertools import combinations_with_replacement
from pathlib import Path

import numpy as np
import pytest
from ase.data import chemical_symbols
from crystals import substituted_benzene

from latentcsp.synth import CrystalModel, SamplingOptions, generate
from latentcsp.synth.forcefield import PARAMETERS, atom_types, pair_tables
from latentcsp.synth.sampling import sample_trials
from latentcsp.synth.molecule import Molecule, principal_frame

sys.path.insert(0, str(Path(__file__).parent / "reference"))
from exp6_reference import DREIDING, W99, lattice_energy, pair_energy  # noqa: E402

EV = 96.485  # kJ/mol per eV (mol-CSPy's files agree with this to 1e-4)


@pytest.fixture(scope="module")
def benzene():
    symbols, xyz, types = substituted_benzene()
    return Molecule("test-benzene", symbols, principal_frame(xyz)), types


def test_every_type_has_literature_parameters():
    assert set(PARAMETERS) == set(W99) | set(DREIDING)


def test_pair_energies_match_the_literature():
    """Every pair of types at contact and beyond: the code's tables against W99 (kJ/mol)
    and DREIDING's own exp-6 form, combined by Williams' rules in the reference."""
    r = np.array([2.2, 2.8, 3.4, 4.0, 5.5, 8.0])
    for pair in combinations_with_replacement(sorted(PARAMETERS), 2):
        (i, j), A, B, C, _ = pair_tables(list(pair))
        ours = A[i, j] * np.exp(-B[i, j] * r) - C[i, j] / r**6
        np.testing.assert_allclose(ours, pair_energy(*pair, r), rtol=1e-12, atol=1e-12, err_msg=str(pair))


@pytest.mark.parametrize("pair,eV", [
    # cross terms written out in mol-CSPy's cspy/potentials/w99.pots (A eV, rho Å, C eV Å^6)
    (("C_W3", "N_W2"), (1724.370689, 0.28248588, 15.98803110)),
    (("H_W1", "O_W1"), (573.031850, 0.26595745, 6.14037693)),
    (("N_W3", "O_W1"), (2229.442228, 0.26881720, 17.94143991)),
    (("C_W4", "H_W4"), (103.981288, 0.27932961, 0.0)),
])
def test_w99_cross_terms_match_a_published_parameter_file(pair, eV):
    index, A, B, C, _ = pair_tables(list(pair))
    i, j = index
    assert A[i, j] == pytest.approx(eV[0] * EV, rel=2e-4)
    assert 1 / B[i, j] == pytest.approx(eV[1], rel=1e-6)
    assert C[i, j] == pytest.approx(eV[2] * EV, rel=2e-4, abs=1e-9)


def test_atom_types_follow_the_bond_graph(benzene):
    mol, types = benzene
    assert atom_types(mol.symbols, mol.ref) == types
    # methanol: four-bonded C, two-bonded O, H on C and on a hydroxyl O
    xyz = np.array([[0, 0, 0], [1.43, 0, 0], [-0.36, 1.03, 0], [-0.36, -0.51, 0.89], [-0.36, -0.51, -0.89],
                    [1.75, 0.9, 0]])
    assert atom_types(["C", "O", "H", "H", "H", "H"], xyz) == ["C_W4", "O_W2", "H_W1", "H_W1", "H_W1", "H_W2"]
    # formic acid HC(=O)OH: the acid H is a carboxyl H
    xyz = np.array([[0, 0, 0], [1.20, 0, 0], [-0.66, 1.15, 0], [-0.55, -0.95, 0], [-1.61, 1.05, 0]])
    assert atom_types(["C", "O", "O", "H", "H"], xyz) == ["C_W3", "O_W1", "O_W2", "H_W1", "H_W3"]
    # HCN and an N-H: nitrile C and N, then an imine N with one H
    assert atom_types(["H", "C", "N"], np.array([[-1.07, 0, 0], [0, 0, 0], [1.16, 0, 0]])) == ["H_W1", "C_W2", "N_W1"]
    xyz = np.array([[0, 0, 0], [1.27, 0, 0], [1.78, 0.89, 0], [-0.55, -0.95, 0], [-0.55, 0.95, 0]])
    assert atom_types(["C", "N", "H", "H", "H"], xyz) == ["C_W3", "N_W3", "H_W4", "H_W1", "H_W1"]


@pytest.mark.parametrize("sg", ["P21/c", "P-1"])
def test_lattice_energy_with_n_o_f_cl_matches_a_slow_reference(benzene, sg):
    mol, types = benzene
    model = CrystalModel(mol, sg, cutoff=9.0, switch_width=1.5)
    theta = sample_trials(model, 1, 4, SamplingOptions())[0][0]
    s = model.build(theta)
    nimg = int(np.max(model._nmax(s["cell"], model.cutoff + 2 * model.rmol))) + 1
    e = model.energy(theta)
    assert e < 0
    assert e == pytest.approx(lattice_energy(model, theta, types, nimg), rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("sg", ["P21/c", "P-1", "Pna21"])
def test_gradient_with_n_and_o_matches_finite_differences(benzene, sg):
    mol, _ = benzene
    model = CrystalModel(mol, sg)
    theta = sample_trials(model, 1, 5, SamplingOptions())[0][0]
    theta[: model.n_lat] *= [0.97 if n in ("a", "b", "c") else 1.0 for n in model.lattice_names]  # closer contacts
    e, g = model.energy_and_gradient(theta)
    assert np.isfinite(e)
    h = 1e-6
    fd = np.zeros_like(theta)
    for i in range(len(theta)):
        tp, tm = theta.copy(), theta.copy()
        tp[i] += h
        tm[i] -= h
        fd[i] = (model.energy(tp) - model.energy(tm)) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-4 * max(1.0, np.abs(fd).max()))


def test_molecules_without_parameters_are_refused_clearly():
    xyz = np.array([[0.0, 0.0, 0.0], [1.94, 0.0, 0.0], [-0.36, 1.03, 0.0], [-0.36, -0.51, 0.89],
                    [-0.36, -0.51, -0.89]])
    bromomethane = Molecule("CH3Br", ["C", "Br", "H", "H", "H"], principal_frame(xyz))
    with pytest.raises(ValueError, match=r"no exp-6 parameters for element\(s\) \['Br'\]"):
        CrystalModel(bromomethane, "P21/c").exp6  # crystals build; the first energy needs the types
    with pytest.raises(ValueError, match=r"no W99/DREIDING atom type for: H0 bonded to \['F'\]"):
        atom_types(["H", "F"], np.array([[0.0, 0.0, 0.0], [0.92, 0.0, 0.0]]))


def methanethiol() -> tuple[Molecule, list[str]]:
    """CH3SH (C-S 1.82 Å, S-H 1.34 Å) and the types it should get: the thiol H is DREIDING's H_."""
    xyz = np.array([[0.0, 0.0, 0.0], [1.82, 0.0, 0.0], [-0.36, 1.03, 0.0], [-0.36, -0.51, 0.89],
                    [-0.36, -0.51, -0.89], [1.96, 1.33, 0.0]])
    return Molecule("CH3SH", ["C", "S", "H", "H", "H", "H"], principal_frame(xyz)), \
        ["C_W4", "S_3", "H_W1", "H_W1", "H_W1", "H_"]


@pytest.mark.parametrize("sg", ["P21/c", "P-1"])
def test_a_thiol_is_typed_and_its_lattice_energy_matches_a_slow_reference(sg):
    mol, types = methanethiol()
    assert atom_types(mol.symbols, mol.ref) == types
    model = CrystalModel(mol, sg, cutoff=9.0, switch_width=1.5)
    theta = sample_trials(model, 1, 3, SamplingOptions())[0][0]
    nimg = int(np.max(model._nmax(model.build(theta)["cell"], model.cutoff + 2 * model.rmol))) + 1
    e = model.energy(theta)
    assert e < 0
    assert e == pytest.approx(lattice_energy(model, theta, types, nimg), rel=1e-9, abs=1e-9)


@pytest.mark.shared
def test_the_real_molecules_are_typed_built_and_minimised(shared_data, tmp_path):
    """ROY and the Genarris molecules, one whole molecule from each landscape's first structure."""
    from latentcsp.io import RawStructure, read_source
    from latentcsp.structure.crystal import analyse

    sources = {"ROY": shared_data / "roy-beran2022" / "beran_roy_structures.xyz.bz2"}
    for name in ("aspirin", "DNI", "HMX", "CL-20", "Target_I", "Target_XXII"):
        sources[name] = sorted((shared_data / "genarris3-cases" / name / "PBE_MBD").glob("*.cif"))[0]
    for name, source in sources.items():
        c = analyse(next(r for r in read_source(source) if isinstance(r, RawStructure)))
        atoms = np.flatnonzero(c.mol_ids == c.representatives[0])
        symbols = [chemical_symbols[z] for z in c.numbers[atoms]]
        mol = Molecule(name, symbols, principal_frame(c.positions[atoms]))
        counts = {t: atom_types(mol.symbols, mol.ref).count(t) for t in PARAMETERS}
        if name == "ROY":  # methyl C, nitrile C and N, NH, nitro N and O, thiophene S
            assert {t: n for t, n in counts.items() if n} == {
                "C_W2": 1, "C_W3": 10, "C_W4": 1, "H_W1": 8, "H_W4": 1, "N_W1": 1, "N_W2": 1, "N_W3": 1,
                "O_W1": 2, "S_3": 1}
        if name == "aspirin":  # acid H, two C=O, the ester and acid O-C
            assert (counts["H_W3"], counts["O_W1"], counts["O_W2"], counts["C_W4"]) == (1, 2, 2, 1)
        xyz = tmp_path / f"{name}.xyz"
        xyz.write_text(f"{mol.n_atoms}\n{name}\n" + "".join(
            f"{s} {x:.6f} {y:.6f} {z:.6f}\n" for s, (x, y, z) in zip(mol.symbols, mol.ref)))
        s = generate(xyz, "P21/c", n_trials=1, seed=0, minimise=True, out_dir=tmp_path / name)
        assert s["n_converged"] == s["n_unique_minima"] == 1, (name, s)
        assert -150 < s["minima_energy"]["min"] < -30 and 1.0 < s["minima_density"]["max"] < 2.0, (name, s)
