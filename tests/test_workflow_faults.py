"""Jobs killed mid-run (SIGKILL, as a node failure or scancel would) leave nothing a rerun mistakes for done.

A descriptor job writes ``.{name}.{pid}.tmp`` beside its output and renames it
when complete.  The test kills (1) that job process alone, mid-write, and then
(2) the whole Snakemake process group while the next descriptor job is
writing, and checks after each kill that every output file present under its
final name is complete (identical to the uninterrupted run's); a plain rerun
then finishes the workflow and reproduces an uninterrupted run exactly, with
the vectors computed before the kill taken from the cache.
"""

import os
import re
import signal
from pathlib import Path

import pytest
from workflow_runs import edited_config, kill_group, make_workflow, run, start, wait_for

from cluster.compare_results import compare_dirs

pytestmark = pytest.mark.slow

TMP = re.compile(r"^\.(?P<name>[^/]+\.h5)\.(?P<pid>\d+)\.tmp$")
# one structure per chunk: a descriptor job writes its file over many steps
CONFIG = edited_config(**{"descriptors.chunk": 1})


PROGRESS = re.compile(r"\] (\d+)/(\d+) structures")


def writing_descriptor_job(root: Path):
    """(pid, temporary file, final output) of a descriptor job half-way through its chunks, or None.

    Half-way: its temporary file exists and its log reports at least one
    chunk written (and so cached), not the last.
    """
    folder = root / "results" / "m" / "descriptors" / "a"
    if not folder.is_dir():
        return None
    for tmp in folder.iterdir():
        m = TMP.match(tmp.name)
        if not m:
            continue
        log = root / "logs" / "m" / "descriptors" / "a" / (m.group("name")[:-3] + ".log")
        done = PROGRESS.findall(log.read_text()) if log.exists() else []
        if done and int(done[-1][0]) < int(done[-1][1]):
            return int(m.group("pid")), tmp, folder / m.group("name")
    return None


def final_outputs(root: Path) -> set[str]:
    results = root / "results"
    return {str(p.relative_to(results)) for p in results.rglob("*") if p.is_file() and not p.name.startswith(".")}


def assert_present_outputs_complete(root: Path, reference: Path):
    """Every output under its final name is identical to the uninterrupted run's file."""
    present = final_outputs(root)
    assert present <= final_outputs(reference)
    problems, _ = compare_dirs(reference / "results", root / "results")
    # files missing from the interrupted run are expected; any other difference is a partial output
    partial = [p for p in problems if not p.startswith(f"only in {reference / 'results'}")]
    assert not partial, partial


def test_killed_jobs_leave_no_partial_outputs_and_rerun_reproduces(tmp_path):
    reference = make_workflow(tmp_path / "reference", n_structures=60, config=CONFIG)
    run(reference)

    root = make_workflow(tmp_path / "wf", n_structures=60, config=CONFIG)

    # (1) SIGKILL one descriptor job in the middle of writing its matrix
    proc = start(root, cores=1)
    found = wait_for(lambda: writing_descriptor_job(root), timeout=300)
    assert found, "no descriptor job was seen half-way"
    pid, tmp, out = found
    os.kill(pid, signal.SIGKILL)
    proc.wait(timeout=300)
    text = proc.stdout.read()
    assert proc.returncode != 0, text[-3000:]
    assert not out.exists(), f"{out} exists after its job was killed"
    assert_present_outputs_complete(root, reference)

    # (2) SIGKILL snakemake and all its jobs while the next descriptor job is writing
    proc = start(root, cores=1)
    found = wait_for(lambda: writing_descriptor_job(root), timeout=300)
    assert found, "no descriptor job was seen half-way on the second run"
    kill_group(proc)
    try:  # a job outside snakemake's process group dies with the node too
        os.kill(found[0], signal.SIGKILL)
    except ProcessLookupError:
        pass
    assert_present_outputs_complete(root, reference)

    # the rerun finishes the workflow; the vectors of completed chunks come from the cache
    rerun = run(root, "--rerun-incomplete")
    assert rerun.jobs["descriptors"] >= 1
    logs = [root / "logs/m/descriptors/a" / f"{o.split('/')[-1][:-3]}.log" for o in rerun.outputs("descriptors")]
    cached = [int(re.search(r"(\d+) from cache", p.read_text()).group(1)) for p in logs]
    assert sum(cached) > 0, "the rerun recomputed vectors the killed jobs had already cached"
    problems, _ = compare_dirs(reference / "results", root / "results")
    assert not problems, problems
    assert run(root, "-n").jobs == {}, "nothing may be left to do after the rerun"
