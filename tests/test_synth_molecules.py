"""The committed BDT geometries: composition, bond lengths, planarity, point symmetry."""

from pathlib import Path

import numpy as np
import pytest

from latentcsp.synth import read_xyz

MOLDIR = Path(__file__).resolve().parents[1] / "config" / "molecules"


def _bonds(mol, a, b, rmax):
    out = []
    for i, si in enumerate(mol.symbols):
        for j, sj in enumerate(mol.symbols):
            if j <= i or {si, sj} != {a, b} or (a == b and si != a):
                continue
            d = np.linalg.norm(mol.ref[i] - mol.ref[j])
            if d < rmax:
                out.append(d)
    return np.array(out)


@pytest.mark.parametrize("name", ["syn-BDT", "anti-BDT"])
def test_bdt_geometry(name):
    mol = read_xyz(MOLDIR / f"{name}.xyz")
    assert mol.formula() == "C10H6S2"
    assert mol.mass == pytest.approx(190.28, abs=0.05)
    cc = _bonds(mol, "C", "C", 1.6)
    cs = _bonds(mol, "C", "S", 1.9)
    ch = _bonds(mol, "C", "H", 1.2)
    assert len(cc) == 10 and len(cs) == 4 and len(ch) == 6  # benzene 6 + 2 per thiophene
    assert np.all((cc > 1.36) & (cc < 1.45)), cc
    assert np.all((cs > 1.70) & (cs < 1.78)), cs
    assert np.all(np.abs(ch - 1.08) < 0.02), ch
    # planar: RMS distance from the best plane (z in the principal frame)
    assert np.sqrt(np.mean(mol.ref[:, 2] ** 2)) < 0.05
    assert 130 < mol.volume < 180  # Å^3, union of Bondi spheres


def test_syn_and_anti_are_the_right_isomers():
    anti = read_xyz(MOLDIR / "anti-BDT.xyz")
    syn = read_xyz(MOLDIR / "syn-BDT.xyz")

    def maps_onto_itself(mol, op):
        moved = mol.ref @ op.T
        for s, p in zip(mol.symbols, moved):
            d = np.linalg.norm(mol.ref - p, axis=1)
            j = int(np.argmin(d))
            if d[j] > 0.02 or mol.symbols[j] != s:
                return False
        return True

    inversion = -np.eye(3)
    assert maps_onto_itself(anti, inversion)  # C2h: centrosymmetric (benzo[1,2-b:4,5-b'])
    assert not maps_onto_itself(syn, inversion)
    # syn (C2v): a mirror through the molecular centre perpendicular to the long axis
    assert maps_onto_itself(syn, np.diag([-1.0, 1.0, 1.0]))
    # both S on one side of the long axis in syn, opposite sides in anti
    s_syn = syn.ref[[i for i, s in enumerate(syn.symbols) if s == "S"]]
    s_anti = anti.ref[[i for i, s in enumerate(anti.symbols) if s == "S"]]
    assert np.sign(s_syn[0, 1]) == np.sign(s_syn[1, 1])
    assert np.sign(s_anti[0, 1]) != np.sign(s_anti[1, 1])
