"""From the latent space back to crystals (latentcsp.search): the DoF encoding, the joint
descriptor + DoF model, matching against a landscape, the search-efficiency count, and the
stage on a small generated landscape."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.transform import Rotation

from latentcsp import store
from latentcsp.calibration.references import as_structures
from latentcsp.descriptors.stage import DescriptorSet, compute_group, describe
from latentcsp.ingest import LandscapeSpec, ingest, write_landscape
from latentcsp.search.efficiency import SeedRun, compare
from latentcsp.search.encoding import DofEncoding
from latentcsp.search.match import MatchTolerances, match_landscape
from latentcsp.search.minima import Minima, discoveries, reaches
from latentcsp.search.model import CrystalGenerator, GeneratorSettings
from latentcsp.search.stage import SearchSettings, latent_width, rigid_molecule, run
from latentcsp.search.summary import gather, markdown, pooled_curves
from latentcsp.synth import CrystalModel, generate, read_xyz
from latentcsp.synth.minimise import centroid_fingerprint, deduplicate, same_minima
from latentcsp.synth.molecule import Molecule, principal_frame
from latentcsp.synth.recover import canonicalise, periodic_rmsd, recover_landscape, relabelled, theta_of
from latentcsp.synth.res import write_res
from latentcsp.synth.sampling import sample_trials

MOLDIR = Path(__file__).resolve().parents[1] / "config" / "molecules"
GROUPS = ["P21/c", "P-1", "P212121", "Pna21", "C2/c", "P21"]  # monoclinic, triclinic, orthorhombic, polar axes
SET = DescriptorSet("smooth", preset="smooth", neighbours="intermolecular", pooling="atoms")


@pytest.fixture(scope="module")
def anti():
    return read_xyz(MOLDIR / "anti-BDT.xyz")


def random_thetas(model: CrystalModel, n: int, rng) -> np.ndarray:
    """DoF vectors with every component drawn over its range (|w| < pi, fractions in [0, 1))."""
    lat = [rng.uniform(4, 20, n) if name in "abc" else np.radians(rng.uniform(60, 120, n))
           for name in model.lattice_names]
    w = Rotation.random(n, random_state=rng.integers(2**31)).as_rotvec()
    return np.column_stack(lat + [w, rng.random((n, len(model.sg.free_axes)))])


# ---------------------------------------------------------------- encoding
@pytest.mark.parametrize("group", GROUPS)
def test_encoding_round_trip(anti, group):
    model = CrystalModel(anti, group)
    enc = DofEncoding(model)
    thetas = random_thetas(model, 200, np.random.default_rng(0))
    features = enc.encode(thetas)
    assert features.shape == (200, enc.n_features) == (200, len(enc.names))
    assert enc.n_features == model.n_dof + 3 + len(model.sg.free_axes)  # 6-d rotation, (cos, sin) per fraction
    np.testing.assert_allclose(enc.decode(features), thetas, atol=1e-9)


def test_encoding_has_no_wrap_around_jumps(anti):
    model = CrystalModel(anti, "P21/c")
    enc = DofEncoding(model)
    theta = random_thetas(model, 1, np.random.default_rng(1))[0]
    # a centroid fraction across the cell boundary: 0.9995 and 0.0005 are 0.001 apart
    a, b = theta.copy(), theta.copy()
    a[-1], b[-1] = 0.9995, 0.0005
    assert np.abs(enc.encode(a) - enc.encode(b)).max() < 2 * np.pi * 0.001 * 1.01
    # a rotation by pi - eps about n and by pi + eps about n (= pi - eps about -n): the rotation
    # vectors jump by ~2 pi, the rotations differ by 2 eps
    n = np.array([1.0, 2.0, 2.0]) / 3.0
    eps = 1e-3
    a, b = theta.copy(), theta.copy()
    a[model.n_lat:model.n_lat + 3] = (np.pi - eps) * n
    b[model.n_lat:model.n_lat + 3] = -(np.pi - eps) * n
    assert np.linalg.norm(a - b) > 6.0
    assert np.abs(enc.encode(a) - enc.encode(b)).max() < 2 * eps * 1.01
    # the same rotation written with |w| > pi encodes identically
    c = a.copy()
    c[model.n_lat:model.n_lat + 3] = (np.pi - eps - 2 * np.pi) * n
    np.testing.assert_allclose(enc.encode(c), enc.encode(a), atol=1e-12)
    # decoding continues across the jump: features half-way between a and b are a rotation by pi
    mid = enc.decode(0.5 * (enc.encode(a) + enc.encode(b)))[0]
    assert np.linalg.norm(mid[model.n_lat:model.n_lat + 3]) == pytest.approx(np.pi, abs=1e-6)


def test_decode_turns_any_features_into_a_rotation(anti):
    model = CrystalModel(anti, "P-1")
    enc = DofEncoding(model)
    features = enc.encode(random_thetas(model, 50, np.random.default_rng(2)))
    features += np.random.default_rng(3).normal(scale=0.5, size=features.shape)  # off the encoding's manifold
    thetas = enc.decode(features)
    cell = np.isfinite(thetas[:, :model.n_lat]).all(axis=1)  # NaN lengths where the angles form no cell
    assert cell.mean() > 0.5 and np.isfinite(thetas[:, model.n_lat:]).all()
    assert model.build_batch(thetas[cell])["valid"].all() and not model.build_batch(
        np.nan_to_num(thetas[~cell], nan=5.0))["valid"].any()
    assert (np.linalg.norm(thetas[:, model.n_lat:model.n_lat + 3], axis=1) <= np.pi + 1e-12).all()
    assert ((thetas[:, model.n_lat + 3:] >= 0) & (thetas[:, model.n_lat + 3:] < 1)).all()
    # Gram-Schmidt: the first column of the rotation is the first 3-vector, normalised
    first = Rotation.from_rotvec(thetas[:, model.n_lat:model.n_lat + 3]).as_matrix()[:, :, 0]
    a1 = features[:, model.n_lat:model.n_lat + 3]
    np.testing.assert_allclose(first, a1 / np.linalg.norm(a1, axis=1, keepdims=True), atol=1e-9)


# ---------------------------------------------------------------- the model
def _fitted(anti, width=4, **settings):
    model = CrystalModel(anti, "P21/c")
    thetas, _ = sample_trials(model, 24, seed=3)
    X = describe(as_structures(model, thetas, np.arange(model.n0)), SET)
    energies = np.array([model.energy(t) for t in thetas])
    gen = CrystalGenerator(DofEncoding(model), width, GeneratorSettings(**settings), seed=0).fit(X, thetas, energies)
    return model, gen, X, thetas, energies


def test_model_samples_valid_dof_vectors(anti):
    model, gen, X, thetas, energies = _fitted(anti)
    samples, z = gen.sample(400, np.random.default_rng(0))
    assert samples.shape == (400, model.n_dof) and z.shape == (400, 4)
    lengths = samples[:, [model.lattice_names.index(n) for n in "abc"]]
    assert np.isfinite(samples).all() and (lengths > 0).all()
    assert (np.linalg.norm(samples[:, model.n_lat:model.n_lat + 3], axis=1) <= np.pi + 1e-12).all()
    assert ((samples[:, model.n_lat + 3:] >= 0) & (samples[:, model.n_lat + 3:] < 1)).all()
    built = model.build_batch(samples)
    assert built["valid"].mean() > 0.9  # the cells exist
    contact = model.min_contacts(samples)
    assert (contact >= 0.8).sum() >= 4  # some are clash-free crystals, as the trials it learned from
    # samples resemble the training crystals: cell volumes within the training range, mostly
    volume = np.abs(np.linalg.det(built["cell"]))
    train = np.abs(np.linalg.det(model.build_batch(thetas)["cell"]))
    assert np.mean((volume > 0.5 * train.min()) & (volume < 2 * train.max())) > 0.9


def test_model_latent_coordinates_are_the_gaussian_posterior_mean(anti):
    _, gen, X, thetas, _ = _fitted(anti)
    rows = gen._rows(X, thetas)
    w, s2, mu = gen.loadings_, gen.pca_.noise_variance_, gen.pca_.mean_
    # z ~ N(0, I), row = W z + mu + N(0, s2 I): E[z | row] = W^T (W W^T + s2 I)^-1 (row - mu)
    expected = (w.T @ np.linalg.solve(w @ w.T + s2 * np.eye(len(w)), (rows - mu).T)).T
    np.testing.assert_allclose(gen.encode(X, thetas), expected, atol=1e-8)
    # and the model's covariance W W^T + s2 I is the maximum-likelihood one: PCA's
    np.testing.assert_allclose(w @ w.T + s2 * np.eye(len(w)), gen.pca_.get_covariance(), atol=1e-10)


def test_model_decoder_noise_has_the_fitted_spread(anti):
    model, gen, *_ = _fitted(anti, width=3)
    enc = DofEncoding(model)
    k = gen.desc_axes_.shape[0]
    z = np.zeros((20000, gen.width_fitted_))
    mean = enc.encode(gen.decode(z[:1]))[0]
    noisy = enc.encode(gen.decode(z, np.random.default_rng(5)))
    lattice = slice(0, model.n_lat)  # log lengths and angles pass the encoding unchanged
    # the model's mean at z = 0 is the training mean (standardised rows, PCA centred)
    np.testing.assert_allclose(mean[lattice], gen.row_mean_[k:k + model.n_lat] + gen.pca_.mean_[k:k + model.n_lat]
                               * gen.row_scale_[k:k + model.n_lat], atol=1e-9)
    np.testing.assert_allclose(noisy[:, lattice].mean(axis=0), mean[lattice], atol=0.02)
    np.testing.assert_allclose(noisy[:, lattice].std(axis=0), gen.noise_ * gen.row_scale_[k:k + model.n_lat],
                               rtol=0.03)


def test_model_density_is_fitted_to_the_low_energy_crystals(anti):
    _, gen, X, thetas, energies = _fitted(anti, low_energy=3.0)
    low = int((energies <= energies.min() + 3.0).sum())
    assert gen.n_density_ == (low if low >= 2 else len(energies))
    assert _fitted(anti, low_energy=None)[1].n_density_ == len(energies)


# ---------------------------------------------------------------- minima and the count
def _minima(rows) -> Minima:
    """rows: (energy, density, fingerprint value, ok)."""
    e, rho, fp, ok = (np.array(c) for c in zip(*rows))
    return Minima(np.zeros((len(e), 3)), e.astype(float), rho.astype(float),
                  np.repeat(fp[:, None].astype(float), 16, axis=1), ok.astype(bool), np.ones(len(e), np.int64))


def test_same_minima_agrees_with_a_plain_loop():
    rng = np.random.default_rng(0)
    e, rho, fp = rng.normal(0, 0.3, 30), 1.4 + rng.normal(0, 0.01, 30), rng.normal(5, 0.08, (30, 16))
    same = same_minima(e, rho, fp, e[:12], rho[:12], fp[:12])
    loop = [[abs(e[i] - e[j]) < 0.2 and abs(rho[i] - rho[j]) < 0.01 and np.max(np.abs(fp[i] - fp[j])) < 0.1
             for j in range(12)] for i in range(30)]
    np.testing.assert_array_equal(same, loop)
    assert same.any() and not same.all()
    # deduplicate keeps the lowest of each set of equals, lowest energy first
    kept = deduplicate(e, rho, fp)
    assert kept == sorted(kept, key=lambda i: e[i])
    assert not any(same_minima(e[[i]], rho[[i]], fp[[i]], e[[j]], rho[[j]], fp[[j]])[0, 0]
                   for a, i in enumerate(kept) for j in kept[:a])


def test_discoveries_count_new_low_energy_minima_once():
    known = _minima([(-90.0, 1.40, 5.0, True), (-85.0, 1.35, 6.0, True), (-91.0, 1.45, 7.0, False)])
    found = _minima([
        (-90.05, 1.401, 5.01, True),  # 0: the known -90 minimum again: a rediscovery
        (-88.0, 1.30, 4.0, True),     # 1: new, low (bar: -91.5 + 5 = -86.5)
        (-88.1, 1.30, 4.0, True),     # 2: the same as 1
        (-80.0, 1.20, 3.0, True),     # 3: new, too high
        (-89.0, 1.38, 2.0, False),    # 4: low but not converged
        (-86.5, 1.33, 8.0, True),     # 5: new, exactly at the bar
        (-91.0, 1.45, 7.0, True),     # 6: the known one that had not converged: it counts as new
    ])
    new = discoveries(found, known, -91.5 + 5.0)
    np.testing.assert_array_equal(new, [False, True, False, False, False, True, True])
    np.testing.assert_array_equal(found.unique(), [0, 1, 3, 5, 6])
    assert reaches(found, found.take([6])) and not reaches(known, found.take([3]))


def test_compare_sums_the_seeds_and_finds_the_global_minimum():
    gm = (-95.0, 1.50, 9.0, True)
    run0 = SeedRun(0, known=_minima([(-90.0, 1.4, 5.0, True)]),
                   sobol=_minima([(-89.0, 1.3, 4.0, True), (-70.0, 1.2, 3.0, True)]),
                   latent=_minima([(-90.0, 1.4, 5.0, True), gm, (-91.0, 1.41, 6.0, True)]), validity=0.1,
                   n_training=1)
    run1 = SeedRun(1, known=_minima([gm]), sobol=_minima([(-92.0, 1.3, 2.0, True), gm]),
                   latent=_minima([(-60.0, 1.0, 1.0, True)]), validity=0.3, n_training=1)
    summary, curves = compare([run0, run1], window=5.0)  # lowest -95: the bar is -90
    assert summary["lowest_energy"] == -95.0
    # seed 0: Sobol finds nothing at or below -90 (-89 is above), latent finds gm and -91 (-90 is known)
    # seed 1: Sobol finds -92 (gm is known there), latent nothing
    assert summary["low_energy_minima_latent"] == 2 and summary["low_energy_minima_sobol"] == 1
    assert summary["ratio"] == 2.0
    assert summary["global_minimum_latent"] == 1 and summary["global_minimum_sobol"] == 1
    assert summary["global_minimum_known"] == 1
    assert summary["budget"] == 4 and summary["budget_latent"] == 4
    assert summary["validity_latent"] == pytest.approx(0.2)
    # rediscoveries (seed 0 latent: -90, seed 1 Sobol: gm, both known) are counted apart, never as new
    assert summary["rediscoveries_latent"] == 1 and summary["rediscoveries_sobol"] == 1
    assert summary["distinct_latent"] == 4 and summary["distinct_sobol"] == 4
    latent0 = curves[(curves.seed == 0) & (curves.method == "latent")]
    assert latent0.found.tolist() == [0, 1, 2] and latent0.minimisations.tolist() == [1, 2, 3]


def test_pooled_curves_add_up_the_groups_and_keep_a_short_runs_last_count(tmp_path):
    curves = {"P21_c": [(0, "sobol", [0, 1, 1, 2]), (0, "latent", [1, 1, 2])],  # latent ran 3 minimisations
              "P-1": [(0, "sobol", [0, 0, 1, 1]), (0, "latent", [0, 1, 1, 3])],
              "Cc": []}  # no efficiency test: left out
    paths = []
    for group, runs in curves.items():
        (tmp_path / group).mkdir()
        rows = [{"seed": seed, "method": method, "minimisations": k + 1, "found": f}
                for seed, method, found in runs for k, f in enumerate(found)]
        pd.DataFrame(rows, columns=["seed", "method", "minimisations", "found"]).to_csv(
            tmp_path / group / "efficiency.csv", index=False)
        (tmp_path / group / "search.json").write_text(json.dumps(
            {"landscape": "anti-BDT", "group": group, "efficiency": "ok" if runs else "not run: no minima"}))
        paths.append(tmp_path / group / "search.json")
    pooled = pooled_curves(paths)
    latent = pooled[pooled.method == "latent"]
    assert latent.found.tolist() == [1, 2, 3, 5] and latent.minimisations.tolist() == [1, 2, 3, 4]
    assert pooled[pooled.method == "sobol"].found.tolist() == [0, 1, 2, 3]
    assert set(pooled.groups) == {2} and set(pooled.landscape) == {"anti-BDT"}


# ---------------------------------------------------------------- molecules and canonical vectors
def test_relabelled_puts_the_atoms_in_the_reference_order(anti):
    rng = np.random.default_rng(4)
    order = rng.permutation(anti.n_atoms)
    turned = Rotation.random(random_state=5).as_matrix()
    reference = Molecule("ref", [anti.symbols[i] for i in order], principal_frame(anti.ref[order] @ turned.T))
    mine = relabelled(anti, reference)
    assert mine.symbols == reference.symbols
    np.testing.assert_allclose(np.sort(mine.ref, axis=0), np.sort(anti.ref, axis=0))  # its own frame
    # the same crystals as the original molecule's
    theta = sample_trials(CrystalModel(anti, "P21/c"), 1, 0)[0][0]
    a, b = CrystalModel(anti, "P21/c").atoms(theta), CrystalModel(mine, "P21/c").atoms(theta)
    assert periodic_rmsd(a.cell[:], a.positions, a.numbers, b.cell[:], b.positions, b.numbers) < 1e-9
    with pytest.raises(ValueError, match="not the same molecule"):
        relabelled(anti, Molecule("x", ["C"] * anti.n_atoms, anti.ref))


def test_canonicalise_gives_one_vector_per_crystal(anti):
    model = CrystalModel(anti, "P21/c")
    theta = sample_trials(model, 1, 7)[0][0]
    canonical = canonicalise(model, theta)
    assert model.energy(canonical) == pytest.approx(model.energy(theta), abs=1e-6)
    np.testing.assert_allclose(centroid_fingerprint(model, canonical), centroid_fingerprint(model, theta), atol=1e-6)
    np.testing.assert_allclose(canonicalise(model, canonical), canonical, atol=1e-6)
    # other descriptions of the same crystal: shifted by a/2 (a normaliser translation of P21/c),
    # and the molecule turned by its own two-fold axis (anti-BDT is C2h, the axis normal to its plane)
    shifted = theta.copy()
    shifted[model.n_lat + 3] = (shifted[model.n_lat + 3] + 0.5) % 1.0
    turned = theta.copy()
    w = slice(model.n_lat, model.n_lat + 3)
    turned[w] = (Rotation.from_rotvec(theta[w]) * Rotation.from_rotvec([0.0, 0.0, np.pi])).as_rotvec()
    assert np.abs(shifted - theta).max() > 0.4 and np.abs(turned - theta).max() > 0.1
    for other in (shifted, turned):
        np.testing.assert_allclose(canonicalise(model, other), canonical, atol=1e-6)


@pytest.mark.parametrize("group", ["P21/c", "C2/c", "Pna21"])
def test_decoded_res_files_ingest_back_to_the_built_crystal(anti, group, tmp_path):
    """The stage writes decoded crystals with write_res; the ingest reads each back as the crystal
    the model builds from its canonical DoF vector (same atoms up to a periodic shift, same energy)."""
    model = CrystalModel(anti, group)
    thetas = [canonicalise(model, t) for t in sample_trials(model, 3, 11)[0]]
    (tmp_path / "decoded").mkdir()
    for k, theta in enumerate(thetas):
        write_res(tmp_path / "decoded" / f"d{k}.res", model, theta, f"d{k}", -80.0 - k)
    write_landscape(ingest(LandscapeSpec(name="decoded", source=str(tmp_path / "decoded"), format="res"),
                           progress=False), tmp_path / "land")
    back = store.read_structures(tmp_path / "land" / "structures.h5")
    manifest = store.read_manifest(tmp_path / "land" / "manifest.csv").set_index("id")
    assert len(back) == len(thetas)
    for k, theta in enumerate(thetas):
        s = list(back.ids).index(f"d{k}")
        built = model.atoms(theta)
        part = back.atoms_of(s)
        assert periodic_rmsd(built.cell[:], built.positions, built.numbers, back.cell[s], back.positions[part],
                             back.numbers[part]) < 1e-4
        assert manifest.energy[f"d{k}"] == pytest.approx(-80.0 - k)
        assert manifest.spacegroup_number[f"d{k}"] == model.sg.number


# ---------------------------------------------------------------- a small generated landscape
@pytest.fixture(scope="module")
def landscape(tmp_path_factory, anti):
    """anti-BDT P21/c, 12 trials minimised, ingested, with the group's descriptors."""
    root = tmp_path_factory.mktemp("search")
    generate(MOLDIR / "anti-BDT.xyz", "P21/c", n_trials=12, seed=0, out_dir=root / "synth", name="anti-BDT")
    write_landscape(ingest(LandscapeSpec(name="anti-BDT", source=str(root / "synth" / "minima"), format="res"),
                           progress=False), root / "land")
    structures = store.read_structures(root / "land" / "structures.h5")
    manifest = store.read_manifest(root / "land" / "manifest.csv")
    ids = list(manifest.id[manifest.spacegroup_number == 14])
    compute_group(structures.subset(ids), SET, root / "land" / "P21_c.h5")
    return root, structures, manifest


def test_matching_finds_the_known_structure(landscape, anti):
    root, structures, manifest = landscape
    molecule = rigid_molecule(structures, MOLDIR / "anti-BDT.xyz")
    table = recover_landscape(structures, manifest, molecule)
    row = table[table.status == "ok"].iloc[0]
    model = CrystalModel(molecule, row.spacegroup)
    theta = theta_of(model, row)  # the same crystal rebuilt in the canonical description
    built = model.build(theta)
    crystal = (built["cell"], built["x"], np.tile(molecule.numbers, model.sg.z))
    e = manifest.set_index("id").energy[row.id]
    rho = manifest.set_index("id").density[row.id]
    # a decoy with the same energy and density: the molecule turned by 0.3 rad
    turned = theta.copy()
    turned[model.n_lat] += 0.3
    decoy = model.build(turned)
    found = match_landscape([crystal, (decoy["cell"], decoy["x"], crystal[2])], [e, e], [rho, rho], structures,
                            manifest)
    assert found.match.tolist() == [row.id, ""]
    assert found.emd[0] < 1e-3 and found.emd[1] > MatchTolerances().emd
    # without energies (another force field) density and PDD still decide
    blind = match_landscape([crystal], [0.0], [rho], structures, manifest.assign(energy=np.nan))
    assert blind.match.tolist() == [row.id]
    # outside the density tolerance there is no candidate at all
    far = match_landscape([crystal], [e], [rho + 0.1], structures, manifest)
    assert far.candidates.tolist() == [0] and far.match.tolist() == [""]


def test_latent_width_comes_from_the_calibration_when_resolved(tmp_path):
    table = pd.DataFrame({"window": ["10", "20", "10"], "group": ["P21_c", "P21_c", "P-1"],
                          "calibrated": [5.4, 6.6, 3.0], "resolved": [True, True, False],
                          "reason": [None, None, "interval too wide"]})
    path = tmp_path / "dimensions.csv"
    table.to_csv(path, index=False)
    assert latent_width("calibrated", path, "P21_c", 10) == (7, "calibrated: 6.60 in window 20 (dimensions.csv)")
    width, source = latent_width("calibrated", path, "P-1", 12)
    assert width == 12 and "interval too wide" in source and source.startswith("default")
    assert latent_width("calibrated", tmp_path / "missing.csv", "P21_c", 10)[0] == 10
    assert latent_width(3, path, "P21_c", 10) == (3, "search.width")


def test_stage_skips_a_group_without_enough_rigid_structures(landscape, tmp_path):
    root, structures, manifest = landscape
    settings = SearchSettings.from_config({"min_structures": 1000})
    out = run(root / "land" / "structures.h5", root / "land" / "manifest.csv", root / "land" / "P21_c.h5", SET,
              "P21_c", tmp_path / "out", settings, landscape="anti-BDT", molecule_xyz=MOLDIR / "anti-BDT.xyz")
    assert out["status"] == "skipped" and "1000 needed" in out["reason"]
    assert (tmp_path / "out" / "search.json").is_file() and (tmp_path / "out" / "search.png").is_file()
    assert pd.read_csv(tmp_path / "out" / "decoded.csv").empty


def test_stage_decodes_matches_and_compares(landscape, tmp_path):
    root, structures, manifest = landscape
    settings = SearchSettings.from_config({"width": 3, "n_samples": 6, "efficiency": {"seeds": 1, "n_trials": 16}})
    out = run(root / "land" / "structures.h5", root / "land" / "manifest.csv", root / "land" / "P21_c.h5", SET,
              "P21_c", tmp_path / "out", settings, landscape="anti-BDT", molecule_xyz=MOLDIR / "anti-BDT.xyz")
    assert out["status"] == "ok", out.get("reason")
    for key in ("validity", "relaxed_to_known", "budget", "low_energy_minima_latent", "low_energy_minima_sobol",
                "global_minimum_latent", "global_minimum_sobol", "ratio"):
        assert key in out
    assert out["budget"] == 12 and 0 < out["validity"] <= 1
    decoded = pd.read_csv(tmp_path / "out" / "decoded.csv", keep_default_na=False)
    assert len(decoded) == out["distinct"] and decoded.minimisations.sum() == out["converged"]
    # the decoded .res files are read by the ingest, with their energies
    write_landscape(ingest(LandscapeSpec(name="decoded", source=str(tmp_path / "out" / "decoded"), format="res"),
                           progress=False), tmp_path / "ingested")
    back = store.read_manifest(tmp_path / "ingested" / "manifest.csv").set_index("id")
    assert set(back.index) == set(decoded.id)
    np.testing.assert_allclose(back.energy[decoded.id], decoded.energy, atol=1e-3)
    # a decoded crystal that matches is one of the landscape's, by energy
    known = decoded[decoded.match != ""]
    energy = manifest.set_index("id").energy
    np.testing.assert_allclose(energy[known.match].to_numpy(), known.energy.to_numpy(), atol=0.5)
    curves = pd.read_csv(tmp_path / "out" / "efficiency.csv")
    assert set(curves.method) == {"sobol", "latent"} and curves.found.max() <= 12
    assert (tmp_path / "out" / "chemiscope.json.gz").is_file()
    table = gather([tmp_path / "out" / "search.json"])
    assert table.group.tolist() == ["P21_c", "total"] and "| anti-BDT | total |" in markdown(table)
