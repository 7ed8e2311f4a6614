"""Compare two results/ folders of the pipeline file by file, numerically.

    python tests/cluster/compare_results.py LOCAL/results SLURM/results [--rtol 1e-6] [--atol 1e-9]

Both folders must hold the same files.  HDF5 files: every dataset (numbers
within tolerance, strings equal) and attribute; CSV: same columns and rows,
numeric columns within tolerance; JSON (also .json.gz): same structure,
numbers within tolerance; Markdown and text: the same words, numbers within
tolerance; NumPy .npz archives: every array.  Wall-clock timings (JSON keys
and CSV columns named ``seconds``, ``*_seconds``, ``timings_s``) and peak memory
(``peak_memory_mb``) differ between any two runs and are skipped.  Figures (PNG, SVG, HTML) are checked by name only:
their bytes carry dates and renderer ids.  Exit status 1 and one line per
difference otherwise.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import re
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

BY_NAME_ONLY = {".png", ".svg", ".html", ".pdf"}
NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?%?$")


class Diff(Exception):
    pass


def is_timing(name: str) -> bool:
    """A wall-clock measurement, different in every run."""
    name = str(name).lower()
    return (name in ("seconds", "elapsed", "wall_time", "timings", "timings_s", "peak_memory_mb")
            or name.endswith("_seconds") or name.endswith("_time_s"))


def close(a: float, b: float, rtol: float, atol: float) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return math.isclose(a, b, rel_tol=rtol, abs_tol=atol)


def compare_values(a, b, rtol, atol, where=""):
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        if a != b:
            raise Diff(f"{where}: {a!r} != {b!r}")
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if not close(float(a), float(b), rtol, atol):
            raise Diff(f"{where}: {a!r} != {b!r}")
    elif isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            raise Diff(f"{where}: keys differ: {sorted(set(a) ^ set(b))}")
        for k in a:
            if not is_timing(k):
                compare_values(a[k], b[k], rtol, atol, f"{where}/{k}")
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            raise Diff(f"{where}: lengths {len(a)} != {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            compare_values(x, y, rtol, atol, f"{where}[{i}]")
    elif a != b:
        raise Diff(f"{where}: {a!r} != {b!r}")


def compare_arrays(a: np.ndarray, b: np.ndarray, rtol, atol, where):
    if a.shape != b.shape:
        raise Diff(f"{where}: shapes {a.shape} != {b.shape}")
    if a.dtype.kind in "fc" or b.dtype.kind in "fc":
        ok = np.isclose(a.astype(np.float64), b.astype(np.float64), rtol=rtol, atol=atol, equal_nan=True)
        if not ok.all():
            k = np.flatnonzero(~ok.reshape(-1))[0]
            raise Diff(f"{where}: {int((~ok).sum())} of {a.size} values differ, e.g. "
                       f"{a.reshape(-1)[k]!r} != {b.reshape(-1)[k]!r}; max |diff| "
                       f"{np.nanmax(np.abs(a.astype(np.float64) - b.astype(np.float64))):.3g}")
    elif not np.array_equal(a, b):
        raise Diff(f"{where}: values differ")


def _attr(v):
    if isinstance(v, bytes):
        v = v.decode()
    if isinstance(v, str):
        try:
            return json.loads(v)
        except ValueError:
            return v
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    return v


def compare_h5(pa: Path, pb: Path, rtol, atol):
    with h5py.File(pa, "r") as fa, h5py.File(pb, "r") as fb:
        names_a, names_b = [], []
        fa.visit(names_a.append)
        fb.visit(names_b.append)
        if sorted(names_a) != sorted(names_b):
            raise Diff(f"objects differ: {sorted(set(names_a) ^ set(names_b))}")
        for obj_a, obj_b, name in [(fa, fb, "/")] + [(fa[n], fb[n], n) for n in names_a]:
            if set(obj_a.attrs) != set(obj_b.attrs):
                raise Diff(f"{name}: attributes differ")
            for k in (k for k in obj_a.attrs if not is_timing(k)):
                compare_values(_attr(obj_a.attrs[k]), _attr(obj_b.attrs[k]), rtol, atol, f"{name}@{k}")
            if isinstance(obj_a, h5py.Dataset):
                compare_arrays(obj_a[()] if obj_a.shape == () else obj_a[...],
                               obj_b[()] if obj_b.shape == () else obj_b[...], rtol, atol, name)


def compare_csv(pa: Path, pb: Path, rtol, atol):
    a, b = pd.read_csv(pa), pd.read_csv(pb)
    if list(a.columns) != list(b.columns):
        raise Diff(f"columns {list(a.columns)} != {list(b.columns)}")
    if a.shape != b.shape:
        raise Diff(f"shapes {a.shape} != {b.shape}")
    for col in a.columns:
        if is_timing(col):
            continue
        x, y = a[col], b[col]
        if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(x):
            compare_arrays(x.to_numpy(np.float64), y.to_numpy(np.float64), rtol, atol, f"column {col}")
        elif not x.fillna("<NA>").astype(str).equals(y.fillna("<NA>").astype(str)):
            raise Diff(f"column {col} differs")


def compare_npz(pa: Path, pb: Path, rtol, atol):
    with np.load(pa, allow_pickle=False) as za, np.load(pb, allow_pickle=False) as zb:
        if sorted(za.files) != sorted(zb.files):
            raise Diff(f"arrays differ: {sorted(set(za.files) ^ set(zb.files))}")
        for name in za.files:
            x, y = za[name], zb[name]
            if name.endswith("json") and x.dtype.kind in "US" and y.dtype.kind in "US":
                compare_values(json.loads(str(x[()] if x.shape == () else x.item())),
                               json.loads(str(y[()] if y.shape == () else y.item())), rtol, atol, name)
            else:
                compare_arrays(x, y, rtol, atol, name)


def _load_json(p: Path):
    opener = gzip.open if p.suffix == ".gz" else open
    with opener(p, "rt") as fh:
        return json.load(fh)


def _num(tok: str):
    t = tok.rstrip("%")
    return float(t) if NUMBER.match(tok) else None


def compare_text(pa: Path, pb: Path, rtol, atol):
    ta, tb = pa.read_text().split(), pb.read_text().split()
    if len(ta) != len(tb):
        raise Diff(f"{len(ta)} != {len(tb)} words")
    for i, (x, y) in enumerate(zip(ta, tb)):
        if x == y:
            continue
        nx, ny = _num(x.strip("|,;()[]")), _num(y.strip("|,;()[]"))
        if nx is None or ny is None or not close(nx, ny, rtol, atol):
            raise Diff(f"word {i}: {x!r} != {y!r}")


def files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")
            if p.is_file() and not p.name.startswith(".")}


def compare_dirs(a: Path, b: Path, rtol: float = 1e-6, atol: float = 1e-9) -> tuple[list[str], dict]:
    """(differences, counts by kind) between two results folders."""
    fa, fb = files(a), files(b)
    problems = [f"only in {a}: {f}" for f in sorted(fa - fb)] + [f"only in {b}: {f}" for f in sorted(fb - fa)]
    counts: dict[str, int] = {}
    for rel in sorted(fa & fb):
        pa, pb = a / rel, b / rel
        suffixes = "".join(pa.suffixes[-2:]) if pa.name.endswith(".json.gz") else pa.suffix
        try:
            if suffixes in BY_NAME_ONLY:
                kind = "by name"
            elif suffixes == ".h5":
                kind = "hdf5"
                compare_h5(pa, pb, rtol, atol)
            elif suffixes == ".csv":
                kind = "csv"
                compare_csv(pa, pb, rtol, atol)
            elif suffixes == ".npz":
                kind = "npz"
                compare_npz(pa, pb, rtol, atol)
            elif suffixes in (".json", ".json.gz"):
                kind = "json"
                compare_values(_load_json(pa), _load_json(pb), rtol, atol)
            elif suffixes in (".md", ".txt", ".tsv", ".sha256", ".log", ""):
                kind = "text"
                compare_text(pa, pb, rtol, atol)
            else:
                kind = "bytes"
                if pa.read_bytes() != pb.read_bytes():
                    raise Diff("bytes differ")
        except Diff as exc:
            problems.append(f"{rel}: {exc}")
        except Exception as exc:  # unreadable file: a difference too
            problems.append(f"{rel}: {type(exc).__name__}: {exc}")
        counts[kind] = counts.get(kind, 0) + 1
    return problems, counts


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a", type=Path)
    ap.add_argument("b", type=Path)
    ap.add_argument("--rtol", type=float, default=1e-6)
    ap.add_argument("--atol", type=float, default=1e-9)
    args = ap.parse_args(argv)
    for d in (args.a, args.b):
        if not d.is_dir():
            print(f"not a folder: {d}", file=sys.stderr)
            return 2
    problems, counts = compare_dirs(args.a, args.b, args.rtol, args.atol)
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    if problems:
        print(f"{len(problems)} differences ({summary} compared):", file=sys.stderr)
        for p in problems[:50]:
            print("  " + p, file=sys.stderr)
        return 1
    print(f"outputs match: {sum(counts.values())} files ({summary})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
