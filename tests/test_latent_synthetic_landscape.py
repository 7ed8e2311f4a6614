"""The autoencoder knee on a generated landscape whose dimension is known by construction.

Unrelaxed quasi-random anti-BDT trials in P2_12_12_1 fill the group's 9 rigid-molecule
degrees of freedom; their intermolecular descriptors lie on a 9-d manifold.
"""

from pathlib import Path

import pytest

from latentcsp.descriptors.stage import DescriptorSet, compute_group
from latentcsp.ingest import LandscapeSpec, ingest
from latentcsp.latent.sweep import knee_report, width_sweep
from latentcsp.store import read_matrix, read_structures, write_structures
from latentcsp.structure.symmetry import degrees_of_freedom
from latentcsp.synth import generate

pytestmark = pytest.mark.slow


def test_knee_of_unrelaxed_trials_is_the_true_dof(tmp_path):
    molecule = Path(__file__).resolve().parents[1] / "config" / "molecules" / "anti-BDT.xyz"
    generate(molecule, "P212121", n_trials=300, seed=1, minimise=False, out_dir=tmp_path / "out")
    result = ingest(LandscapeSpec("t", str(tmp_path / "out" / "trial"), format="res"), progress=False)
    assert len(result.crystals) == 300 and not result.quarantine
    assert {c.spacegroup_number for c in result.crystals} == {19}
    write_structures(result.crystals, tmp_path / "s.h5")
    compute_group(read_structures(tmp_path / "s.h5"), DescriptorSet("i", "ani2x", "intermolecular"),
                  tmp_path / "d.h5")
    _, X, _ = read_matrix(tmp_path / "d.h5")
    knee = knee_report(width_sweep(X, max_width=14, n_folds=4, seed=0))
    assert abs(knee["autoencoder"]["plateau"] - degrees_of_freedom("P212121")) <= 1
