"""Neighbourhood metrics on cases with known answers."""

import numpy as np
import pytest
from sklearn.manifold import trustworthiness as sk_trustworthiness

from latentcsp.analysis import neighbourhood as nb


@pytest.fixture(scope="module")
def cloud():
    rng = np.random.default_rng(0)
    return rng.normal(size=(300, 6))


def test_identity_map_is_perfect(cloud):
    n, k = len(cloud), 10
    assert nb.trustworthiness(cloud, cloud, k) == pytest.approx(1.0)
    assert nb.continuity(cloud, cloud, k) == pytest.approx(1.0)
    assert nb.knn_overlap(cloud, cloud, k) == pytest.approx(1.0)
    # the nearest neighbour keeps rank 1: Δ = 2/N, the smallest possible value
    assert nb.information_imbalance(cloud, cloud) == pytest.approx(2.0 / n)


def test_isometry_is_perfect(cloud):
    q, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(6, 6)))
    moved = cloud @ q + 3.0
    assert nb.trustworthiness(cloud, moved, 7) == pytest.approx(1.0)
    assert nb.knn_overlap(cloud, moved, 7) == pytest.approx(1.0)


def test_random_map_is_at_chance(cloud):
    n, k = len(cloud), 10
    rand = np.random.default_rng(2).normal(size=(n, 2))
    assert nb.trustworthiness(cloud, rand, k) == pytest.approx(0.5, abs=0.05)
    assert nb.continuity(cloud, rand, k) == pytest.approx(0.5, abs=0.05)
    chance = nb.knn_overlap_chance(n, k)
    assert chance == pytest.approx(k / (n - 1))
    assert nb.knn_overlap(cloud, rand, k) == pytest.approx(chance, abs=0.02)
    assert nb.information_imbalance(cloud, rand) == pytest.approx(1.0, abs=0.12)
    assert nb.information_imbalance(rand, cloud) == pytest.approx(1.0, abs=0.12)


def test_matches_sklearn_trustworthiness(cloud):
    low = cloud[:, :2] + 0.3 * cloud[:, 2:4]
    for k in (1, 5, 12):
        assert nb.trustworthiness(cloud, low, k) == pytest.approx(
            sk_trustworthiness(cloud, low, n_neighbors=k), abs=1e-12)


def test_continuity_is_swapped_trustworthiness(cloud):
    low = cloud[:, :2]
    assert nb.continuity(cloud, low, 5) == pytest.approx(
        sk_trustworthiness(low, cloud, n_neighbors=5), abs=1e-12)
    # a projection never invents neighbours far away less than it tears them: C < T is typical,
    # but both must lie in [0, 1]
    for v in (nb.trustworthiness(cloud, low, 5), nb.continuity(cloud, low, 5)):
        assert 0.0 <= v <= 1.0


def test_precomputed_equals_features(cloud):
    low = cloud[:, :3]
    Dh, Dl = nb.distance_matrix(cloud), nb.distance_matrix(low)
    assert nb.trustworthiness(Dh, Dl, 5, metric_high="precomputed", metric_low="precomputed") == \
        pytest.approx(nb.trustworthiness(cloud, low, 5))
    assert nb.continuity(Dh, low, 5, metric_high="precomputed") == pytest.approx(nb.continuity(cloud, low, 5))
    assert nb.knn_overlap(Dh, low, 5, metric_a="precomputed") == pytest.approx(nb.knn_overlap(cloud, low, 5))
    assert nb.information_imbalance(cloud, Dl, metric_b="precomputed") == \
        pytest.approx(nb.information_imbalance(cloud, low))


def test_information_imbalance_is_asymmetric():
    # A = (x, y) contains B = x: A predicts B's neighbours well, B does not predict A's.
    rng = np.random.default_rng(3)
    A = rng.uniform(size=(400, 2))
    B = A[:, 0]
    ab, ba = nb.information_imbalance(A, B), nb.information_imbalance(B, A)
    assert ab < 0.1
    assert ba > 0.3
    assert ab < ba


def test_one_dimensional_property_with_ties():
    rng = np.random.default_rng(4)
    energy = np.round(rng.uniform(0, 5, size=100), 1)  # many ties
    X = np.c_[energy, rng.normal(scale=0.01, size=100)]
    assert nb.information_imbalance(X, energy) < 0.2
    assert 0.0 <= nb.information_imbalance(energy, X) <= 1.5
    assert nb.knn_overlap(energy, energy, 5) == pytest.approx(1.0)


def test_k_limits(cloud):
    small = cloud[:10]
    assert nb.max_neighbours(10) == 4
    with pytest.raises(ValueError):
        nb.trustworthiness(small, small, 5)
    with pytest.raises(ValueError):
        nb.knn_overlap(small, small, 10)
    with pytest.raises(ValueError):
        nb.trustworthiness(small, cloud[:11], 2)  # different n


def test_bad_inputs():
    with pytest.raises(ValueError):
        nb.distance_matrix(np.ones((3, 4)), "precomputed")
    with pytest.raises(ValueError):
        nb.distance_matrix(np.array([[0.0, np.nan], [1.0, 2.0]]))


def test_compare_spaces_clips_k_and_is_jsonable(cloud):
    import json

    small, emb = cloud[:12], cloud[:12, :2]
    out = nb.compare_spaces(small, emb, ks=(5, 10, 50))
    assert [row["k"] for row in out["by_k"]] == [5]
    row = out["by_k"][0]
    assert set(row) == {"k", "trustworthiness", "continuity", "knn_overlap", "knn_overlap_chance"}
    assert out["n"] == 12
    json.dumps(out, allow_nan=False)
    same = nb.compare_spaces(small, small, ks=(3,))
    assert same["by_k"][0]["trustworthiness"] == pytest.approx(1.0)
    assert same["imbalance_a_to_b"] == pytest.approx(2 / 12)
    nd = nb.compare_spaces(small, emb, ks=(3,), directional=False)
    assert "trustworthiness" not in nd["by_k"][0]
