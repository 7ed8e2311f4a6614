"""compare_results.py finds what differs between two results folders, and only that."""

import json

import h5py
import numpy as np
import pandas as pd
from cluster.compare_results import compare_dirs


def _results(root, x=1.0, seconds=1.0, extra=False):
    (root / "a").mkdir(parents=True)
    with h5py.File(root / "a" / "m.h5", "w") as h5:
        h5["X"] = np.array([[1.0, 2.0], [3.0, x]], dtype="f4")
        h5["ids"] = np.array(["s1", "s2"], dtype=object).astype(h5py.string_dtype())
        h5.attrs["record"] = json.dumps({"eta": [x, 2.0]})
    pd.DataFrame({"id": ["s1", "s2"], "PC1": [0.5, x], "fit_seconds": [seconds, 2.0]}).to_csv(root / "a" / "t.csv",
                                                                                          index=False)
    (root / "a" / "p.json").write_text(json.dumps({"n80": 3, "ev": [x, 0.1], "timings_s": {"fit": seconds}}))
    (root / "a" / "s.md").write_text(f"| group | d |\n| all | {x:.3f} |\n")
    (root / "a" / "f.png").write_bytes(bytes([int(seconds) % 256]))
    np.savez(root / "a" / "w.npz", W=np.array([x, 1.0]))
    if extra:
        (root / "a" / "more.csv").write_text("a\n1\n")
    return root


def test_equal_up_to_timings_and_tolerance(tmp_path):
    a = _results(tmp_path / "a")
    b = _results(tmp_path / "b", x=1.0 + 1e-9, seconds=7.0)
    problems, counts = compare_dirs(a, b)
    assert problems == []
    assert counts == {"hdf5": 1, "csv": 1, "json": 1, "text": 1, "by name": 1, "npz": 1}


def test_every_kind_of_difference_is_reported(tmp_path):
    a = _results(tmp_path / "a")
    b = _results(tmp_path / "b", x=1.5, extra=True)
    problems, _ = compare_dirs(a, b)
    text = "\n".join(problems)
    for name in ("m.h5", "t.csv", "p.json", "s.md", "w.npz", "only in"):
        assert name in text, text
    assert "f.png" not in text
