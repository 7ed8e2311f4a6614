"""HDF5 and CSV layouts of a landscape on disk, written atomically.

``structures.h5`` holds the crystals of one landscape with atoms ragged:

==================  ============  ==============================================
dataset             shape         meaning
==================  ============  ==============================================
ids                 (N,) str      structure ids, manifest order
hash                (N,) str      content hashes
cell                (N, 3, 3) f8  lattice vectors as rows, Å
atom_offsets        (N+1,) i8     atoms of structure s are offsets[s]:offsets[s+1]
numbers             (A,) i2       atomic numbers
positions           (A, 3) f8     Cartesian positions, Å, molecules whole
mol_id              (A,) i4       molecule index within its structure
canonical           (A,) i4       index in the reference molecule for atoms of
                                  symmetry-independent molecules, else -1
orbit               (A,) i4       where canonical is set, the orbit of that
                                  reference atom under the molecule graph's
                                  automorphisms, else -1
==================  ============  ==============================================

Every writer goes to a temporary file in the same folder and renames it into
place, so a killed job never leaves a file that looks complete.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import h5py
import numpy as np
import pandas as pd

MANIFEST_COLUMNS = [
    "id", "source", "energy", "rel_energy", "spacegroup_number", "spacegroup",
    "spacegroup_stated", "z", "zprime", "site_symmetry", "density", "n_atoms", "hash",
]
QUARANTINE_COLUMNS = ["source", "id", "line", "reason"]
#: layout tag of structures.h5 (2: per-atom orbits added); the ingest rule reruns when it changes
STRUCTURES_LAYOUT = "latentcsp.structures/2"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[str]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or ".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_csv(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a table atomically."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


@dataclass
class StructureSet:
    """The crystals of a landscape as flat arrays (see module docstring)."""

    ids: np.ndarray
    hashes: np.ndarray
    cell: np.ndarray
    atom_offsets: np.ndarray
    numbers: np.ndarray
    positions: np.ndarray
    mol_id: np.ndarray
    canonical: np.ndarray
    orbit: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def atoms_of(self, s: int) -> slice:
        return slice(int(self.atom_offsets[s]), int(self.atom_offsets[s + 1]))

    def subset(self, ids) -> "StructureSet":
        """The structures named by ``ids``, in that order."""
        where = {k: n for n, k in enumerate(self.ids)}
        missing = [k for k in ids if k not in where]
        if missing:
            raise KeyError(f"{len(missing)} ids not in the store, e.g. {missing[:3]}")
        index = [where[k] for k in ids]
        parts = [self.atoms_of(s) for s in index]
        counts = np.array([p.stop - p.start for p in parts], dtype=np.int64)
        take = np.concatenate([np.arange(p.start, p.stop) for p in parts]) if parts else np.zeros(0, int)
        return StructureSet(
            ids=self.ids[index], hashes=self.hashes[index], cell=self.cell[index],
            atom_offsets=np.r_[0, np.cumsum(counts)], numbers=self.numbers[take],
            positions=self.positions[take], mol_id=self.mol_id[take], canonical=self.canonical[take],
            orbit=self.orbit[take],
        )


def write_structures(crystals, path: str | os.PathLike) -> None:
    """Write crystals (objects with the fields of :class:`latentcsp.structure.Crystal`)."""
    counts = np.array([c.n_atoms for c in crystals], dtype=np.int64)
    str_dt = h5py.string_dtype()
    cat = (lambda xs, shape: np.concatenate(xs) if xs else np.zeros(shape))
    with atomic_path(path, ".h5") as tmp, h5py.File(tmp, "w") as h5:
        h5.attrs["layout"] = STRUCTURES_LAYOUT
        h5["ids"] = np.array([c.id for c in crystals], dtype=object).astype(str_dt)
        h5["hash"] = np.array([c.hash for c in crystals], dtype=object).astype(str_dt)
        h5["cell"] = np.array([c.cell for c in crystals]).reshape(-1, 3, 3)
        h5["atom_offsets"] = np.r_[0, np.cumsum(counts)]
        h5["numbers"] = cat([c.numbers for c in crystals], (0,)).astype(np.int16)
        h5["positions"] = cat([c.positions for c in crystals], (0, 3))
        h5["mol_id"] = cat([c.mol_ids for c in crystals], (0,)).astype(np.int32)
        h5["canonical"] = cat([c.canonical for c in crystals], (0,)).astype(np.int32)
        h5["orbit"] = cat([c.orbit for c in crystals], (0,)).astype(np.int32)


def read_structures(path: str | os.PathLike) -> StructureSet:
    """Read a ``structures.h5`` file completely."""
    with h5py.File(path, "r") as h5:
        if "orbit" not in h5:
            raise ValueError(f"{path}: layout {h5.attrs.get('layout')!r} has no atom orbits "
                             f"(written before {STRUCTURES_LAYOUT}): rerun the ingest")
        return StructureSet(
            ids=h5["ids"].asstr()[:], hashes=h5["hash"].asstr()[:], cell=h5["cell"][:],
            atom_offsets=h5["atom_offsets"][:], numbers=h5["numbers"][:].astype(np.int64),
            positions=h5["positions"][:], mol_id=h5["mol_id"][:].astype(np.int64),
            canonical=h5["canonical"][:].astype(np.int64), orbit=h5["orbit"][:].astype(np.int64),
        )


def write_json(obj: dict, path: str | os.PathLike) -> None:
    """JSON, atomically (numpy scalars and arrays as plain numbers and lists)."""
    import json

    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(obj, indent=1, default=_plain))


def _plain(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(f"not JSON serialisable: {type(x)}")


def read_json(path: str | os.PathLike) -> dict:
    """A JSON output of a stage."""
    import json

    return json.loads(Path(path).read_text())


def read_groups(path: str | os.PathLike) -> pd.DataFrame:
    """A landscape's ``groups.csv`` (window, group, spacegroup_number, id), names as strings."""
    return pd.read_csv(path, dtype={"window": str, "group": str, "spacegroup_number": int, "id": str},
                       keep_default_na=False)


def read_manifest(path: str | os.PathLike) -> pd.DataFrame:
    """A landscape's manifest, ids as strings."""
    return pd.read_csv(path, dtype={"id": str, "spacegroup_stated": str, "hash": str, "site_symmetry": str}, keep_default_na=False,
                       na_values={"energy": [""], "rel_energy": [""]})


def read_matrix(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, dict]:
    """(ids (N,), X (N, D) float32, parameter record) of a descriptor file
    (``results/{landscape}/descriptors/{set}/{spacegroup}.h5``)."""
    import json

    with h5py.File(path, "r") as h5:
        return h5["ids"].asstr()[:], h5["X"][:], json.loads(h5.attrs["record"])
