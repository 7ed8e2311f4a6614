"""A crystal as a file states it, and a crystal (or file) that could not be read.

The readers (:mod:`latentcsp.io`) yield these; :func:`latentcsp.structure.crystal.analyse`
turns a :class:`RawStructure` into the checked record.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class RawStructure:
    """One crystal as a file states it.

    cell: (3, 3) float, lattice vectors as rows, Å.
    positions: (n, 3) float, Cartesian, Å.
    numbers: (n,) int, atomic numbers.
    energy: as stated in the file, in the landscape's configured unit and basis
        (per molecule or per cell), or None.
    spacegroup: the stated space-group symbol or number as a string, or None.
    properties: other per-structure facts the file carries (name, type, ...).
    line: 1-based line of the record in the file, where known.
    labels: (n,) the file's own name of each atom (its site label; every
        symmetry copy of a site carries the site's label), or None where the
        file has none (messages then number atoms in file order).
    """

    id: str
    source: str
    cell: np.ndarray
    positions: np.ndarray
    numbers: np.ndarray
    energy: float | None = None
    spacegroup: str | None = None
    properties: dict = field(default_factory=dict)
    line: int | None = None
    labels: list[str] | None = None


@dataclass
class Rejected:
    """A crystal, or a whole file, that could not be read, and why."""

    source: str
    id: str | None
    reason: str
    line: int | None = None

    def describe(self) -> str:
        """'file line N (id): reason', for messages."""
        where = self.source + (f" line {self.line}" if self.line is not None else "")
        return f"{where}{f' ({self.id})' if self.id else ''}: {self.reason}"
