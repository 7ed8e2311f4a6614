"""Extended XYZ landscapes (one frame per crystal), optionally bz2/gz compressed.

Energy from the frame's info dict (``energy``) or its calculator; space group
from ``info['spacegroup']``; the id from ``info['name']`` (or ``id``), else
``<file stem>-<frame index>``.  Other scalar info entries are kept as
properties.
"""

from __future__ import annotations

import bz2
import gzip
import io
from pathlib import Path
from typing import Iterator

import numpy as np
from ase.io.extxyz import read_xyz

from . import RawStructure, Rejected, register

_SKIP = {"energy", "spacegroup", "name", "id", "pbc", "unit_cell"}


def _open_text(path: str) -> io.TextIOBase:
    if path.endswith(".bz2"):
        return bz2.open(path, "rt")
    if path.endswith(".gz"):
        return gzip.open(path, "rt")
    return open(path, "rt")


def _stem(path: str) -> str:
    name = Path(path).name
    for ending in (".bz2", ".gz", ".extxyz", ".xyz"):
        name = name.removesuffix(ending)
    return name


def _energy(atoms) -> float | None:
    if "energy" in atoms.info:
        return float(atoms.info["energy"])
    if atoms.calc is not None:
        try:
            return float(atoms.get_potential_energy())
        except Exception:
            return None
    return None


@register("extxyz")
def read_extxyz(path: str) -> Iterator[RawStructure | Rejected]:
    """Yield every frame of an extended XYZ file."""
    with _open_text(path) as handle:
        text = handle.read()
    if not text.strip():
        yield Rejected(path, None, "empty file")
        return
    frames = read_xyz(io.StringIO(text), index=slice(None))
    stem = _stem(path)
    index = -1
    while True:
        index += 1
        try:
            atoms = next(frames)
        except StopIteration:
            return
        except Exception as exc:
            yield Rejected(path, f"{stem}-{index}", f"unreadable frame: {exc}")
            return
        ident = str(atoms.info.get("name", atoms.info.get("id", f"{stem}-{index}")))
        if not atoms.cell.rank == 3:
            yield Rejected(path, ident, "frame has no 3-d lattice")
            continue
        props = {k: v for k, v in atoms.info.items() if k not in _SKIP and np.ndim(v) == 0}
        sg = atoms.info.get("spacegroup")
        yield RawStructure(
            id=ident,
            source=path,
            cell=np.array(atoms.cell[:], dtype=float),
            positions=atoms.get_positions(),
            numbers=atoms.get_atomic_numbers(),
            energy=_energy(atoms),
            spacegroup=None if sg is None else str(sg),
            properties=props,
        )
