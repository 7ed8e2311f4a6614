"""Per-structure descriptor vectors of a structure group: pooling, cache, MPI, HDF5.

In the ``intermolecular`` mode only the centre's own molecule instance is
left out (its periodic images are other molecules of the crystal and count).
Only the atoms of one representative molecule per symmetry-independent
molecule are centres (Z/Z' times less work than the whole cell); their
neighbours are every atom of the crystal.  Per-atom vectors are pooled into
one vector per structure, the same length for every structure of a landscape:

* ``atoms``: rows in the canonical atom order of the landscape's molecule
  (found by graph matching at ingest), concatenated.  Atoms that the
  molecule's graph automorphisms map onto each other (an orbit: BDT's
  two-fold, a methyl's H, a nitro group's O) are equivalent, and which of
  their labellings the ingest chose is arbitrary; so within each orbit every
  feature is sorted over the orbit's atoms (elementwise sort).  The vector
  then does not depend on that choice and changes continuously with the
  geometry (piecewise linearly: a kink where two atoms' values cross), and it
  keeps every value and its length n_atoms x F.  (The orbit average would be
  smooth but would discard the spread within each orbit.)  For Z' > 1 each
  independent molecule is sorted so, then the molecules are averaged slot by
  slot.
* ``elements``: the mean vector over centre atoms of each element, in the
  parameter set's species order (elements absent from the molecule left out).
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from ..store import AtomicFile, StructureSet, job_record
from . import aev_arrays, get_params
from .cache import DescriptorCache

POOLINGS = ("atoms", "elements")
#: layout tag of the descriptor matrices (2: atoms sorted within orbits); the rule reruns when it changes
DESCRIPTORS_LAYOUT = "latentcsp.descriptors/2"
CHUNK_BYTES = 4 << 20  # HDF5 chunk size (27 MB chunks, 256 rows of ROY atoms pooling, wrote 4x slower)


@dataclass(frozen=True)
class DescriptorSet:
    """A named descriptor recipe from config: parameters, neighbour mode, pooling."""

    name: str
    preset: str | dict = "ani2x"
    neighbours: str = "all"
    pooling: str = "atoms"

    def __post_init__(self):
        if self.pooling not in POOLINGS:
            raise ValueError(f"descriptor set {self.name}: pooling must be one of {POOLINGS}, got {self.pooling!r}")

    @property
    def params(self):
        return get_params(self.preset)

    def record(self) -> dict:
        """The full parameter record stored with every matrix."""
        return {"name": self.name, "neighbours": self.neighbours, "pooling": self.pooling,
                "params": self.params.to_dict(), "params_hash": self.params.hash()}

    def key(self) -> str:
        """Hash of everything that changes the per-atom numbers (not the pooling)."""
        text = json.dumps([self.params.hash(), self.neighbours])
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def geometry_key(cell: np.ndarray, positions: np.ndarray, numbers: np.ndarray, canonical: np.ndarray,
                 orbit: np.ndarray) -> str:
    """An exact name for one stored crystal, its atom order and orbits (1e-6 Å rounding).

    Stricter than the ingest's content hash, which rounds coordinates and so
    merges near-duplicates: cached rows must belong to this very geometry, and
    they are sorted within the orbits, so those are part of the name too.
    """
    h = hashlib.sha256()
    for arr in (np.round(cell, 6), np.round(positions, 6), numbers.astype(np.int64), canonical.astype(np.int64),
                orbit.astype(np.int64)):
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()[:32]


def molecule_rows(structures: StructureSet, s: int, params, neighbours: str, orbits: list[np.ndarray],
                  scratch: dict | None = None) -> np.ndarray:
    """Per-atom AEVs of structure ``s``'s independent molecules in canonical order, sorted within orbits.

    Each feature is sorted over the atoms of each orbit (``orbits``: the
    canonical indices of each orbit of two or more atoms, see
    :func:`orbit_members`), molecule by molecule, then the independent
    molecules are averaged when Z' > 1.  Returns (n_molecule_atoms,
    n_features) float64.  ``scratch``: a dict of per-atom buffers by centre
    count, reused from call to call.
    """
    part = structures.atoms_of(s)
    numbers, canonical = structures.numbers[part], structures.canonical[part]
    centres = np.flatnonzero(canonical >= 0)
    whole = np.zeros((len(numbers), 3), dtype=np.int64)  # stored molecules are already whole
    buf = None
    if scratch is not None:
        buf = scratch.get(len(centres))
        if buf is None:
            buf = scratch[len(centres)] = np.empty((len(centres), params.n_features))
    rows = aev_arrays(structures.cell[s], structures.positions[part], params.species_index(numbers),
                      structures.mol_id[part], centres, params, neighbours, mol_shifts=whole, out=buf)
    molecule = np.unique(structures.mol_id[part][centres], return_inverse=True)[1]  # 0 .. Z'-1
    stack = np.zeros((molecule.max() + 1, int(canonical.max()) + 1, rows.shape[1]))
    stack[molecule, canonical[centres]] = rows
    for members in orbits:
        stack[:, members] = np.sort(stack[:, members], axis=1)
    return stack.mean(axis=0)


def pool(rows: np.ndarray, molecule_numbers: np.ndarray, pooling: str, params) -> np.ndarray:
    """One vector from canonical-order rows: (n_atoms * F,) or (n_elements * F,)."""
    if pooling == "atoms":
        return rows.reshape(-1)
    order = [z for z in params.atomic_numbers if z in set(molecule_numbers.tolist())]
    return np.concatenate([rows[molecule_numbers == z].mean(axis=0) for z in order])


def reference_orbits(structures: StructureSet) -> np.ndarray:
    """Orbit of each atom of the landscape molecule in canonical order (stored by the ingest)."""
    return _canonical_values(structures, structures.orbit)


def orbit_members(orbits: np.ndarray) -> list[np.ndarray]:
    """Canonical indices (ascending) of each orbit with two or more atoms."""
    groups = [np.flatnonzero(orbits == k) for k in np.unique(orbits)]
    return [g for g in groups if len(g) > 1]


def reference_numbers(structures: StructureSet) -> np.ndarray:
    """Atomic numbers of the landscape molecule in canonical order."""
    return _canonical_values(structures, structures.numbers)


def _canonical_values(structures: StructureSet, per_atom: np.ndarray) -> np.ndarray:
    """``per_atom`` values of the first structure's symmetry-independent atoms, in canonical order."""
    part = structures.atoms_of(0)
    canonical, values = structures.canonical[part], per_atom[part]
    out = np.zeros(int(canonical.max()) + 1, dtype=np.int64)
    out[canonical[canonical >= 0]] = values[canonical >= 0]
    return out


def describe(structures: StructureSet, dset: DescriptorSet) -> np.ndarray:
    """Pooled descriptor vectors (N, D) float32 of every structure, in memory: what
    :func:`compute_group` writes, without cache, MPI or file (for generated references)."""
    params = dset.params
    mol_numbers = reference_numbers(structures)
    params.species_index(mol_numbers)
    members = orbit_members(reference_orbits(structures))
    scratch: dict = {}
    rows = [pool(molecule_rows(structures, s, params, dset.neighbours, members, scratch), mol_numbers, dset.pooling,
                 params) for s in range(len(structures))]
    return np.asarray(rows, dtype=np.float32)


def balance(costs: np.ndarray, n_ranks: int) -> list[np.ndarray]:
    """Split item indices into ``n_ranks`` lists of near-equal total cost (greedy, largest first)."""
    loads = np.zeros(n_ranks)
    share: list[list[int]] = [[] for _ in range(n_ranks)]
    for k in np.argsort(-costs, kind="stable"):
        r = int(np.argmin(loads))
        share[r].append(int(k))
        loads[r] += costs[k]
    return [np.array(sorted(s), dtype=np.int64) for s in share]


class Communicator:
    """mpi4py's COMM_WORLD (``use_mpi=True``, under mpiexec or srun) or a one-rank stand-in."""

    def __init__(self, use_mpi: bool = False):
        self.comm = None
        if use_mpi:
            from mpi4py import MPI

            self.comm = MPI.COMM_WORLD
        self.rank = self.comm.Get_rank() if self.comm else 0
        self.size = self.comm.Get_size() if self.comm else 1

    def bcast(self, obj):
        return self.comm.bcast(obj, root=0) if self.comm else obj

    def gather(self, obj):
        return self.comm.gather(obj, root=0) if self.comm else [obj]

    def gather_rows(self, block: np.ndarray) -> list[np.ndarray] | None:
        """Every rank's ``block`` (k, ...) on rank 0, one array per rank (same
        dtype and trailing shape), sent as raw buffers (MPI Gatherv, no pickling)."""
        block = np.ascontiguousarray(block)
        if not self.comm:
            return [block]
        from mpi4py.util.dtlib import from_numpy_dtype

        counts = self.comm.gather(block.size, root=0)
        recv = None
        if self.rank == 0:
            recv = np.empty(sum(counts), dtype=block.dtype)
            displs = np.concatenate([[0], np.cumsum(counts)[:-1]])
            self.comm.Gatherv(block, [recv, counts, displs, from_numpy_dtype(block.dtype)], root=0)
            parts = np.split(recv, np.cumsum(counts)[:-1])
            return [p.reshape((-1,) + block.shape[1:]) for p in parts]
        self.comm.Gatherv(block, recv, root=0)
        return None


@dataclass
class StageReport:
    n_structures: int
    n_computed: int
    n_cached: int
    seconds: float

    def line(self, label: str) -> str:
        return (f"{label}: {self.n_structures} structures, {self.n_computed} computed, "
                f"{self.n_cached} from cache, {self.seconds:.1f} s")


def compute_group(structures: StructureSet, dset: DescriptorSet, out: str | Path,
                  cache_dir: str | Path | None = None, chunk: int = 512,
                  comm: Communicator | None = None, label: str = "descriptors") -> StageReport | None:
    """Descriptor matrix of every structure in ``structures``, written to ``out`` (HDF5).

    Structures are processed in chunks of ``chunk`` (memory flat in the number
    of structures); within a chunk rank 0 asks the cache first and the misses
    are split across MPI ranks balanced by atom count.  Each rank computes,
    caches (a part file of its own) and pools its structures; rank 0 gathers
    the pooled float32 vectors and writes.  Other ranks return None.
    """
    comm = comm or Communicator()
    start = time.perf_counter()
    params = dset.params
    mol_numbers = reference_numbers(structures)
    orbits = reference_orbits(structures)
    members = orbit_members(orbits)
    params.species_index(mol_numbers)  # clear error for elements outside the preset
    width = len(pool(np.zeros((len(mol_numbers), params.n_features)), mol_numbers, dset.pooling, params))
    cache = DescriptorCache(cache_dir, dset.key()) if cache_dir else None

    def key(s: int) -> str:
        part = structures.atoms_of(s)
        return geometry_key(structures.cell[s], structures.positions[part], structures.numbers[part],
                            structures.canonical[part], structures.orbit[part])

    def pooled(rows: np.ndarray) -> np.ndarray:
        return pool(rows, mol_numbers, dset.pooling, params).astype(np.float32)

    n_computed = n_cached = 0
    scratch: dict = {}
    writer = _Writer(out, structures, dset, width, orbits) if comm.rank == 0 else None
    try:
        for lo in range(0, len(structures), chunk):
            idx = np.arange(lo, min(lo + chunk, len(structures)))
            vectors, todo, keys = {}, idx, {}
            if comm.rank == 0 and cache is not None:
                keys = {int(s): key(int(s)) for s in idx}
                found = cache.lookup(list(keys.values()))
                vectors = {s: pooled(found[k]) for s, k in keys.items() if k in found}
                todo = np.array([s for s in idx if int(s) not in vectors], dtype=np.int64)
            todo = comm.bcast(todo)
            costs = np.array([(structures.canonical[structures.atoms_of(s)] >= 0).sum() for s in todo], float)
            mine = todo[balance(costs, comm.size)[comm.rank]] if len(todo) else todo
            mine_vectors = np.empty((len(mine), width), dtype=np.float32)
            rows = np.empty((len(mine), len(mol_numbers), params.n_features)) if cache is not None else None
            for k, s in enumerate(mine):
                r = molecule_rows(structures, int(s), params, dset.neighbours, members, scratch)
                mine_vectors[k] = pooled(r)
                if rows is not None:
                    rows[k] = r
            if rows is not None and len(mine):
                cache.add([keys.get(int(s)) or key(int(s)) for s in mine], rows)  # rank 0 knows its keys
            owners, blocks = comm.gather(mine), comm.gather_rows(mine_vectors)
            if comm.rank == 0:
                for idx_part, block in zip(owners, blocks):
                    vectors.update(zip(idx_part.tolist(), block))
                n_cached += len(idx) - len(todo)
                n_computed += len(todo)
                writer.write(lo, np.stack([vectors[int(s)] for s in idx]))
                _progress(label, idx[-1] + 1, len(structures), start)
        if writer is not None:
            writer.close(job_record(start))
    finally:
        if writer is not None:
            writer.abort()
    if comm.rank != 0:
        return None
    return StageReport(len(structures), n_computed, n_cached, time.perf_counter() - start)


def write_skipped(out: str | Path, reason: str) -> None:
    """The descriptor file of a space group without structures: no rows, the reason in its attributes."""
    from ..store import atomic_path

    with atomic_path(out, ".h5") as tmp, h5py.File(tmp, "w") as h5:
        h5["ids"] = np.zeros(0, dtype=h5py.string_dtype())
        h5["hash"] = np.zeros(0, dtype=h5py.string_dtype())
        h5["X"] = np.zeros((0, 0), dtype=np.float32)
        h5.attrs["record"] = json.dumps({})
        h5.attrs["layout"] = DESCRIPTORS_LAYOUT
        h5.attrs["status"] = "skipped"
        h5.attrs["reason"] = reason


def _progress(label: str, done: int, total: int, start: float) -> None:
    rate = done / max(time.perf_counter() - start, 1e-9)
    print(f"[{label}] {done}/{total} structures, {rate:.1f}/s", file=sys.stderr, flush=True)


class _Writer:
    """Streams rows into a temporary HDF5 file beside ``out``; close() renames it into place."""

    def __init__(self, out, structures: StructureSet, dset: DescriptorSet, width: int, orbits: np.ndarray):
        self.file = AtomicFile(out)
        self.h5 = h5py.File(self.file.tmp, "w")
        str_dt = h5py.string_dtype()
        self.h5["ids"] = structures.ids.astype(object).astype(str_dt)
        self.h5["hash"] = structures.hashes.astype(object).astype(str_dt)
        rows = max(1, min(len(structures), 256, CHUNK_BYTES // (4 * width)))  # chunks of <= 4 MiB
        self.X = self.h5.create_dataset("X", shape=(len(structures), width), dtype="f4", chunks=(rows, width))
        self.h5.attrs["record"] = json.dumps(dset.record())
        self.h5.attrs["layout"] = DESCRIPTORS_LAYOUT
        self.h5.attrs["orbits"] = json.dumps(orbits.tolist())  # orbit of each canonical atom (atoms pooling)

    def write(self, lo: int, block: np.ndarray) -> None:
        self.X[lo:lo + len(block)] = block.astype(np.float32)

    def close(self, job: dict) -> None:
        """Record the job's time and peak memory (attributes ``seconds``, ``peak_memory_mb``) and
        rename the file into place."""
        self.h5.attrs.update(job)
        self.h5.close()
        self.file.commit()

    def abort(self) -> None:
        """Remove the temporary file if close() was not reached."""
        if self.h5.id.valid:
            self.h5.close()
        self.file.discard()
