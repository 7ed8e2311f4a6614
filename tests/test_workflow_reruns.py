"""Incremental reruns of the whole workflow (Snakemake in a subprocess, small methanol landscape).

* new structures: only ingest, select, the descriptor groups that gained
  structures (computing just the new ones, the rest from the cache), the
  analyses of the groups that changed, the calibration and the summary rerun
  (a dry run after ``--until select`` lists exactly these), and the result
  equals a run from scratch on the enlarged landscape;
* a descriptor parameter reruns descriptors and everything after them, not ingest;
* an analysis/report setting reruns the analyses and the summary, not the descriptors.
"""

from collections import Counter

import pytest
from workflow_runs import (SLUG, computed_line, edited_config, make_workflow, run, set_config,
                           write_structures)

from cluster.compare_results import compare_dirs

pytestmark = pytest.mark.slow

# spacegroups: all asks for the analysed groups only: windows 5 and 20 (inf is skipped: every structure
# lies within 20 kJ/mol) x 4 space groups and `all`
FIRST = Counter({"sources": 1, "ingest": 1, "select": 1, "descriptors": 4, "analyse": 10, "references": 1,
                 "calibrate": 1, "summary": 1, "all": 1})


def test_new_structures_rerun_only_the_groups_they_join(tmp_path):
    root = make_workflow(tmp_path / "wf", n_structures=24)
    assert run(root).jobs == FIRST
    assert run(root, "-n").jobs == Counter(), "a finished workflow must have nothing to do"
    for sg in SLUG.values():
        assert computed_line(root / f"logs/m/descriptors/a/{sg}.log") == (6, 6, 0)

    # two new P2_1/c structures, 6 kJ/mol above the minimum (inside the 20 kJ/mol window only)
    new = write_structures(root / "land", [100, 101], sg=14)
    # which groups they join is known once they are read: the dry run shows ingest and select ...
    assert run(root, "-n").jobs == Counter({"sources": 1, "ingest": 1, "select": 1, "references": 1, "calibrate": 1,
                                            "summary": 1, "all": 1})
    # ... and after `--until select` exactly the jobs that will rerun (README: "Inspecting a run before it runs"):
    # the P2_1/c descriptors, and every analysis reading them: P2_1/c and `all`, in both windows (their file
    # is new); the other space groups' descriptors and analyses do not
    assert run(root, "--until", "select").jobs == Counter({"sources": 1, "ingest": 1, "select": 1})
    planned = run(root, "-n")
    again = run(root)
    assert again.jobs == planned.jobs == Counter({"descriptors": 1, "analyse": 4, "references": 1, "calibrate": 1,
                                                  "summary": 1, "all": 1}), again.text[-4000:]
    assert again.outputs("descriptors") == ["results/m/descriptors/a/P21_c.h5"]
    analysed = sorted(out.split(",")[0] for out in again.outputs("analyse"))
    assert analysed == [f"results/m/analysis/a/{w}/{g}/pca.json" for w in ("20", "5") for g in ("P21_c", "all")]
    # only the new structures were computed; the group's old ones came from the cache
    assert computed_line(root / "logs/m/descriptors/a/P21_c.log") == (8, len(new), 6)

    # ... and the incremental result is the result of a fresh run on all 26 structures
    fresh = make_workflow(tmp_path / "fresh", n_structures=24)
    write_structures(fresh / "land", [100, 101], sg=14)
    run(fresh)
    problems, counts = compare_dirs(fresh / "results", root / "results")
    assert not problems, problems
    assert counts["hdf5"] == 6  # structures.h5, the four descriptor groups and the references


def test_descriptor_parameter_reruns_descriptors_and_after(tmp_path):
    root = make_workflow(tmp_path / "wf", n_structures=16)
    first = run(root).jobs
    assert first["descriptors"] == 4 and first["analyse"] >= 5

    set_config(root, edited_config(**{"descriptors.sets.a.neighbours": "intermolecular"}))
    again = run(root)
    assert again.jobs == Counter({"descriptors": 4, "analyse": first["analyse"], "calibrate": 1, "summary": 1,
                                  "all": 1}), \
        again.text[-4000:]
    # a new parameter set is a new cache key: everything computed, nothing from the cache
    for sg in SLUG.values():
        n, computed, cached = computed_line(root / f"logs/m/descriptors/a/{sg}.log")
        assert (computed, cached) == (n, 0)


def test_analysis_settings_leave_descriptors_alone(tmp_path):
    root = make_workflow(tmp_path / "wf", n_structures=16)
    analyses = run(root).jobs["analyse"]
    descriptor_files = sorted((root / "results/m/descriptors").rglob("*.h5"))
    stamps = {p: p.stat().st_mtime_ns for p in descriptor_files}

    set_config(root, edited_config(**{"analysis.thresholds": [0.8, 0.9]}))
    again = run(root)
    assert again.jobs == Counter({"analyse": analyses, "calibrate": 1, "summary": 1, "all": 1}), again.text[-4000:]

    set_config(root, edited_config(**{"analysis.thresholds": [0.8, 0.9], "analysis.estimators": ["TwoNN"]}))
    again = run(root)
    assert again.jobs == Counter({"analyse": analyses, "calibrate": 1, "summary": 1, "all": 1}), again.text[-4000:]
    assert {p: p.stat().st_mtime_ns for p in descriptor_files} == stamps

    # job sizes are not results: more threads per descriptor job rerun nothing
    set_config(root, edited_config(**{"analysis.thresholds": [0.8, 0.9], "analysis.estimators": ["TwoNN"],
                                      "descriptors.threads": 2}))
    assert run(root, "-n").jobs == Counter()
