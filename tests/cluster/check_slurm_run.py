"""Checks on a finished SLURM run of the pipeline (called by run_slurm_pipeline.sh).

    python tests/cluster/check_slurm_run.py WORKDIR

* every job SLURM still lists (squeue --states=all; the test cluster keeps
  finished jobs for MinJobAge=600 s) has COMPLETED;
* at least one descriptor job ran as an MPI job: 2 CPUs allocated to it by
  SLURM, and its log says it ran on 2 ranks ("rank 0/2") — proof that srun
  started both ranks in one MPI world;
* every other descriptor job ran on 1 CPU and 1 rank;
* every descriptor job left its SLURM log under .snakemake/slurm_logs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main(workdir: str) -> int:
    work = Path(workdir)
    out = subprocess.run(["squeue", "--states=all", "--noheader", "--format=%i|%T|%C|%k"],
                         capture_output=True, text=True, check=True).stdout
    jobs = [line.split("|", 3) for line in out.splitlines() if line.strip()]
    problems = []
    if not jobs:
        problems.append("squeue lists no jobs")
    for jobid, state, cpus, comment in jobs:
        if state != "COMPLETED":
            problems.append(f"job {jobid} ({comment}) ended {state}")
    descriptor_jobs = [(j, int(c), k) for j, s, c, k in jobs if k.startswith("rule_descriptors")]
    mpi_jobs = [j for j in descriptor_jobs if j[1] == 2]
    plain_jobs = [j for j in descriptor_jobs if j[1] == 1]
    if not mpi_jobs:
        problems.append(f"no descriptor job had 2 CPUs: {descriptor_jobs}")
    if not plain_jobs:
        problems.append("no descriptor job ran as a plain 1-CPU job")

    logs = sorted((work / "logs").rglob("descriptors/*/*.log"))
    ranked = [p for p in logs if " rank 0/2" in p.read_text()]
    if len(ranked) != len(mpi_jobs):
        problems.append(f"{len(ranked)} descriptor logs show 2 ranks, {len(mpi_jobs)} jobs had 2 CPUs")
    for p in logs:
        text = p.read_text()
        if "computed" not in text:
            problems.append(f"{p}: no 'computed' summary line")
        if p not in ranked and " rank " in text:
            problems.append(f"{p}: unexpected rank count")
    slurm_logs = list((work / ".snakemake" / "slurm_logs").rglob("rule_descriptors/**/*.log"))
    if len(slurm_logs) < len(descriptor_jobs):
        problems.append(f"{len(slurm_logs)} SLURM logs of descriptor jobs for {len(descriptor_jobs)} jobs")

    for p in problems:
        print("  " + p, file=sys.stderr)
    if problems:
        return 1
    print(f"{len(jobs)} SLURM jobs COMPLETED; descriptor jobs: {len(mpi_jobs)} MPI (2 ranks under srun: "
          f"{', '.join(str(p.relative_to(work)) for p in ranked)}), {len(plain_jobs)} plain")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
