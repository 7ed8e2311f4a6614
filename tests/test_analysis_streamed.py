"""Groups too large for memory: rows read in blocks, moments and the randomized spectrum streamed,
checked against the in-memory (exact, LAPACK) analysis of the same rows."""

import json

import h5py
import numpy as np
import pandas as pd
import pytest

from latentcsp.analysis.stage import AnalysisConfig, run
from latentcsp.analysis.pca import moments, spectrum, streamed_spectrum
from latentcsp.analysis.rows import GroupRows
from latentcsp.descriptors.stage import write_skipped


def _write(path, ids, X):
    with h5py.File(path, "w") as h5:
        h5["ids"] = np.array(ids, dtype=object).astype(h5py.string_dtype())
        h5["X"] = X.astype(np.float32)
        h5.attrs["record"] = json.dumps({"name": "t"})


def _curved(n, p=60, seed=0):
    """n points on a curved 3-d manifold in p dimensions (plus a constant and a tiny-noise column)."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(-1, 1, (n, 3))
    X = np.column_stack([t, np.sin(3 * t), t[:, :1] * t[:, 1:]])
    X = X @ rng.normal(size=(X.shape[1], p)) + 0.01 * rng.normal(size=(n, p))
    X[:, 5] = 2.0  # constant: dropped
    return X.astype(np.float32).astype(np.float64)


def test_rows_come_back_in_the_groups_order_from_any_file_and_block(tmp_path):
    X = np.arange(40 * 3, dtype=np.float32).reshape(40, 3)
    ids = [f"s{k}" for k in range(40)]
    _write(tmp_path / "a.h5", ids[::2], X[::2])
    _write(tmp_path / "b.h5", ids[1::2], X[1::2])
    write_skipped(tmp_path / "c.h5", "no structure in Cc")
    order = [ids[k] for k in np.random.default_rng(1).permutation(40)]
    with GroupRows([tmp_path / "a.h5", tmp_path / "c.h5", tmp_path / "b.h5"], order, block_mb=4 * 3 * 5 / 1e6) as rows:
        assert rows.block_rows == 5 and rows.width == 3 and rows.record == {"name": "t"}
        want = X[[int(i[1:]) for i in order]]
        assert np.array_equal(rows.read(np.arange(40)), want)
        assert np.array_equal(rows.read([7, 3, 3, 39]), want[[7, 3, 3, 39]])
        blocks = list(rows.blocks())
        assert [lo for lo, _ in blocks] == list(range(0, 40, 5))
        assert np.array_equal(np.concatenate([b for _, b in blocks]), want)
    with pytest.raises(KeyError, match="1 structures have no descriptors"):
        GroupRows([tmp_path / "a.h5"], ["s0", "s1"])


def test_moments_of_blocks_are_the_column_mean_and_variance():
    X = np.random.default_rng(0).normal(5.0, 1e-3, (1000, 7))
    stats = moments(np.array_split(X, 13))
    assert stats.n == 1000
    assert np.allclose(stats.mean, X.mean(axis=0), rtol=1e-14)
    assert np.allclose(stats.var, X.var(axis=0), rtol=1e-9)


@pytest.mark.parametrize("standardize", [True, False])
def test_streamed_spectrum_matches_the_exact_one(standardize):
    X = _curved(400)
    exact = spectrum(X, standardize=standardize, thresholds=(0.8, 0.9, 0.99))
    blocks = lambda: np.array_split(X.astype(np.float32), 7)  # noqa: E731
    streamed = streamed_spectrum(blocks, moments(blocks()), standardize=standardize, thresholds=(0.8, 0.9, 0.99),
                                 max_components=20)
    k = 20
    assert streamed.truncated and len(streamed.eigenvalues) == k and streamed.n_samples == 400
    assert streamed.n_constant_dropped == exact.n_constant_dropped == 1
    signal = int(np.sum(exact.eigenvalues > 1e-2 * exact.eigenvalues[0]))  # above the noise floor
    assert 3 <= signal <= 10
    assert np.allclose(streamed.eigenvalues[:signal], exact.eigenvalues[:signal], rtol=1e-6)
    assert np.allclose(streamed.eigenvalues, exact.eigenvalues[:k], rtol=0.05)  # the flat floor: a few per cent
    assert streamed.total_variance == pytest.approx(exact.total_variance, rel=1e-6)
    assert streamed.n_components == exact.n_components
    assert streamed.elbow == _elbow_of(exact.eigenvalues[:k])
    assert np.allclose(streamed.scores, exact.scores, atol=1e-4 * np.abs(exact.scores).max())


def _elbow_of(eigenvalues):
    from latentcsp.analysis.elbow import elbow

    return elbow(eigenvalues)


def test_streamed_spectrum_says_when_a_threshold_lies_beyond_its_components():
    X = np.random.default_rng(0).normal(size=(300, 50))  # no structure: 80 % needs most components
    blocks = lambda: np.array_split(X, 4)  # noqa: E731
    s = streamed_spectrum(blocks, moments(blocks()), thresholds=(0.8,), max_components=10)
    assert s.truncated and s.n_components == {"0.8": None}


def _group(tmp_path, n=260):
    X = _curved(n, seed=3)
    X[-3:] = X[:3] + 1e-9  # three near-duplicates
    ids = [f"s{k:03d}" for k in range(n)]
    manifest = pd.DataFrame({"id": ids, "rel_energy": np.linspace(0, 9, n), "density": 1.3, "spacegroup_number": 14,
                             "spacegroup": "P2_1/c", "zprime": 1.0, "site_symmetry": "1"})
    manifest.to_csv(tmp_path / "manifest.csv", index=False)
    pd.DataFrame({"window": "10", "group": "all", "spacegroup_number": 0, "id": ids}).to_csv(
        tmp_path / "groups.csv", index=False)
    _write(tmp_path / "P21_c.h5", ids[::-1], X[::-1])
    return [tmp_path / "P21_c.h5"], tmp_path / "groups.csv", tmp_path / "manifest.csv"


def test_a_group_larger_than_the_subsample_is_streamed(tmp_path):
    files, groups, manifest = _group(tmp_path)
    base = dict(n_boot=2, estimators=("TwoNN", "MLE"), min_size=20, thresholds=(0.8, 0.9), null_permutations=3)
    run(files, groups, manifest, "10", "all", tmp_path / "whole", AnalysisConfig(**base, subsample=1000))
    run(files, groups, manifest, "10", "all", tmp_path / "part", AnalysisConfig(**base, subsample=100))
    whole, part = (json.loads((tmp_path / d / "pca.json").read_text()) for d in ("whole", "part"))
    assert "subsample" not in whole and whole["dedup"]["n_removed"] == 3 and whole["n_samples"] == 257
    # the spectrum uses every row (near-duplicates included), the estimators the subsample
    assert part["n_samples"] == 260 and part["solver"].startswith("randomized, streamed")
    assert part["subsample"]["size"] == 100 and part["subsample"]["n_rows"] == 260
    assert part["dedup"]["scope"] == "subsample" and part["dedup"]["n_input"] == 100
    assert part["n_components"] == whole["n_components"] and part["elbow"] == whole["elbow"]
    assert np.allclose(part["eigenvalues"][:5], whole["eigenvalues"][:5], rtol=0.02)  # 3 duplicate rows more
    assert part["noise_null"]["n_components"] >= 1 and part["fixed_size"]["size"] == 30
    assert part["job"]["peak_memory_mb"] > 0 and part["key"] == {"window": "10", "group": "all"}
    ids = json.loads((tmp_path / "part" / "id.json").read_text())
    kept = part["dedup"]["n_kept"]
    assert ids["subsample"] == {"size": 100, "seed": 0, "n_rows": 260} and ids["n_samples"] == kept
    scores = pd.read_csv(tmp_path / "part" / "scores.csv")
    assert len(scores) == 260 and scores.estimated.sum() == kept
    assert scores.local_id.notna().sum() == kept and scores.local_id[~scores.estimated].isna().all()
    full = pd.read_csv(tmp_path / "whole" / "scores.csv").set_index("id")
    both = scores.set_index("id").loc[full.index]
    assert np.corrcoef(both.PC1, full.PC1)[0, 1] > 0.99 and np.corrcoef(both.PC2, full.PC2)[0, 1] > 0.99
