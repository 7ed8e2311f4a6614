"""Structure -> DoF vector (latentcsp.synth.recover): Kabsch against scipy, the normaliser
against spglib, the canonical vector's invariance under every re-description of one
crystal, and the round trip (crystal -> vector -> builder -> the same crystal) on
generated and real landscapes."""

from pathlib import Path

import amd
import numpy as np
import pandas as pd
import pytest
import spglib
from scipy.spatial.transform import Rotation

from latentcsp import store
from latentcsp.ingest import LandscapeSpec, ingest, write_landscape
from latentcsp.synth import CrystalModel, SamplingOptions, generate, read_xyz
from latentcsp.synth.lattice import params_from_cell
from latentcsp.synth.molecule import Molecule
from latentcsp.synth.recover import (
    MAX_FIT_RMSD, NotRecoverable, fit_rotations, periodic_rmsd, proper_normaliser, recover,
    recover_landscape, reference_molecule, rigid_symmetries, round_trip_rmsd, theta_of,
)
from latentcsp.synth.sampling import sample_trials

MOLDIR = Path(__file__).resolve().parents[1] / "config" / "molecules"
FIVE = ["P21/c", "P-1", "C2/c", "P212121", "Pna21"]
TEN = FIVE + ["P21", "Cc", "Pbca", "Pca21", "C2"]
#: Groups of the other crystal systems (centred, screw axes, rhombohedral, cubic).
HIGHER = ["P41", "I41/a", "P3121", "R-3", "P61", "P213"]
#: Proper elements of the Euclidean normaliser modulo the lattice, from the Euclidean normalisers
#: of International Tables A (rotations of det +1 of their point group x their translations not
#: along polar axes): P2/m (a/2 b/2 c/2) for P21/c and C2/c, Pmmm (a/2 b/2 c/2) for P212121
#: and Pbca, Pmmm (a/2 b/2 eps c) for Pna21 and Pca21, P-1 (a/2 b/2 c/2) for P-1, P2/m
#: (a/2 eps b c/2) for P21 and C2, P2/m (eps a b/2 eps c) for Cc.
NORMALISER_SIZE = {"P21/c": 16, "C2/c": 16, "P212121": 32, "Pbca": 32, "Pna21": 16, "Pca21": 16, "P-1": 8,
                   "P21": 8, "C2": 8, "Cc": 4}


@pytest.fixture(scope="module")
def molecules():
    anti, syn = read_xyz(MOLDIR / "anti-BDT.xyz"), read_xyz(MOLDIR / "syn-BDT.xyz")
    # syn-BDT with one hydrogen pushed 0.6 Å out of the plane: a rigid chiral molecule
    ref = syn.ref.copy()
    ref[syn.symbols.index("H"), 2] += 0.6
    chiral = Molecule("chiral", list(syn.symbols), ref - ref.mean(axis=0))
    return {"anti": anti, "syn": syn, "chiral": chiral}


def crystal(model, theta, rep=0):
    """cell, positions, numbers, mol_id, canonical of a built crystal, molecule ``rep`` labelled."""
    s = model.build(theta)
    z, n = model.sg.z, model.n0
    canonical = np.full(z * n, -1)
    canonical[rep * n:(rep + 1) * n] = np.arange(n)
    return dict(cell=s["cell"], positions=s["x"], numbers=np.tile(model.molecule.numbers, z),
                mol_id=np.repeat(np.arange(z), n), canonical=canonical)


def trial(model, seed=0):
    (theta,), _ = sample_trials(model, 1, seed, SamplingOptions())
    return theta


def unimodular(rng) -> np.ndarray:
    while True:
        m = rng.integers(-2, 3, size=(3, 3))
        if round(np.linalg.det(m)) == 1:
            return m


# ---------------------------------------------------------------- building blocks
def test_fit_rotations_agree_with_scipy():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(12, 3))
    ref -= ref.mean(axis=0)
    truth = Rotation.random(5, random_state=1).as_matrix()
    y = ref @ truth.transpose(0, 2, 1) + 0.05 * rng.normal(size=(5, 12, 3))
    y -= y.mean(axis=1, keepdims=True)
    q, rmsd = fit_rotations(ref, y)
    for k in range(5):
        rot, rssd = Rotation.align_vectors(y[k], ref)
        assert np.allclose(q[k], rot.as_matrix(), atol=1e-10)
        assert rmsd[k] == pytest.approx(rssd / np.sqrt(12), abs=1e-10)
        assert np.linalg.det(q[k]) == pytest.approx(1.0)
    _, mirrored = fit_rotations(ref, -ref[None])  # a mirror image is no rotation of a chiral set
    assert mirrored[0] > 0.3


@pytest.mark.parametrize("name,expected", [("anti", 2), ("syn", 2), ("chiral", 1)])
def test_rigid_symmetries_are_isometries(molecules, name, expected):
    mol = molecules[name]
    perms = rigid_symmetries(mol)
    assert len(perms) == expected and np.array_equal(perms[0], np.arange(mol.n_atoms))
    distances = np.linalg.norm(mol.ref[:, None] - mol.ref[None], axis=2)
    symbols = np.array(mol.symbols)
    for p in perms:  # same elements, same distance matrix: an isometry of the molecule
        assert np.array_equal(symbols[p], symbols)
        assert np.allclose(distances[np.ix_(p, p)], distances, atol=1e-3)


@pytest.mark.parametrize("sg", TEN + HIGHER)
def test_normaliser_keeps_the_standard_setting(molecules, sg):
    """Every element re-describes a crystal in exactly the group's standard operations
    (as spglib finds them) with the same lattice parameters; as many as ITA lists."""
    model = CrystalModel(molecules["syn"], sg)
    c = crystal(model, trial(model))
    frac = c["positions"] @ np.linalg.inv(c["cell"])
    nw, nt = proper_normaliser(sg)
    assert len(nw) == NORMALISER_SIZE.get(sg, len(nw))
    expected = {(r.tobytes(), tuple(np.round(t % 1.0, 6) % 1.0)) for r, t in zip(model.sg.rotations,
                                                                                   model.sg.translations)}
    for w, t in zip(nw, nt):
        assert round(np.linalg.det(w)) == 1
        cell = np.linalg.inv(w).T @ c["cell"]
        f = frac @ w.T + t
        ops = spglib.get_symmetry((cell, f % 1.0, c["numbers"]), symprec=1e-4)
        found = {(r.astype(np.int64).tobytes(), tuple(np.round(u % 1.0, 6) % 1.0))
                 for r, u in zip(ops["rotations"], ops["translations"])}
        assert found == expected
        assert np.allclose(params_from_cell(cell), params_from_cell(c["cell"]))


# ---------------------------------------------------------------- recovery and canonical form
@pytest.mark.parametrize("name", ["anti", "syn", "chiral"])
@pytest.mark.parametrize("sg", TEN)
def test_recovered_vector_rebuilds_the_crystal(molecules, name, sg):
    mol = molecules[name]
    model = CrystalModel(mol, sg)
    theta = trial(model)
    c = crystal(model, theta)
    found = recover(**c, reference=mol, symprec=1e-3)
    assert found.spacegroup.number == model.sg.number
    assert found.rmsd < 1e-6
    rebuilt = CrystalModel(mol, found.spacegroup)
    assert round_trip_rmsd(c["cell"], c["positions"], c["numbers"], found, rebuilt) < 1e-6
    # the generator's vector and ours: one crystal, one lattice energy (to the xyz file's 1e-7 Å asymmetry)
    assert rebuilt.energy(found.theta) == pytest.approx(model.energy(theta), abs=1e-4)
    assert rebuilt.density(found.theta) == pytest.approx(model.density(theta), abs=1e-9)
    # independent of the recovery's own transform: the pointwise distance distributions agree
    a, b = model.atoms(theta), rebuilt.atoms(found.theta)
    pdd = [amd.PDD(amd.PeriodicSet(x.get_scaled_positions() @ x.cell[:], x.cell[:]), 50) for x in (a, b)]
    assert amd.EMD(*pdd) < 1e-6


def descriptions(model, theta, mol, rng):
    """The same crystal described in other ways: origin, independent molecule, labels, cell, frame."""
    base = crystal(model, theta)
    n, z = mol.n_atoms, model.sg.z
    out = {"origin shift": dict(base, positions=base["positions"] + rng.random(3) @ base["cell"])}
    for k in range(1, z):
        out[f"molecule {k}"] = crystal(model, theta, rep=k)
    for i, p in enumerate(rigid_symmetries(mol)[1:]):
        relabelled = np.full(z * n, -1)
        relabelled[p] = np.arange(n)  # the atom at reference position p[j] gets label j
        out[f"relabelled {i}"] = dict(base, canonical=relabelled)
    out["other cell"] = dict(base, cell=unimodular(rng) @ base["cell"])
    if model.sg.crystal_system == "monoclinic":  # cell choice 2 (a + c, b, -a): P21/n, C2/n ...
        out["cell choice"] = dict(base, cell=np.array([[1, 0, 1], [0, 1, 0], [-1, 0, 0]]) @ base["cell"])
    rot = Rotation.random(random_state=rng.integers(1 << 31)).as_matrix()
    out["rotated"] = dict(base, cell=base["cell"] @ rot.T, positions=base["positions"] @ rot.T)
    every = crystal(model, theta, rep=z - 1)
    every.update(cell=unimodular(rng) @ every["cell"] @ rot.T, positions=(every["positions"] + 0.37) @ rot.T)
    out["all at once"] = every
    return base, out


@pytest.mark.parametrize("name,sg", [(n, g) for g in TEN for n in ("anti", "syn", "chiral")]
                         + [("syn", g) for g in HIGHER])
def test_canonical_vector_is_one_point_per_crystal(molecules, name, sg):
    mol = molecules[name]
    model = CrystalModel(mol, sg)
    rng = np.random.default_rng(7)
    for seed in range(2):
        theta = trial(model, seed)
        base, variants = descriptions(model, theta, mol, rng)
        first = recover(**base, reference=mol, symprec=1e-3)
        free = first.theta[-len(first.spacegroup.free_axes):]
        assert np.all((free >= 0) & (free < 1)) and np.linalg.norm(first.theta[-len(free) - 3:-len(free)]) <= np.pi
        for what, c in variants.items():
            other = recover(**c, reference=mol, symprec=1e-3)
            assert other.spacegroup.number == first.spacegroup.number, what
            assert np.allclose(other.theta, first.theta, atol=1e-7), (what, other.theta - first.theta)
        again = recover(**crystal(CrystalModel(mol, first.spacegroup), first.theta), reference=mol, symprec=1e-3)
        assert np.allclose(again.theta, first.theta, atol=1e-9)  # canonical vectors are fixed points


def test_where_recovery_does_not_apply(molecules):
    anti, chiral = molecules["anti"], molecules["chiral"]
    model = CrystalModel(anti, "P21/c")
    c = crystal(model, trial(model))
    moved = c["positions"].copy()
    moved[c["mol_id"] == 2] += [0.3, 0.0, 0.0]  # one molecule off its symmetry position
    with pytest.raises(NotRecoverable, match="more than one independent molecule"):
        recover(**dict(c, positions=moved), reference=anti, symprec=1e-3)
    p1 = CrystalModel(anti, "P1")  # anti-BDT is centrosymmetric: spglib finds P-1, Z' = 1/2
    with pytest.raises(NotRecoverable, match="special position"):
        recover(**crystal(p1, trial(p1)), reference=anti, symprec=1e-3)
    with pytest.raises(NotRecoverable, match="not the reference"):
        recover(**c, reference=Molecule("three carbons", ["C"] * 3, np.eye(3)))
    sohncke = CrystalModel(chiral, "P212121")
    c = crystal(sohncke, trial(sohncke))
    mirror = np.diag([1.0, 1.0, -1.0])
    with pytest.raises(NotRecoverable, match="mirror image"):
        recover(**dict(c, cell=c["cell"] @ mirror, positions=c["positions"] @ mirror), reference=chiral,
                symprec=1e-3)


def test_model_builds_molecules_the_force_field_lacks(molecules):
    """Recovery needs crystals of any molecule; only the energy needs exp-6 parameters."""
    syn = molecules["syn"]
    bromo = Molecule("bromo", ["Br" if e == "S" else e for e in syn.symbols], syn.ref)
    model = CrystalModel(bromo, "P21/c")
    theta = trial(CrystalModel(syn, "P21/c"))
    assert np.allclose(model.build(theta)["x"], CrystalModel(syn, "P21/c").build(theta)["x"])
    with pytest.raises(ValueError, match=r"no exp-6 parameters for element\(s\) \['Br'\]"):
        model.energy(theta)


def test_periodic_rmsd_against_brute_force():
    rng = np.random.default_rng(3)
    cell = np.array([[5.0, 0.0, 0.0], [1.5, 6.0, 0.0], [-1.0, 0.5, 7.0]])
    pos = rng.random((6, 3)) @ cell
    numbers = np.array([6, 6, 1, 1, 8, 6])
    moved = pos + 0.05 * rng.normal(size=pos.shape) + np.array([2, -1, 1]) @ cell
    images = np.array([[i, j, k] for i in range(-3, 4) for j in range(-3, 4) for k in range(-3, 4)]) @ cell
    d = [min(np.linalg.norm(p + images - q, axis=1).min() for q, zq in zip(pos, numbers) if zq == z)
         for p, z in zip(moved, numbers)]
    d += [min(np.linalg.norm(q + images - p, axis=1).min() for p, zp in zip(moved, numbers) if zp == z)
          for q, z in zip(pos, numbers)]
    assert periodic_rmsd(cell, moved, numbers, cell, pos, numbers) == pytest.approx(np.sqrt(np.mean(np.square(d))))


# ---------------------------------------------------------------- landscapes
def _ingested(source, folder, **spec) -> tuple[store.StructureSet, pd.DataFrame, Molecule]:
    write_landscape(ingest(LandscapeSpec(name=Path(folder).name, source=str(source), **spec), progress=False),
                    folder)
    structures = store.read_structures(Path(folder) / "structures.h5")
    manifest = store.read_manifest(Path(folder) / "manifest.csv")
    s = structures.atoms_of(0)  # the lowest-energy structure
    reference = reference_molecule(structures.positions[s], structures.numbers[s], structures.mol_id[s],
                                   structures.canonical[s], name=Path(folder).name)
    return structures, manifest, reference


def _check_generated(table, manifest, reference):
    assert list(table.id) == list(manifest.id)  # every structure listed
    ok = table[table.status == "ok"]
    skipped = table[table.status != "ok"]
    assert skipped.reason.str.contains("recovery needs one independent molecule").all()  # only Z' != 1
    assert (manifest.set_index("id").loc[skipped.id, "zprime"] != 1).all()
    assert (ok.rmsd < 1e-5).all() and (ok.round_trip < 0.01).all()
    energy = manifest.set_index("id").energy
    for row in ok.itertuples():
        model = CrystalModel(reference, row.spacegroup)
        theta = theta_of(model, row._asdict())
        assert model.energy(theta) == pytest.approx(energy[row.id], abs=2e-3)  # .res: 4 decimals
    return len(ok)


@pytest.mark.parametrize("name", ["anti-BDT", "syn-BDT"])
def test_round_trip_on_generated_trials(tmp_path, name):
    for sg in FIVE:
        generate(MOLDIR / f"{name}.xyz", sg, n_trials=2, seed=1, minimise=False, out_dir=tmp_path / "gen")
    structures, manifest, reference = _ingested(tmp_path / "gen" / "trial", tmp_path / "landscape", format="res")
    table = recover_landscape(structures, manifest, reference)
    assert _check_generated(table, manifest, reference) == len(table) == 10
    assert set(table.spacegroup) == set(FIVE)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["anti-BDT", "syn-BDT"])
def test_round_trip_on_generated_minima(tmp_path, name):
    for sg in FIVE:
        generate(MOLDIR / f"{name}.xyz", sg, n_trials=3, seed=1, minimise=True, out_dir=tmp_path / "gen")
    structures, manifest, reference = _ingested(tmp_path / "gen", tmp_path / "landscape", format="res")
    table = recover_landscape(structures, manifest, reference)
    assert _check_generated(table, manifest, reference) >= 0.75 * len(table)


# ---------------------------------------------------------------- real landscapes (../shared/data)
GENARRIS = ["Target_I", "Target_XXII", "DNI", "CL-20", "HMX", "aspirin"]


def _genarris(shared_data, tmp_path, case):
    folder = shared_data / "genarris3-cases" / case
    return _ingested(folder / "PBE_MBD", tmp_path / case, energies=str(folder / f"{case}.csv"),
                     energy_column="PBE+MBD(eV)", energy_unit="eV", energy_per="cell")


def _own_molecule_round_trips(structures, manifest) -> int:
    """Every Z' = 1 general-position structure recovered with its own molecule as the rigid body
    reproduces itself: the coordinate machinery is exact on the real groups and settings."""
    general = manifest.index[(manifest.zprime == 1) & (manifest.site_symmetry == "1")]
    for k in general:
        s = structures.atoms_of(k)
        args = (structures.cell[k], structures.positions[s], structures.numbers[s])
        own = reference_molecule(*args[1:], structures.mol_id[s], structures.canonical[s])
        found = recover(*args, structures.mol_id[s], structures.canonical[s], own)
        assert found.rmsd < 1e-6
        assert round_trip_rmsd(*args, found, CrystalModel(own, found.spacegroup)) < 0.01, structures.ids[k]
    return len(general)


def _image_labels(cell, pos, numbers, mol_id, canonical) -> np.ndarray:
    """Canonical labels moved to another molecule: the image of the labelled one under the first
    of spglib's operations that maps it elsewhere, atom by atom (nearest same-element atom)."""
    frac = pos @ np.linalg.inv(cell)
    data = spglib.get_symmetry_dataset((cell, frac % 1.0, numbers), symprec=0.1)
    rep = np.flatnonzero(canonical >= 0)
    rep = rep[np.argsort(canonical[rep])]
    for r, t in zip(data.rotations, data.translations):
        image = frac[rep] @ r.T + t
        d = image[:, None, :] - frac[None]
        d = np.linalg.norm((d - np.round(d)) @ cell, axis=2)
        d[numbers[rep][:, None] != numbers[None]] = np.inf
        target = d.argmin(axis=1)
        if mol_id[target[0]] != mol_id[rep[0]]:
            labels = np.full(len(canonical), -1)
            labels[target] = np.arange(len(rep))
            return labels
    raise AssertionError("no operation moves the molecule")


def _redescribed_alike(structures, table, reference, rng) -> None:
    """Every recovered real structure, in another cell, origin and Cartesian frame with another
    molecule labelled, gives the same vector."""
    for k in np.flatnonzero(table.status == "ok"):
        s = structures.atoms_of(k)
        cell, pos, numbers = structures.cell[k], structures.positions[s], structures.numbers[s]
        mol_id, canonical = structures.mol_id[s], structures.canonical[s]
        first = recover(cell, pos, numbers, mol_id, canonical, reference)
        rot = Rotation.random(random_state=rng.integers(1 << 31)).as_matrix()
        again = recover(unimodular(rng) @ cell @ rot.T, (pos + rng.random(3) @ cell) @ rot.T, numbers, mol_id,
                        _image_labels(cell, pos, numbers, mol_id, canonical), reference)
        assert again.spacegroup.number == first.spacegroup.number
        assert np.allclose(again.theta, first.theta, atol=1e-6), (structures.ids[k], again.theta - first.theta)


def _check_real(table, manifest) -> pd.Series:
    assert list(table.id) == list(manifest.id)
    assert (table.reason[table.status != "ok"] != "").all()  # every skip says why
    ok = table[table.status == "ok"]
    assert (ok.rmsd <= MAX_FIT_RMSD).all()
    assert (ok.round_trip <= ok.rmsd + 2e-3).all()  # the vector is exact up to the molecule's own shape
    kinds = table.reason.str.extract(r"^(Z'|molecule not rigid|the crystal holds the mirror image)")[0]
    return kinds.fillna("ok").value_counts()


@pytest.mark.shared
def test_round_trip_on_the_rigid_genarris_case(shared_data, tmp_path):
    """Target_I (C6H6O, rigid): every Z' = 1 general-position structure is recovered with the
    landscape's reference; relaxation leaves each molecule within MAX_FIT_RMSD of it."""
    structures, manifest, reference = _genarris(shared_data, tmp_path, "Target_I")
    table = recover_landscape(structures, manifest, reference)
    counts = _check_real(table, manifest)
    general = (manifest.zprime == 1) & (manifest.site_symmetry == "1")
    assert (table.status[general] == "ok").all() and counts["ok"] == general.sum()
    assert _own_molecule_round_trips(structures, manifest) == general.sum()
    _redescribed_alike(structures, table, reference, np.random.default_rng(5))


@pytest.mark.shared
@pytest.mark.slow
@pytest.mark.parametrize("case", GENARRIS)
def test_round_trip_on_genarris_cases(shared_data, tmp_path, case):
    structures, manifest, reference = _genarris(shared_data, tmp_path, case)
    table = recover_landscape(structures, manifest, reference)
    counts = _check_real(table, manifest)
    n_general = _own_molecule_round_trips(structures, manifest)
    _redescribed_alike(structures, table, reference, np.random.default_rng(5))
    print(f"\n{case}: {len(table)} structures, {n_general} Z'=1 general position (all round-trip with their "
          f"own molecule); with the landscape's reference: {counts.to_dict()}, "
          f"round trip < 0.01 Å: {(table.round_trip < 0.01).sum()}")


@pytest.mark.shared
@pytest.mark.slow
def test_flexible_roy_is_listed_with_reasons(shared_data, tmp_path):
    structures, manifest, reference = _ingested(
        shared_data / "roy-beran2022" / "beran_roy_structures.xyz.bz2", tmp_path / "roy")
    table = recover_landscape(structures, manifest, reference)
    counts = _check_real(table, manifest)
    assert counts["molecule not rigid"] > 0.8 * len(table)  # ROY's torsions: conformers differ by > 0.1 Å
    flexible = table[table.reason.str.startswith("molecule not rigid")]
    assert (flexible.rmsd > MAX_FIT_RMSD).all()
    assert table.loc[0, "status"] == "ok" and table.loc[0, "round_trip"] < 0.01  # the reference's own crystal
    print(f"\nROY: {len(table)} structures: {counts.to_dict()}")
