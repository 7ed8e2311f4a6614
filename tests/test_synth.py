"""The quasi-random generator: symmetry, DoF parametrisation, energy and gradients
against slow references, trial structures' space groups, .res output, minimisation."""

import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import spglib

from latentcsp.structure import symmetry
from latentcsp.structure.crystallography import shelx_encoding
from latentcsp.synth import CrystalModel, SamplingOptions, generate, get_spacegroup, read_xyz, true_dof
from latentcsp.synth.lattice import cell_and_derivatives
from latentcsp.synth.minimise import MinimiseOptions, centroid_fingerprint, deduplicate, minimise
from latentcsp.synth.sampling import sample_trials
from latentcsp.synth.model import rotation_and_derivatives

sys.path.insert(0, str(Path(__file__).parent / "reference"))
from exp6_reference import lattice_energy  # noqa: E402

MOLDIR = Path(__file__).resolve().parents[1] / "config" / "molecules"
TOP10 = ["P21/c", "P212121", "P-1", "P21", "Pbca", "C2/c", "Pna21", "Cc", "Pca21", "C2"]
SEED_TABLE2 = {"P21/c": 10, "C2/c": 10, "P212121": 9, "P-1": 12, "Pca21": 8, "Pna21": 8, "P21": 9, "C2": 9,
               "Pbca": 9, "Cc": 8}


@pytest.fixture(scope="module")
def anti():
    return read_xyz(MOLDIR / "anti-BDT.xyz")


@pytest.fixture(scope="module")
def syn():
    return read_xyz(MOLDIR / "syn-BDT.xyz")


def _trial(model, seed=0, n=1):
    """The first n clash-free Sobol trials of a model."""
    trials, _ = sample_trials(model, n, seed, SamplingOptions())
    assert len(trials) == n
    return trials


# ---------------------------------------------------------------- symmetry and DoF
@pytest.mark.parametrize("sg", TOP10)
def test_dof_vector_has_the_true_dimension(anti, sg):
    model = CrystalModel(anti, sg)
    assert model.n_dof == true_dof(sg) == SEED_TABLE2[sg]
    g = get_spacegroup(sg)
    assert len(g.polar_axes) == symmetry.polar_directions(sg)
    assert len(g.lattice_free()) == symmetry.lattice_parameters(sg)
    assert g.z == len(g.rotations)


@pytest.mark.parametrize("symbol,number,z,latt,nsymm", [
    ("P2_1/c", 14, 4, 1, 1), ("P 1 21/c 1", 14, 4, 1, 1), ("C2/c", 15, 8, 7, 1), ("Pbca", 61, 8, 1, 3),
    ("Pna21", 33, 4, -1, 3), ("P-1", 2, 2, 1, 0), ("Cc", 9, 4, -7, 1), (19, 19, 4, -1, 3)])
def test_spacegroup_lookup_and_shelx_codes(symbol, number, z, latt, nsymm):
    g = get_spacegroup(symbol)
    code, symm = shelx_encoding(g.rotations, g.translations)
    assert (g.number, g.z, code, len(symm)) == (number, z, latt, nsymm)


def test_shelx_symm_expands_to_the_group():
    for sg in TOP10:
        g = get_spacegroup(sg)
        ops = _expand_ops(*shelx_encoding(g.rotations, g.translations))
        key = {(r.tobytes(), tuple(np.round(t % 1, 6))) for r, t in ops}
        ref = {(r.astype(np.int64).tobytes(), tuple(np.round(t % 1, 6))) for r, t in zip(g.rotations, g.translations)}
        assert key == ref, sg


# ---------------------------------------------------------------- derivatives
def test_cell_derivatives_match_finite_differences():
    p6 = np.array([7.1, 9.3, 12.2, np.radians(80.0), np.radians(104.0), np.radians(97.0)])
    _, d = cell_and_derivatives(p6)
    h = 1e-6
    for k in range(6):
        e = np.zeros(6)
        e[k] = h
        fd = (cell_and_derivatives(p6 + e)[0] - cell_and_derivatives(p6 - e)[0]) / (2 * h)
        np.testing.assert_allclose(d[k], fd, atol=1e-7)


@pytest.mark.parametrize("w", [[0.0, 0.0, 0.0], [0.3, -1.2, 0.7], [2.5, 1.0, -1.5]])
def test_rotation_derivatives_match_finite_differences(w):
    w = np.array(w, dtype=float)
    _, d = rotation_and_derivatives(w)
    h = 1e-6
    for i in range(3):
        e = np.zeros(3)
        e[i] = h
        fd = (rotation_and_derivatives(w + e)[0] - rotation_and_derivatives(w - e)[0]) / (2 * h)
        np.testing.assert_allclose(d[i], fd, atol=1e-7)


@pytest.mark.parametrize("sg", ["P21/c", "P-1", "C2/c", "Pna21", "Cc", "P212121", "C2"])
def test_energy_gradient_matches_finite_differences(anti, syn, sg):
    for mol, seed in ((anti, 1), (syn, 2)):
        model = CrystalModel(mol, sg)
        theta = _trial(model, seed)[0]
        # a compressed cell so that many pairs are near the repulsive wall, and a non-trivial base rotation
        base = rotation_and_derivatives(theta[model.n_lat: model.n_lat + 3])[0]
        theta[model.n_lat: model.n_lat + 3] = [0.05, -0.1, 0.02]
        theta[: model.n_lat] *= [0.97 if n in ("a", "b", "c") else 1.0 for n in model.lattice_names]
        e, g = model.energy_and_gradient(theta, base)
        assert np.isfinite(e)
        fd = np.zeros_like(theta)
        h = 1e-6
        for i in range(len(theta)):
            tp, tm = theta.copy(), theta.copy()
            tp[i] += h
            tm[i] -= h
            fd[i] = (model.energy(tp, base) - model.energy(tm, base)) / (2 * h)
        np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-4 * max(1.0, np.abs(fd).max()))


# ---------------------------------------------------------------- energy vs a slow reference
BDT_TYPES = {"C": "C_W3", "H": "H_W1", "S": "S_3"}  # every C aromatic (3 neighbours), every H on C


@pytest.mark.parametrize("sg", ["P21/c", "P-1", "C2"])
def test_energy_matches_slow_reference(anti, sg):
    model = CrystalModel(anti, sg, cutoff=9.0, switch_width=1.5)
    theta = _trial(model, 3)[0]
    s = model.build(theta)
    nimg = int(np.max(model._nmax(s["cell"], model.cutoff + 2 * model.rmol))) + 1
    types = [BDT_TYPES[e] for e in anti.symbols]
    assert model.energy(theta) == pytest.approx(lattice_energy(model, theta, types, nimg), rel=1e-9, abs=1e-9)


def test_energy_is_invariant_to_the_setting_of_the_same_crystal(anti):
    """Same crystal, molecule 0 chosen as a symmetry copy: same energy."""
    model = CrystalModel(anti, "P21/c")
    theta = _trial(model, 4)[0]
    # the inversion image of molecule 0 (centroid -phi, orientation -R is R after inversion of the
    # molecule, which for centrosymmetric anti-BDT is the same set of atoms)
    other = theta.copy()
    other[model.n_lat + 3:] = np.mod(-theta[model.n_lat + 3:], 1.0)
    assert model.energy(other) == pytest.approx(model.energy(theta), abs=1e-5)


# ---------------------------------------------------------------- generated structures
def _expand_ops(latt, symm):
    """Operations from SHELX LATT/SYMM (what a .res reader does)."""
    centring = {1: [[0, 0, 0]], 2: [[0, 0, 0], [.5, .5, .5]], 7: [[0, 0, 0], [.5, .5, 0]],
                5: [[0, 0, 0], [0, .5, .5]], 6: [[0, 0, 0], [.5, 0, .5]],
                4: [[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]]}[abs(latt)]
    ops = [(np.eye(3, dtype=np.int64), np.zeros(3))]
    for line in symm:
        rot, tr = np.zeros((3, 3), dtype=np.int64), np.zeros(3)
        for i, expr in enumerate(line.replace(" ", "").upper().split(",")):
            for term in expr.replace("-", "+-").split("+"):
                if not term:
                    continue
                sign = -1 if term.startswith("-") else 1
                term = term.lstrip("-")
                if term in "XYZ":
                    rot[i, "XYZ".index(term)] = sign
                else:
                    tr[i] += sign * float(Fraction(term))
        ops.append((rot, tr))
    if latt > 0:
        ops += [(-r, -t) for r, t in ops]
    return [(r, (t + np.array(c)) % 1.0) for r, t in ops for c in centring]


def _read_res(path):
    """Minimal CSPy .res reader with symmetry expansion (for the tests only)."""
    lines = Path(path).read_text().splitlines()
    title = lines[0].split()
    cellpar = [float(v) for v in lines[1].split()[2:8]]
    latt = next(int(l.split()[1]) for l in lines if l.startswith("LATT"))
    symm = [l[5:] for l in lines if l.startswith("SYMM")]
    sfac = next(l.split()[1:] for l in lines if l.startswith("SFAC"))
    atoms = [l.split() for l in lines[lines.index(next(l for l in lines if l.startswith("SFAC"))) + 1:]
             if l.strip() and l.split()[0] != "END"]
    syms = [sfac[int(a[1]) - 1] for a in atoms]
    frac = np.array([[float(v) for v in a[2:5]] for a in atoms])
    from ase import Atoms
    from ase.geometry import cellpar_to_cell

    ops = _expand_ops(latt, symm)
    allf = np.concatenate([frac @ r.T + t for r, t in ops])
    return title, Atoms(syms * len(ops), scaled_positions=allf % 1.0, cell=cellpar_to_cell(cellpar), pbc=True)


def _numbers(atoms):
    return [{"H": 1, "C": 6, "S": 16}[s] for s in atoms.get_chemical_symbols()]


@pytest.mark.parametrize("sg", TOP10)
def test_trial_structures_have_the_requested_spacegroup(anti, syn, tmp_path, sg):
    for mol in (anti, syn):
        out = tmp_path / mol.name
        summary = generate(MOLDIR / f"{mol.name}.xyz", sg, n_trials=3, seed=7, minimise=False, out_dir=out)
        g = get_spacegroup(sg)
        assert summary["n_trials"] == 3 and summary["true_dof"] == SEED_TABLE2[sg]
        files = sorted((out / "trial").glob("*.res"))
        assert len(files) == 3
        for f in files:
            title, atoms = _read_res(f)
            assert title[3] == g.symbol and title[1] == f.stem
            assert len(atoms) == g.z * mol.n_atoms
            data = spglib.get_symmetry_dataset((atoms.cell[:], atoms.get_scaled_positions(), _numbers(atoms)),
                                               symprec=1e-3)
            assert data.number == g.number, (f.name, data.international)
        table = pd.read_csv(out / "trial" / f"dof_{g.tag}.csv")
        assert len(table) == 3 and (table["true_dof"] == SEED_TABLE2[sg]).all()
        assert (table["detected"] == g.number).all() and summary["n_trials_detected_as_requested"] == 3
        # the dof row rebuilds the structure in the file: same energy
        model = CrystalModel(mol, sg)
        row = table.iloc[0]
        lat = [row[n] if n in ("a", "b", "c") else np.radians(row[n]) for n in model.lattice_names]
        theta = np.concatenate([lat, row[["rot_x", "rot_y", "rot_z"]].to_numpy(float),
                                [row["xyz"[i]] for i in g.free_axes]])
        assert model.energy(theta) == pytest.approx(row["energy"], abs=1e-6)
        assert float(_read_res(files[0])[0][2]) == pytest.approx(row["energy"], abs=1e-4)


def test_generate_with_minimisation(tmp_path):
    out = tmp_path / "anti-BDT"
    s = generate(MOLDIR / "anti-BDT.xyz", "P21", n_trials=6, seed=3, minimise=True, out_dir=out)
    assert s["n_trials"] == 6 and s["n_converged"] >= 4 and s["n_unique_minima"] >= 1
    table = pd.read_csv(out / "minima" / "dof_P21.csv")
    assert len(table) == s["n_unique_minima"] == len(list((out / "minima").glob("*.res")))
    assert table["energy"].is_monotonic_increasing
    # minimised BDT: dense molecular crystals, bound
    assert ((table["density"] > 1.2) & (table["density"] < 1.8)).all(), table["density"]
    assert (table["energy"] < -60).all() and (table["energy"] > -200).all()
    trials = pd.read_csv(out / "trial" / "dof_P21.csv")
    assert table["energy"].min() < trials["energy"].min()
    assert (out / "summary_P21.json").is_file()


def test_a_landscape_of_known_dimension_is_written_as_p1_cifs(tmp_path):
    """``latentcsp synth-ensemble``: exactly the free DoF vary (within their local steps of
    the base), the energies are the force field's for the DoF in dof.csv, and the CIFs, read
    back with the project's own reader, hold those crystals (cell and atom count)."""
    import json

    from latentcsp.cli import main
    from latentcsp.io.cif import read_cif
    from latentcsp.synth.generate import DOF_COLUMNS
    from latentcsp.synth.lattice import params_from_cell
    from latentcsp.synth.recover import theta_of

    out = tmp_path / "ens"
    main(["synth-ensemble", "--molecule", str(MOLDIR / "anti-BDT.xyz"), "--spacegroup", "P-1", "--free",
          "b,gamma,rot_y", "--amplitude", "0.5", "--n", "12", "--seed", "2", "--out", str(out)])
    truth = json.loads((out / "truth.json").read_text())
    assert truth["d"] == 3 and truth["n"] == 12 and truth["dof"] == 12 and truth["energies"]
    dof = pd.read_csv(out / "dof.csv")
    assert [c for c in DOF_COLUMNS if dof[c].nunique() > 1] == ["b", "gamma", "rot_y"]
    assert (np.abs(dof.b - truth["base"]["b"]) <= 0.5 * 0.5 + 1e-9).all()
    assert (np.abs(dof.gamma - truth["base"]["gamma"]) <= 0.5 * 5.0 + 1e-9).all()
    model = CrystalModel(read_xyz(MOLDIR / "anti-BDT.xyz"), "P-1")
    energies = pd.read_csv(out / "energies.csv")
    assert list(energies.id) == list(dof.id)
    for row, e in zip(dof.to_dict("records"), energies.energy):
        assert model.energy(theta_of(model, row)) == pytest.approx(e, rel=1e-9)
    for row in dof.to_dict("records")[:4]:
        (raw,) = list(read_cif(str(out / "cif" / f"{row['id']}.cif")))
        p6 = params_from_cell(raw.cell) * [1, 1, 1, *[180 / np.pi] * 3]
        np.testing.assert_allclose(p6, [row[c] for c in DOF_COLUMNS[:6]], atol=1e-4)
        assert len(raw.numbers) == 2 * model.n0
    with pytest.raises(SystemExit, match="synth-ensemble: P-1 has no DoF \\['beta_'\\]"):
        main(["synth-ensemble", "--molecule", str(MOLDIR / "anti-BDT.xyz"), "--spacegroup", "P-1", "--free",
              "b,beta_", "--n", "5", "--out", str(tmp_path / "bad")])


def test_minimisation_lowers_energy_and_zeroes_the_gradient(syn):
    model = CrystalModel(syn, "P-1")
    theta = _trial(model, 5)[0]
    r = minimise(model, theta, MinimiseOptions())
    assert r.converged and r.energy < model.energy(theta)
    _, g = model.energy_and_gradient(r.theta)
    assert np.abs(g[model.n_lat:]).max() < 0.5  # kJ/mol per rad or per cell fraction/large


def test_deduplicate_keeps_distinct_minima(anti):
    model = CrystalModel(anti, "P21/c")
    theta = _trial(model, 6)[0]
    fp = centroid_fingerprint(model, theta)
    moved = theta.copy()
    moved[model.n_lat + 3:] += 0.5  # a whole-crystal shift is not a degree of freedom; same crystal
    fp2 = centroid_fingerprint(model, moved)
    np.testing.assert_allclose(fp, fp2, atol=1e-9)
    keep = deduplicate(np.array([-90.0, -90.05, -80.0]), np.array([1.5, 1.5, 1.4]), [fp, fp2, fp + 1])
    assert keep == [1, 2]
