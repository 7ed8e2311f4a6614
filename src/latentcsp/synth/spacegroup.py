"""Space groups for the generator: symmetry operations, lattice constraints, free position axes.

Operations come from spglib's database (``spglib.get_symmetry_from_database``) in the
standard setting of the group (spglib's first Hall number for the ITA number: unique
axis b and cell choice 1 for monoclinic groups, hexagonal axes for rhombohedral ones),
centring translations included, so Z = number of operations for a general position.
Symbols are parsed by :mod:`latentcsp.structure.symmetry`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import spglib

#: Free lattice parameters per crystal system; tied parameters follow from these.
LATTICE_FREE = {
    "triclinic": ("a", "b", "c", "alpha", "beta", "gamma"),
    "monoclinic": ("a", "b", "c", "beta"),
    "orthorhombic": ("a", "b", "c"),
    "tetragonal": ("a", "c"),
    "trigonal": ("a", "c"),
    "hexagonal": ("a", "c"),
    "cubic": ("a",),
}
PARAMS6 = ("a", "b", "c", "alpha", "beta", "gamma")

@lru_cache(maxsize=None)
def _default_hall() -> dict[int, int]:
    table: dict[int, int] = {}
    for hall in range(1, 531):
        table.setdefault(int(spglib.get_spacegroup_type(hall).number), hall)
    return table


@dataclass(frozen=True)
class SpaceGroup:
    number: int
    hall: int
    symbol: str  # short H-M symbol without underscores or spaces, e.g. 'P21/c'
    crystal_system: str
    rotations: np.ndarray  # (Z, 3, 3) int, acting on fractional column vectors
    translations: np.ndarray  # (Z, 3)
    polar_axes: tuple[int, ...]  # fractional axes along which the origin floats
    free_axes: tuple[int, ...]  # fractional axes of the molecule's centroid that are DoF

    @property
    def z(self) -> int:
        return len(self.rotations)

    @property
    def centrosymmetric(self) -> bool:
        return any(np.array_equal(r, -np.eye(3, dtype=int)) for r in self.rotations)

    @property
    def centring(self) -> str:
        return self.symbol[0]

    @property
    def tag(self) -> str:
        """File-name-safe symbol: 'P21/c' -> 'P21c', 'P-1' -> 'P-1'."""
        return self.symbol.replace("/", "")

    def lattice_free(self) -> tuple[str, ...]:
        return LATTICE_FREE[self.crystal_system]


@lru_cache(maxsize=None)
def get_spacegroup(spacegroup) -> SpaceGroup:
    """A space group from a Hermann-Mauguin symbol ('P21/c', 'P2_1/c', 'P 1 21/c 1') or number."""
    from latentcsp.structure.symmetry import crystal_system, spacegroup_number

    number = spacegroup_number(spacegroup)
    hall = _default_hall()[number]
    sym = spglib.get_symmetry_from_database(hall)
    rots = np.asarray(sym["rotations"], dtype=np.int64)
    trans = np.asarray(sym["translations"], dtype=float) % 1.0
    symbol = spglib.get_spacegroup_type(hall).international_short.replace("_", "").replace(" ", "")
    system = crystal_system(number)
    # floating-origin axes: fractional unit vectors fixed by every rotation part
    polar = tuple(i for i in range(3) if all(np.array_equal(r[:, i], np.eye(3, dtype=int)[:, i]) for r in rots))
    fixed = np.vstack([r - np.eye(3) for r in rots])
    n_fixed = 3 - int(np.linalg.matrix_rank(fixed))
    if n_fixed != len(polar):  # pragma: no cover - not the case in any standard setting
        raise ValueError(f"space group {symbol}: polar directions are not along cell axes")
    free = tuple(i for i in range(3) if i not in polar)
    return SpaceGroup(number, hall, symbol, system, rots, trans, polar, free)
