"""The bad-input corpus (tests/bad_input_corpus.py) through ``latentcsp ingest``: every outcome as written beside it.

One landscape holds every kind with good structures mixed in; it runs as
the command a workflow runs, in its own process, so that a crash is a
failure and not the end of the test session.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pytest
from bad_input_corpus import KEPT, KINDS, write_corpus

from latentcsp.io import expand_source

FORMATS = {"res", "cif", "extxyz", "ase-db", "chemiscope"}


def _match(wanted: list[str], got: list[str]) -> list[str]:
    """What of ``wanted`` finds no distinct record in ``got`` (KEPT, or words contained in a reason)."""
    left, missing = list(got), []
    for want in wanted:
        hit = next((g for g in left if (g == KEPT if want == KEPT else g != KEPT and want in g)), None)
        if hit is None:
            missing.append(want)
        else:
            left.remove(hit)
    return missing


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    folder = root / "landscape"
    folder.mkdir()
    expected = write_corpus(folder)
    spec = {"source": str(folder), "energies": str(root / "energies.csv")}
    proc = subprocess.run([sys.executable, "-m", "latentcsp.cli", "ingest", "--name", "corpus", "--spec",
                           json.dumps(spec), "--outdir", str(root / "out")], capture_output=True, text=True,
                          timeout=600)
    return folder, expected, proc, root / "out"


def test_the_corpus_has_forty_kinds_over_the_five_formats():
    assert len(KINDS) >= 40 and {k.fmt for k in KINDS} == FORMATS
    assert all(sum(k.fmt == f for k in KINDS) >= 5 for f in FORMATS)


def test_every_good_structure_is_kept_and_every_bad_one_quarantined_with_its_reason(corpus_run):
    folder, expected, proc, out = corpus_run
    assert proc.returncode == 0, proc.stderr
    manifest = pd.read_csv(out / "manifest.csv", dtype={"id": str})
    quarantine = pd.read_csv(out / "quarantine.csv", dtype={"id": str}, keep_default_na=False)
    got = defaultdict(list)
    for source, ident in zip(manifest.source, manifest.id):
        got[(Path(source).name, ident)].append(KEPT)
    for source, ident, reason in zip(quarantine.source, quarantine.id, quarantine.reason):
        got[(Path(source).name, ident or None)].append(reason)
    problems = {}
    for key, want in expected.items():
        missing = _match(want if isinstance(want, list) else [want], got.pop(key, []))
        if missing:
            problems[key] = missing
    assert not problems, problems
    assert not got, f"records no kind expects: {dict(got)}"
    kept = sum(w.count(KEPT) if isinstance(w, list) else w == KEPT for w in expected.values())
    assert len(manifest) == kept >= 30
    assert manifest.rel_energy.min() == 0 and manifest.rel_energy.max() < 10  # no outlier moved the zero


def test_every_file_of_the_source_is_in_the_manifest_or_the_quarantine(corpus_run):
    folder, _, proc, out = corpus_run
    files = {str(Path(p).resolve()) for p in expand_source(folder)}
    manifest = pd.read_csv(out / "manifest.csv")
    quarantine = pd.read_csv(out / "quarantine.csv")
    accounted = {str(Path(p).resolve()) for p in pd.concat([manifest.source, quarantine.source])}
    assert files == accounted
    assert len(files) >= 60
    assert f"read {len(manifest) + len(quarantine)}, kept {len(manifest)}" in proc.stderr
