"""ANI-style atomic environment vectors (AEVs) for periodic molecular crystals.

Public API:

* :func:`aev` – per-atom AEVs of an :class:`ase.Atoms` with a cell and PBC;
* :func:`aev_arrays` – the same on plain arrays (what the pipeline calls);
* :func:`get_params`, :class:`AEVParams`, presets ``ani1x`` / ``ani2x``;
* :func:`neighbour_list` – the periodic neighbour search on its own.

The numbers are TorchANI's (layout, units, constants; see :mod:`.kernels` and
:mod:`.presets`), computed in float64 with numba.  Threads: blocks of centres
run in a pool of Python threads (the compiled kernel releases the GIL); the
count is numba's (``NUMBA_NUM_THREADS`` / ``numba.set_num_threads``), or the
``threads`` argument.  Results do not depend on the thread count.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Mapping

import numba
import numpy as np

from .kernels import aev_block, angular_plan, radial_plan, triu_index
from ..structure.pbc import PeriodicGrid, exclusion_arrays, molecule_shifts, neighbour_list
from .presets import PRESETS, AEVParams, ani1x, ani2x, get_params

__all__ = [
    "aev",
    "aev_arrays",
    "AEVParams",
    "PRESETS",
    "ani1x",
    "ani2x",
    "get_params",
    "neighbour_list",
    "molecule_shifts",
    "NEIGHBOUR_MODES",
]

NEIGHBOUR_MODES = ("all", "intermolecular")

_plan_cache: dict[AEVParams, tuple] = {}

# below this many centres per block a thread costs more than it saves
_MIN_CENTRES_PER_BLOCK = 16
_CENTRES_PER_SPARE_BLOCK = 128
_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def _pool(threads: int) -> ThreadPoolExecutor:
    with _pools_lock:
        pool = _pools.get(threads)
        if pool is None:
            pool = _pools[threads] = ThreadPoolExecutor(max_workers=threads,
                                                        thread_name_prefix="latentcsp-aev")
        return pool


def _run_blocks(args: tuple, out: np.ndarray, threads: int) -> None:
    nc = out.shape[0]
    # one block per thread for a molecular crystal's ~100 centres (each block
    # costs a dispatch and its buffers), up to 4 per thread for large cells
    nblocks = min(max(threads, min(4 * threads, nc // _CENTRES_PER_SPARE_BLOCK)),
                  nc // _MIN_CENTRES_PER_BLOCK)
    if threads <= 1 or nblocks <= 1:
        aev_block(0, nc, *args, out)
        return
    bounds = [(nc * b) // nblocks for b in range(nblocks + 1)]
    futures = [_pool(threads).submit(aev_block, bounds[b], bounds[b + 1], *args, out)
               for b in range(nblocks)]
    for f in futures:
        f.result()


def _prepared(params: AEVParams) -> tuple:
    key = params  # frozen dataclass: hashable by value
    got = _plan_cache.get(key)
    if got is None:
        got = (
            np.asarray(params.ShfR, np.float64),
            radial_plan(params.EtaR, params.ShfR, params.Rcr),
            np.asarray(params.ShfA, np.float64),
            angular_plan(params.EtaA, params.ShfA, params.Zeta, params.Rca),
            np.asarray(params.ShfZ, np.float64),
            triu_index(params.n_species),
        )
        _plan_cache[key] = got
    return got


def _check_mode(neighbours: str) -> bool:
    if neighbours not in NEIGHBOUR_MODES:
        raise ValueError(f"neighbours must be one of {NEIGHBOUR_MODES}, got {neighbours!r}")
    return neighbours == "intermolecular"


def aev_arrays(
    cell,
    positions,
    species_index,
    mol_ids=None,
    centres=None,
    params: AEVParams | str | Mapping[str, Any] = "ani2x",
    neighbours: str = "all",
    mol_shifts=None,
    threads: int | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """AEVs from plain arrays.

    Parameters
    ----------
    cell : (3, 3) lattice vectors as rows, Å (periodic in all three directions).
    positions : (n, 3) Cartesian positions, Å (need not be wrapped).
    species_index : (n,) int, index of each atom's element in ``params.species``
        (see :meth:`AEVParams.species_index`).
    mol_ids : (n,) int molecule id per atom; required for ``intermolecular``.
    centres : int indices of the atoms whose AEVs are wanted (default all), in
        the order of the output rows.
    params : parameter set or preset name / config mapping.
    neighbours : ``"all"`` or ``"intermolecular"`` (own molecule excluded).
    mol_shifts : optional (n, 3) int translations that make each molecule
        whole (``positions + mol_shifts @ cell``).  ``intermolecular`` leaves
        out the centre's own molecule instance only; its periodic images
        (translated copies: other molecules of the crystal) count as
        neighbours.  Default: :func:`molecule_shifts` of ``mol_ids``, which
        must then label bonded molecules (ValueError otherwise).
    threads : threads for this call (default ``numba.get_num_threads()``).
    out : optional C-contiguous float64 array of shape (n_centres,
        params.n_features) to write into, e.g. a buffer reused from structure
        to structure (the pipeline's stage does, pooling each result at once).

    Returns
    -------
    (n_centres, params.n_features) float64: ``out`` when given.
    """
    params = get_params(params)
    exclude = _check_mode(neighbours)
    positions = np.ascontiguousarray(positions, dtype=np.float64)
    n = positions.shape[0] if positions.ndim == 2 else -1
    species_index = np.ascontiguousarray(species_index, dtype=np.int64)
    if species_index.shape != (n,):
        raise ValueError(f"species_index must have shape ({n},), got {species_index.shape}")
    if n and (species_index.min() < 0 or species_index.max() >= params.n_species):
        raise ValueError(f"species_index out of range for {params.n_species} species of '{params.name}'")
    if exclude and mol_ids is None:
        raise ValueError("neighbours='intermolecular' needs mol_ids (one molecule id per atom)")
    if centres is None:
        centres = np.arange(n, dtype=np.int64)
    else:
        centres = np.ascontiguousarray(centres, dtype=np.int64).reshape(-1)
        if centres.size and (centres.min() < 0 or centres.max() >= n):
            raise ValueError(f"centres out of range for {n} atoms")
    shape = (centres.shape[0], params.n_features)
    if out is None:
        out = np.empty(shape, np.float64)
    elif out.shape != shape or out.dtype != np.float64 or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous float64 array of shape {shape}")
    if centres.shape[0] == 0:
        return out
    grid = PeriodicGrid(cell, positions, params.Rcr)
    mode, mol_ids, mol_shift = exclusion_arrays(grid, mol_ids, mol_shifts, exclude)
    ShfR, planR, ShfA, planA, ShfZ, triu = _prepared(params)
    args = (grid.cart, grid.frac, grid.cell, species_index, mol_ids, centres, grid.m, grid.bin_start,
            grid.bin_atoms, grid.bin_cart, grid.reach, mol_shift, mode, params.Rcr, params.Rca,
            params.EtaR, ShfR, planR, params.EtaA, ShfA, planA, params.Zeta, ShfZ, triu, params.n_species)
    _run_blocks(args, out, numba.get_num_threads() if threads is None else max(1, int(threads)))
    return out


def aev(atoms, preset: AEVParams | str | Mapping[str, Any] = "ani2x", neighbours: str = "all",
        mol_ids=None, centres=None, mol_shifts=None, threads: int | None = None) -> np.ndarray:
    """Per-atom AEVs of a periodic :class:`ase.Atoms`.

    ``mol_ids`` defaults to ``atoms.arrays['mol_id']`` when present (required
    for ``neighbours="intermolecular"``).  Returns ``(n_centres, n_features)``
    float64 in TorchANI's layout and units (rows in ``centres`` order, default
    all atoms).  An element outside the preset's species raises ValueError.
    ``mol_shifts``: see :func:`aev_arrays` (default ``atoms.arrays['mol_shift']``
    when present, else the molecules of ``mol_ids`` are made whole).
    """
    params = get_params(preset)
    _check_mode(neighbours)
    if not np.all(atoms.pbc):
        raise ValueError("aev() needs a crystal periodic in all three directions (atoms.pbc all True)")
    species = params.species_index(atoms.numbers)
    if mol_ids is None and "mol_id" in atoms.arrays:
        mol_ids = atoms.arrays["mol_id"]
    if mol_shifts is None and "mol_shift" in atoms.arrays:
        mol_shifts = atoms.arrays["mol_shift"]
    return aev_arrays(np.asarray(atoms.cell), atoms.positions, species, mol_ids, centres,
                      params, neighbours, mol_shifts, threads)
