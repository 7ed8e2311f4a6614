"""The latent stage on a group larger than the analysis's subsample: the sweep on the subsample,
the final autoencoders trained on minibatches streamed from the descriptor files, every
structure encoded; a small group takes the in-memory path unchanged."""

import json

import h5py
import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch")

from latentcsp.analysis.rows import GroupRows  # noqa: E402
from latentcsp.analysis.stage import AnalysisConfig  # noqa: E402
from latentcsp.analysis.stage import run as analyse  # noqa: E402
from latentcsp.latent import Autoencoder, run_group  # noqa: E402
from latentcsp.latent import group as latent_group  # noqa: E402
from latentcsp.latent import stage  # noqa: E402
from latentcsp.latent.autoencoder import fit_preprocessing  # noqa: E402
from latentcsp.latent.synthetic import nonlinear_manifold  # noqa: E402

SMALL = {"widths": [1, 2, 3], "n_folds": 2, "autoencoder": {"hidden": [16, 8], "max_epochs": 25, "patience": 8},
         "sampling": {"n_samples": 60}}
ANALYSIS = dict(n_boot=2, estimators=("TwoNN", "MLE"), min_size=20, null_permutations=0, fixed_size=None)


class ArrayRows:
    """A sized row source over an in-memory array (the protocol of GroupRows), recording each read's size."""

    def __init__(self, X):
        self.X, self.reads = X, []

    def __len__(self):
        return len(self.X)

    def read(self, index):
        self.reads.append(len(index))
        return self.X[np.asarray(index)].astype(np.float32)


def held_out_r2(model, X):
    """1 - reconstruction error / error of the training mean, in the model's standardized units."""
    Z = (X - model.scaler_mean_) / model.scaler_scale_
    return 1.0 - model.reconstruction_error(X) / float(np.mean(Z ** 2))


def test_streamed_fit_reaches_the_in_memory_fits_held_out_r2():
    """A 2-d curved manifold in 30-d: preprocessing from 200 rows, training streamed over 1500 rows
    in chunks of 64 reconstructs 500 held-out rows as well as a fit on the 1500 in memory, and
    better than a fit on the 200 alone (what the stage trained on before)."""
    X = nonlinear_manifold(2000, 2, 30, seed=3)
    train, test = X[:1500], X[1500:]
    params = dict(latent_dim=2, hidden=(32, 16), max_epochs=40, patience=10)
    in_memory = Autoencoder(**params).fit(train)
    on_subsample = Autoencoder(**params).fit(train[:200])
    rows = ArrayRows(train)
    streamed = Autoencoder(**params).fit_stream(rows, fit_preprocessing(train[:200]), chunk_rows=64, buffer_rows=256)
    r2 = {name: held_out_r2(model, test) for name, model in
          (("memory", in_memory), ("subsample", on_subsample), ("streamed", streamed))}
    assert r2["memory"] > 0.95, r2
    assert r2["streamed"] > r2["memory"] - 0.02, r2
    assert r2["streamed"] > r2["subsample"] + 0.05, r2
    assert max(rows.reads) == 64  # one chunk at a time
    info = streamed.fit_info_
    assert info["n_train"] + info["n_val"] == 1500 and info["n_val"] > 0 and info["streamed"]["chunks"] == 24


def _write_descriptors(path, ids, X):
    with h5py.File(path, "w") as h5:
        h5["ids"] = np.array(ids, dtype=object).astype(h5py.string_dtype())
        h5["X"] = X.astype(np.float32)
        h5.attrs["record"] = json.dumps({"name": "t"})


def _analysed_group(root, n, subsample):
    """A group of n structures on a 2-d manifold in 30-d, over two descriptor files, through the
    analysis stage with ``subsample``; returns the latent stage's inputs."""
    X = nonlinear_manifold(n, 2, 30, seed=5)
    ids = [f"s{k:04d}" for k in range(n)]
    sg = np.where(np.arange(n) % 3 == 0, 2, 14)
    pd.DataFrame({"id": ids, "rel_energy": np.linspace(0, 9, n), "density": np.linspace(1.2, 1.4, n),
                  "spacegroup_number": sg, "spacegroup": np.where(sg == 2, "P-1", "P2_1/c"), "zprime": 1.0,
                  "site_symmetry": "1"}).to_csv(root / "manifest.csv", index=False)
    pd.DataFrame({"window": "10", "group": "all", "spacegroup_number": 0, "id": ids}).to_csv(
        root / "groups.csv", index=False)
    files = [root / "P-1.h5", root / "P21_c.h5"]
    for path, number in zip(files, (2, 14)):
        _write_descriptors(path, [i for i, s in zip(ids, sg) if s == number], X[sg == number])
    analyse(files, root / "groups.csv", root / "manifest.csv", "10", "all", root / "analysis",
            AnalysisConfig(**ANALYSIS, subsample=subsample))
    return files, root / "analysis" / "scores.csv", root / "analysis" / "pca.json"


@pytest.fixture(scope="module")
def large_group(tmp_path_factory):
    """600 structures, analysed with a subsample of 200, then the latent stage with every
    GroupRows read of the whole group recorded and the stage's load_rows calls spied on."""
    root = tmp_path_factory.mktemp("large")
    files, scores, pca = _analysed_group(root, 600, 200)
    reads, loaded = [], []
    read, load_rows = GroupRows.read, stage.load_rows

    def spy_read(self, index):
        if len(self) == 600:
            reads.append(len(index))
        return read(self, index)

    def spy_load_rows(descriptor_files, ids):
        loaded.append(len(ids))
        return load_rows(descriptor_files, ids)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(GroupRows, "read", spy_read)
        mp.setattr(stage, "load_rows", spy_load_rows)
        mp.setattr(latent_group, "ENCODE_ROWS", 100)
        results = stage.run(files, scores, pca, None, root / "latent", SMALL)
    return root, results, reads, loaded


def test_large_group_gets_coordinates_for_every_structure(large_group):
    root, results, _, _ = large_group
    scores = pd.read_csv(root / "analysis" / "scores.csv", dtype={"id": str})
    coords = pd.read_csv(root / "latent" / "coordinates.csv", dtype={"id": str})
    assert results["status"] == "ok"
    assert list(coords.id) == list(scores.id) and len(coords) == 600
    assert np.allclose(coords.rel_energy, scores.rel_energy)
    w = results["final_width"]
    names = [f"{m}_{k + 1}" for m in ("ae", "pca", "vae") for k in range(w)] + ["ae_2d_1", "ae_2d_2", "pca_2d_2"]
    assert np.isfinite(coords[names].to_numpy()).all()
    assert coords.ae_2d_1.std() > 0 and coords.drop_duplicates("ae_2d_1").shape[0] > 590  # really encoded


def test_large_group_trains_the_final_models_on_every_structure(large_group):
    root, results, _, _ = large_group
    sub = results["subsample"]
    kept = int(pd.read_csv(root / "analysis" / "scores.csv").estimated.sum())
    assert sub["n_rows"] == 600 and sub["size"] == kept == results["n"] and kept <= 200
    assert "sweep" in sub["computed_on_subsample"] and "neighbourhoods" in sub["computed_on_subsample"]
    assert results["job"]["peak_memory_mb"] > 0
    for name in ("ae", "ae_2d", "vae"):
        fit = Autoencoder.load(root / "latent" / "models" / f"{name}.npz").fit_info_
        assert fit["n_train"] + fit["n_val"] == 600 and "streamed" in fit
    sweep = pd.read_csv(root / "latent" / "sweep.csv")
    assert set(sweep.n_train + sweep.n_test) == {kept}  # the width sweep stays on the subsample


def test_large_group_never_reads_the_whole_matrix(large_group):
    """Every read of the whole group asks for at most a chunk (256) or an encoding block (100) of rows;
    each final model reads every row once (projected once, then cached on disk), the encoding once
    more; the in-memory matrix (load_rows) is only the subsample's."""
    _, results, reads, loaded = large_group
    assert reads and max(reads) <= 256
    models = 2 if results["final_width"] == 2 else 3  # ae (= ae_2d at width 2) and vae
    assert sum(reads) == 600 * (models + 1)
    assert loaded == [results["subsample"]["size"]]


def test_small_group_is_the_in_memory_analysis(tmp_path):
    """A group within the subsample: the stage's coordinates are run_group's on the in-memory matrix."""
    files, scores, pca = _analysed_group(tmp_path, 120, 200)
    results = stage.run(files, scores, pca, None, tmp_path / "latent", SMALL)
    assert "subsample" not in results and results["n"] == len(pd.read_csv(scores))
    kept = pd.read_csv(scores, dtype={"id": str})
    with GroupRows(files, list(kept.id)) as rows:
        X = rows.read(np.arange(len(rows))).astype(np.float64)
    props = {"energy": kept.rel_energy.to_numpy(), "density": kept.density.to_numpy()}
    want = run_group(X, props, list(kept.id), SMALL)["coordinates"]
    coords = pd.read_csv(tmp_path / "latent" / "coordinates.csv", dtype={"id": str})
    for name, Z in want.items():
        assert np.array_equal(coords[[f"{name}_{k + 1}" for k in range(Z.shape[1])]].to_numpy(), Z), name
