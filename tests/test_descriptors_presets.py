"""AEV parameter sets: preset values (TorchANI's float32-rounded constants),
custom sets, hashing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from latentcsp.descriptors import AEVParams, ani1x, ani2x, get_params
from latentcsp.descriptors.presets import torchani_linspace


def f32(x):
    return float(np.float32(x))


def test_ani1x_values():
    p = ani1x
    assert (p.Rcr, p.Rca) == (5.2, 3.5)  # python floats in TorchANI, not rounded
    assert p.EtaR == 16.0 and p.EtaA == 8.0 and p.Zeta == 32.0
    assert p.ShfR == tuple(f32(0.9 + 0.26875 * k) for k in range(16))
    assert p.ShfA == tuple(f32(x) for x in (0.9, 1.55, 2.2, 2.85))
    assert p.ShfZ == tuple(f32((2 * k + 1) * math.pi / 16) for k in range(8))
    assert p.species == ("H", "C", "N", "O")
    assert p.n_features == 384 and p.radial_length == 64


def test_ani2x_values():
    p = ani2x
    assert (p.Rcr, p.Rca) == (5.1, 3.5)
    assert p.EtaR == f32(19.7) == 19.700000762939453
    assert p.Zeta == f32(14.1) == 14.100000381469727
    assert p.EtaA == 12.5
    assert p.ShfR == tuple(f32(0.8 + 0.26875 * k) for k in range(16))
    assert p.ShfA == tuple(f32(0.8 + 0.3375 * k) for k in range(8))
    assert p.ShfZ == tuple(f32((2 * k + 1) * math.pi / 8) for k in range(4))
    assert p.species == ("H", "C", "N", "O", "S", "F", "Cl")
    assert p.n_features == 7 * 16 + 28 * 8 * 4 == 1008
    names = p.feature_names()
    assert len(names) == 1008 and names[0] == "R:H:0" and names[112] == "A:HH:0:0"
    assert names[112 + 32] == "A:HC:0:0" and names[-1] == "A:ClCl:7:3"


def test_torchani_linspace_excludes_stop():
    assert torchani_linspace(0.8, 5.1, 16)[-1] == pytest.approx(5.1 - 4.3 / 16)


def test_hash_stable_and_sensitive():
    # the digest is a function of the numbers only: pinned so that an accidental
    # change of the constants or of the canonical form is noticed (cache keys)
    assert ani2x.hash() == get_params("ani2x").hash() == get_params({"preset": "ani2x"}).hash()
    assert ani2x.hash() == "703ed9e05ea494eeaebc802869bf82844d78986c0808516fa3148167aad9c09b"
    assert ani1x.hash() == "8d6ecee3c730cde7420b76b274d0f499c1fcfc7e4533b784def239f5f4bc7c27"
    assert ani1x.hash() != ani2x.hash()
    assert ani2x.replace(Zeta=14.1).hash() != ani2x.hash()
    assert ani2x.replace(name="other").hash() == ani2x.hash()
    d = ani2x.to_dict()
    assert d["name"] == "ani2x" and d["n_features"] == 1008 and d["ShfZ"] == list(ani2x.ShfZ)
    assert AEVParams(**{k: v for k, v in d.items() if k not in ("formula", "n_features")}) == ani2x


def test_custom_sets():
    p = get_params({"preset": "ani2x", "species": ["H", "C", "N", "O", "S"], "ShfA": {"start": 0.8, "stop": 3.5, "num": 4}})
    assert p.species == ("H", "C", "N", "O", "S") and len(p.ShfA) == 4
    assert p.n_features == 5 * 16 + 15 * 4 * 4
    assert p.name == "ani2x-custom"
    full = {k: getattr(ani1x, k) for k in ("Rcr", "Rca", "EtaR", "ShfR", "EtaA", "Zeta", "ShfA", "ShfZ", "species")}
    assert get_params(full) == ani1x
    assert get_params(ani1x) is ani1x


@pytest.mark.parametrize("spec, msg", [
    ("ani3x", "unknown AEV preset"),
    ({"preset": "ani2x", "Rca": 6.0}, "must not exceed"),
    ({"preset": "ani2x", "EtaR": -1}, "positive"),
    ({"preset": "ani2x", "ShfA": []}, "non-empty"),
    ({"preset": "ani2x", "species": ["H", "Xx"]}, "unknown element"),
    ({"preset": "ani2x", "species": ["H", "H"]}, "duplicate"),
    ({"preset": "ani2x", "bogus": 1}, "unknown AEV parameter"),
    ({"Rcr": 5.0}, "miss"),
])
def test_bad_custom_sets(spec, msg):
    with pytest.raises(ValueError, match=msg):
        get_params(spec)


def test_species_index_error_names_element_and_preset():
    with pytest.raises(ValueError, match=r"Br.*'ani2x'"):
        ani2x.species_index([1, 6, 35])
    np.testing.assert_array_equal(ani2x.species_index([17, 1, 16, 9]), [6, 0, 4, 5])
