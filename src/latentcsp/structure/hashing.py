"""The content hash: a name for a crystal, independent of file, atom order, origin and cell choice."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import spglib

from .kernels import smallest_table

spglib.error.OLD_ERROR_HANDLING = False  # spglib raises SpglibError instead of returning None (also for the record)


def _lattice_parameters(lattice: np.ndarray) -> list[float]:
    """a, b, c (Å, 2 decimals) and alpha, beta, gamma (degrees, 1 decimal)."""
    a, b, c = np.asarray(lattice, float).tolist()
    dot = lambda u, v: u[0] * v[0] + u[1] * v[1] + u[2] * v[2]  # noqa: E731
    la, lb, lc = math.sqrt(dot(a, a)), math.sqrt(dot(b, b)), math.sqrt(dot(c, c))
    cos = (dot(b, c) / (lb * lc), dot(a, c) / (la * lc), dot(a, b) / (la * lb))
    return [round(la, 2), round(lb, 2), round(lc, 2)] + [round(math.degrees(math.acos(min(1.0, max(-1.0, x)))), 1)
                                                         for x in cos]


def content_hash(cell, positions, numbers, symprec: float = 0.1, decimals: int = 2, dataset=None) -> str:
    """A name for the crystal, independent of file, atom order, origin and cell choice.

    Computed on spglib's standardized conventional cell (lattice parameters
    rounded to 0.01 Å and 0.1 degree), with the origin moved onto each atom
    of the rarest element in turn (coordinates on a grid of 10^-decimals)
    and the lexicographically smallest sorted (element, x, y, z) table kept,
    so any origin shift gives the same hash.  ``dataset``: spglib's symmetry
    dataset of this cell at ``symprec`` if already known (as in
    :func:`latentcsp.structure.crystal.analyse`); where spglib fails, the given cell is used.
    """
    if dataset is None:
        frac = np.linalg.solve(np.asarray(cell).T, np.asarray(positions).T).T % 1.0
        try:
            dataset = spglib.get_symmetry_dataset((cell, frac, numbers), symprec=symprec)
        except spglib.SpglibError:
            lattice, sfrac, snum = np.asarray(cell, float), frac, np.asarray(numbers)
    if dataset is not None:
        lattice, sfrac, snum = dataset.std_lattice, dataset.std_positions, np.asarray(dataset.std_types)
    grid = 10**decimals
    snum = np.asarray(snum, np.int64)
    if (int(snum.max()) + 1) * grid**3 >= 2**63:
        raise ValueError(f"hash_decimals {decimals} too fine for the 64-bit coordinate codes")
    counts = np.bincount(snum)
    rare = int(np.argmin(np.where(counts > 0, counts, len(snum) + 1)))  # fewest atoms, then lowest Z
    q = np.rint(np.asarray(sfrac) * grid).astype(np.int64) % grid  # (n, 3) grid coordinates
    table = smallest_table(q, snum, np.flatnonzero(snum == rare), grid)  # origin on each rarest atom in turn
    return hashlib.sha256(repr((_lattice_parameters(lattice), decimals)).encode() + table.astype("<i8").tobytes()
                          ).hexdigest()[:16]
