"""`pytest -m cluster`: the single-node SLURM run of run_slurm_pipeline.sh (also a stage of .ci/run)."""

import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("run_slurm_pipeline.sh")


@pytest.mark.cluster
def test_pipeline_on_a_real_slurm_matches_a_local_run():
    proc = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=1800)
    out = proc.stdout + proc.stderr
    if proc.returncode == 0 and "SKIP:" in out:
        pytest.skip(out.strip().splitlines()[-1])
    assert proc.returncode == 0 and "PASS" in out, out[-6000:]
