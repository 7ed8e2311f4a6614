#!/usr/bin/env python
"""Make tests/data/torchani_aev_reference.npz: TorchANI AEVs of real crystals.

Run with an interpreter that has torch + torchani + ase (NOT the project venv):

    python3 -m venv /tmp/ani
    /tmp/ani/bin/pip install torch==2.13.0 torchani ase
    /tmp/ani/bin/python tests/reference/make_torchani_reference.py

See tests/reference/README.md.  The crystals come from ../shared/data (the
HTOCSP experimental benchmark and the ROY landscape of Beran et al.); the
fixture stores everything the test needs (cell, positions, numbers, centres,
AEVs), so the test does not need shared/ or TorchANI.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import numpy as np
import torch
import torchani
from ase.db import connect
from ase.io import read

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DATA = REPO.parent / "shared" / "data"
OUT = REPO / "tests" / "data" / "torchani_aev_reference.npz"

SPECIES = {"ani1x": ("H", "C", "N", "O"), "ani2x": ("H", "C", "N", "O", "S", "F", "Cl")}
# benchmark.db row ids: FORMAM (CHNO, Z=4), UREAOX-like 16-atom CHNO cell, oxalic-acid-like
# C4H4O8, a C Cl H N O S crystal, a fluorinated one
BENCHMARK_IDS = {"formam": 1, "bm093": 93, "bm091": 91, "bm030": 30, "bm053": 53}
MAX_CENTRES = 12


def computer(preset: str):
    make = torchani.aev.AEVComputer.like_1x if preset == "ani1x" else torchani.aev.AEVComputer.like_2x
    # 'all_pairs' is TorchANI's reference neighbour list; it supports PBC and
    # maps the positions into the cell itself
    return make(neighborlist="all_pairs").to(torch.float64)


def torchani_aev(atoms, preset: str) -> np.ndarray:
    comp = computer(preset)
    spec = SPECIES[preset]
    idx = torch.tensor([[spec.index(s) for s in atoms.get_chemical_symbols()]], dtype=torch.long)
    pos = torch.tensor(atoms.positions[None], dtype=torch.float64)
    cell = torch.tensor(np.asarray(atoms.cell), dtype=torch.float64)
    pbc = torch.tensor([True, True, True])
    with torch.no_grad():
        return comp(idx, pos, cell, pbc)[0].numpy().astype(np.float64)


def pick_centres(numbers: np.ndarray, k: int = MAX_CENTRES) -> np.ndarray:
    """Up to k atoms, round-robin over the elements present (all species covered)."""
    by_el = {z: list(np.flatnonzero(numbers == z)) for z in sorted(set(numbers.tolist()))}
    out: list[int] = []
    while len(out) < min(k, len(numbers)):
        for z in by_el:
            if by_el[z] and len(out) < k:
                out.append(int(by_el[z].pop(0)))
    return np.array(sorted(out), dtype=np.int64)


def crystals():
    db = connect(DATA / "exp-htocsp-benchmark100" / "benchmark.db")
    for name, rid in BENCHMARK_IDS.items():
        row = db.get(id=rid)
        yield name, row.toatoms(), f"benchmark.db id {rid} ({row.get('csd_code', '?')})"
    roy = read(DATA / "roy-beran2022" / "beran_roy_structures.xyz.bz2", index=0)
    yield "roy0", roy, "beran_roy_structures.xyz.bz2 frame 0"
    # the FORMAM crystal in a strongly skewed but equivalent basis, positions unwrapped
    at = db.get(id=1).toatoms()
    T = np.array([[1, 2, 0], [0, 1, 0], [-1, 1, 1]])  # unimodular, det +1
    sk = at.copy()
    sk.set_cell(T @ np.asarray(at.cell), scale_atoms=False)
    sk.positions = at.positions + np.array([0.37, -1.9, 2.6])
    yield "formam_skewed", sk, "FORMAM, basis T=[[1,2,0],[0,1,0],[-1,1,1]], origin shifted"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    torch.set_num_threads(1)
    arrays: dict[str, np.ndarray] = {}
    meta = {"torch": torch.__version__, "torchani": torchani.__version__, "python": platform.python_version(),
            "dtype": "float64", "neighborlist": "all_pairs", "crystals": {}}
    for name, atoms, source in crystals():
        symbols = set(atoms.get_chemical_symbols())
        numbers = atoms.numbers.astype(np.int64)
        centres = pick_centres(numbers)
        arrays[f"{name}__cell"] = np.asarray(atoms.cell, dtype=np.float64)
        arrays[f"{name}__positions"] = atoms.positions.astype(np.float64)
        arrays[f"{name}__numbers"] = numbers
        arrays[f"{name}__centres"] = centres
        presets = [p for p in ("ani1x", "ani2x") if symbols <= set(SPECIES[p])]
        for preset in presets:
            arrays[f"{name}__aev_{preset}"] = torchani_aev(atoms, preset)[centres]
        meta["crystals"][name] = {"source": source, "n_atoms": len(atoms), "presets": presets,
                                  "formula": atoms.get_chemical_formula()}
        print(f"{name:14s} {len(atoms):4d} atoms {atoms.get_chemical_formula():16s} {presets}")
    arrays["meta"] = np.array(json.dumps(meta))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
