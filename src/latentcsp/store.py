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
from typing import TYPE_CHECKING, Iterator

import h5py
import numpy as np

if TYPE_CHECKING:
    import pandas as pd  # imported where a table is read: a skipped group's job does without it

MANIFEST_COLUMNS = [
    "id", "source", "energy", "rel_energy", "spacegroup_number", "spacegroup",
    "spacegroup_stated", "z", "zprime", "site_symmetry", "density", "n_atoms", "hash",
]
QUARANTINE_COLUMNS = ["source", "id", "line", "reason"]
SOURCES_COLUMNS = ["path", "bytes"]  # sources.csv: the files a landscape is read from
#: layout tag of structures.h5 (2: per-atom orbits added); the ingest rule reruns when it changes
STRUCTURES_LAYOUT = "latentcsp.structures/2"
#: The tables of a group's analysis and latent outputs (a skipped group writes them empty).
SCORES_COLUMNS = ["id", "rel_energy", "density", "spacegroup", "PC1", "PC2", "local_id", "known"]
SWEEP_COLUMNS = ["width", "fold", "ae_mse", "pca_mse", "null_mse"]
COORDINATES_COLUMNS = ["id", "rel_energy", "density"]  # then the encoded coordinates


class AtomicFile:
    """A temporary file beside ``path`` (``tmp``) that :meth:`commit` renames onto ``path``.

    Every writer of the package goes through it (or :func:`atomic_path`), so a
    killed job never leaves a file that looks complete.  :meth:`discard`
    removes the temporary file if it is still there.
    """

    def __init__(self, path: str | os.PathLike, suffix: str = ""):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, self.tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=suffix or ".tmp", dir=self.path.parent)
        os.close(fd)

    def commit(self) -> None:
        os.chmod(self.tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual permissions
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        if os.path.exists(self.tmp):
            os.unlink(self.tmp)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[str]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success (:class:`AtomicFile`)."""
    file = AtomicFile(path, suffix)
    try:
        yield file.tmp
        file.commit()
    finally:
        file.discard()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_csv(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a table atomically."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


def write_skipped(outdir: str | os.PathLike, key: dict, reason: str, jsons: list[str],
                  tables: dict[str, list[str]]) -> None:
    """The outputs of a group a stage does not analyse, written at once (no pandas, no plots):
    each of ``jsons`` holds the key, the status "skipped" and the reason; each of ``tables``
    (file name -> columns) is an empty table with its header."""
    outdir = Path(outdir)
    for name in jsons:
        write_json({"key": key, "status": "skipped", "reason": reason}, outdir / name)
    for name, columns in tables.items():
        with atomic_path(outdir / name) as tmp:
            Path(tmp).write_text(",".join(columns) + "\n")


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


class StructureWriter:
    """Appends crystals to a ``structures.h5`` written beside ``path``, renamed into place by
    :meth:`close` (a context manager: an error removes the temporary file).  Memory holds
    one appended batch at a time."""

    ATOM_DATASETS = {"numbers": np.int16, "positions": np.float64, "mol_id": np.int32, "canonical": np.int32,
                     "orbit": np.int32}

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = AtomicFile(self.path, ".h5")
        self.h5 = h5py.File(self.file.tmp, "w")
        self.h5.attrs["layout"] = STRUCTURES_LAYOUT
        str_dt = h5py.string_dtype()
        grow = dict(maxshape=(None,), chunks=(4096,))
        self.h5.create_dataset("ids", (0,), dtype=str_dt, **grow)
        self.h5.create_dataset("hash", (0,), dtype=str_dt, **grow)
        self.h5.create_dataset("cell", (0, 3, 3), dtype=np.float64, maxshape=(None, 3, 3), chunks=(1024, 3, 3))
        self.h5.create_dataset("atom_offsets", data=np.zeros(1, dtype=np.int64), **grow)
        for name, dtype in self.ATOM_DATASETS.items():
            shape = (0, 3) if name == "positions" else (0,)
            self.h5.create_dataset(name, shape, dtype=dtype, maxshape=(None,) + shape[1:],
                                   chunks=(16384,) + shape[1:])
        self.count = 0

    def append(self, crystals) -> None:
        """Append crystals (objects with the fields of :class:`latentcsp.structure.crystal.Crystal`)."""
        if not crystals:
            return
        self.append_arrays([c.id for c in crystals], [c.hash for c in crystals], [c.cell for c in crystals],
                           [c.n_atoms for c in crystals], *(np.concatenate([getattr(c, f) for c in crystals])
                                                          for f in ("numbers", "positions", "mol_ids", "canonical",
                                                                    "orbit")))

    def append_arrays(self, ids, hashes, cells, counts, numbers, positions, mol_id, canonical, orbit) -> None:
        """Append structures given as the file's own arrays (``counts``: atoms per structure)."""
        k = len(ids)
        for name, values in (("ids", np.asarray(ids, dtype=object)), ("hash", np.asarray(hashes, dtype=object)),
                             ("cell", np.asarray(cells, dtype=np.float64).reshape(-1, 3, 3))):
            self._extend(name, values)
        offsets = self.h5["atom_offsets"]
        self._extend("atom_offsets", offsets[-1] + np.cumsum(np.asarray(counts, dtype=np.int64)))
        for name, values in zip(self.ATOM_DATASETS, (numbers, positions, mol_id, canonical, orbit)):
            self._extend(name, np.asarray(values, dtype=self.ATOM_DATASETS[name]))
        self.count += k

    def _extend(self, name: str, values: np.ndarray) -> None:
        ds = self.h5[name]
        n = ds.shape[0]
        ds.resize(n + len(values), axis=0)
        ds[n:] = values

    def close(self) -> None:
        self.h5.close()
        self.file.commit()

    def abort(self) -> None:
        if self.h5.id.valid:
            self.h5.close()
        self.file.discard()

    def __enter__(self) -> "StructureWriter":
        return self

    def __exit__(self, kind, *exc) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


def write_structures(crystals, path: str | os.PathLike) -> None:
    """Write crystals (objects with the fields of :class:`latentcsp.structure.crystal.Crystal`)."""
    with StructureWriter(path) as writer:
        writer.append(list(crystals))


def copy_structures(src: str | os.PathLike, dst: str | os.PathLike, order, chunk: int = 512) -> None:
    """Write the structures ``order`` (indices) of ``src`` to ``dst``, in that order, ``chunk`` at a time."""
    order = np.asarray(order, dtype=np.int64)
    with h5py.File(src, "r") as h5, StructureWriter(dst) as writer:
        offsets = h5["atom_offsets"][:]
        ids, hashes, cells = h5["ids"].asstr()[:], h5["hash"].asstr()[:], h5["cell"]
        atoms = [h5[name] for name in StructureWriter.ATOM_DATASETS]
        for lo in range(0, len(order), chunk):
            part = order[lo:lo + chunk]
            spans = [slice(offsets[s], offsets[s + 1]) for s in part]
            columns = [np.concatenate([ds[span] for span in spans]) for ds in atoms]
            writer.append_arrays(ids[part], hashes[part], np.stack([cells[s] for s in part]), np.diff(offsets)[part],
                                 *columns)


def read_structures(path: str | os.PathLike, ids=None) -> StructureSet:
    """Read a ``structures.h5`` file: every structure, or only the structures ``ids``, in that order.

    With ``ids`` only their rows are read (in slabs, :func:`read_rows`), so memory grows with the
    structures asked for, plus the file's ids and atom offsets (a few bytes per stored structure).
    Raises KeyError naming the file and the missing ids.
    """
    with h5py.File(path, "r") as h5:
        if "orbit" not in h5:
            raise ValueError(f"{path}: layout {h5.attrs.get('layout')!r} has no atom orbits "
                             f"(written before {STRUCTURES_LAYOUT}): rerun the ingest")
        if ids is None:
            return StructureSet(
                ids=h5["ids"].asstr()[:], hashes=h5["hash"].asstr()[:], cell=h5["cell"][:],
                atom_offsets=h5["atom_offsets"][:], numbers=h5["numbers"][:].astype(np.int64),
                positions=h5["positions"][:], mol_id=h5["mol_id"][:].astype(np.int64),
                canonical=h5["canonical"][:].astype(np.int64), orbit=h5["orbit"][:].astype(np.int64),
            )
        ids = [str(k) for k in ids]
        where = {k: n for n, k in enumerate(h5["ids"].asstr()[:])}
        missing = [k for k in ids if k not in where]
        if missing:
            raise KeyError(f"{path}: {len(missing)} of {len(ids)} structures are not in the store, "
                           f"e.g. {missing[:3]}")
        rows = np.unique(np.array([where[k] for k in ids], dtype=np.int64))
        offsets = h5["atom_offsets"][:]
        counts = offsets[rows + 1] - offsets[rows]
        firsts = np.r_[0, np.cumsum(counts)]
        atoms = np.repeat(offsets[rows] - firsts[:-1], counts) + np.arange(firsts[-1])
        stored = StructureSet(
            ids=read_rows(h5["ids"].asstr(), rows), hashes=read_rows(h5["hash"].asstr(), rows),
            cell=read_rows(h5["cell"], rows), atom_offsets=firsts,
            numbers=read_rows(h5["numbers"], atoms).astype(np.int64), positions=read_rows(h5["positions"], atoms),
            mol_id=read_rows(h5["mol_id"], atoms).astype(np.int64),
            canonical=read_rows(h5["canonical"], atoms).astype(np.int64),
            orbit=read_rows(h5["orbit"], atoms).astype(np.int64),
        )
    return stored.subset(ids)


def read_structure_ids(path: str | os.PathLike) -> np.ndarray:
    """The ids of a ``structures.h5`` file (N,) str, in store order (the lowest energy first)."""
    with h5py.File(path, "r") as h5:
        return h5["ids"].asstr()[:]


def read_rows(dataset, rows: np.ndarray, block: int = 1 << 16) -> np.ndarray:
    """``dataset[rows]`` for increasing ``rows`` (an HDF5 dataset or anything sliced alike), reading one
    contiguous slab of at most ``block`` rows at a time and keeping only the rows asked for."""
    rows = np.asarray(rows, dtype=np.int64)
    parts, k = [], 0
    while k < len(rows):
        start = rows[k]
        end = int(np.searchsorted(rows, start + block))
        slab = dataset[start:rows[end - 1] + 1]
        parts.append(np.asarray(slab)[rows[k:end] - start])
        k = end
    if parts:
        return np.concatenate(parts)
    empty = dataset[0:0]
    return np.asarray(empty)


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


def job_record(start: float) -> dict:
    """What a job cost: wall seconds since ``start`` (``time.perf_counter()``) and the peak
    resident memory of this process so far (MB); every stage's output JSON carries it as ``job``."""
    import resource
    import time

    return {"seconds": round(time.perf_counter() - start, 2),
            "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def read_json(path: str | os.PathLike) -> dict:
    """A JSON output of a stage."""
    import json

    return json.loads(Path(path).read_text())


def read_groups(path: str | os.PathLike) -> pd.DataFrame:
    """A landscape's ``groups.csv`` (window, group, spacegroup_number, id), names as strings."""
    import pandas as pd

    return pd.read_csv(path, dtype={"window": str, "group": str, "spacegroup_number": int, "id": str},
                       keep_default_na=False)


def read_manifest(path: str | os.PathLike) -> pd.DataFrame:
    """A landscape's manifest, ids as strings."""
    import pandas as pd

    return pd.read_csv(path, dtype={"id": str, "spacegroup_stated": str, "hash": str, "site_symmetry": str}, keep_default_na=False,
                       na_values={"energy": [""], "rel_energy": [""]})


def read_matrix(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, dict]:
    """(ids (N,), X (N, D) float32, parameter record) of a descriptor file
    (``results/{landscape}/descriptors/{set}/{spacegroup}.h5``)."""
    import json

    with h5py.File(path, "r") as h5:
        return h5["ids"].asstr()[:], h5["X"][:], json.loads(h5.attrs["record"])


REFERENCES_LAYOUT = "latentcsp.references/1"


def write_references(path: str | os.PathLike, sets: list[dict]) -> None:
    """Write generated reference ensembles (``references.h5``), one HDF5 group per space group.

    Each item of ``sets``: ``spacegroup`` (number), ``names`` (DoF names), ``base`` (n_dof,),
    optionally ``base_origin`` (where the base packing came from, in words), ``ensembles`` (list of dicts with ``free``, ``scheme``, ``amplitude``, ``sequence``) and
    ``thetas`` (one (n_k, n_dof) array of DoF vectors per ensemble).
    """
    import json

    with atomic_path(path, ".h5") as tmp, h5py.File(tmp, "w") as h5:
        h5.attrs["layout"] = REFERENCES_LAYOUT
        for item in sets:
            g = h5.create_group(f"sg{int(item['spacegroup'])}")
            g.attrs["spacegroup"] = int(item["spacegroup"])
            g.attrs["names"] = json.dumps(list(item["names"]))
            g["base"] = np.asarray(item["base"], dtype=float)
            if "base_origin" in item:
                g.attrs["base_origin"] = item["base_origin"]
            for k, (ens, thetas) in enumerate(zip(item["ensembles"], item["thetas"])):
                d = g.create_dataset(f"e{k:04d}", data=np.asarray(thetas, dtype=float).reshape(-1, len(item["names"])))
                d.attrs["ensemble"] = json.dumps(ens)


def read_references(path: str | os.PathLike) -> list[dict]:
    """The reference ensembles written by :func:`write_references`, in the same form."""
    import json

    out = []
    with h5py.File(path, "r") as h5:
        if h5.attrs.get("layout") != REFERENCES_LAYOUT:
            raise ValueError(f"{path}: layout {h5.attrs.get('layout')!r}, expected {REFERENCES_LAYOUT}")
        for name in sorted(h5):
            g = h5[name]
            keys = sorted(k for k in g if k.startswith("e"))
            out.append({"spacegroup": int(g.attrs["spacegroup"]), "names": json.loads(g.attrs["names"]),
                        "base": g["base"][:], "ensembles": [json.loads(g[k].attrs["ensemble"]) for k in keys],
                        "thetas": [g[k][:] for k in keys]}
                       | ({"base_origin": str(g.attrs["base_origin"])} if "base_origin" in g.attrs else {}))
    return out
