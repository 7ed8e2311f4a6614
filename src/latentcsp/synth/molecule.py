"""Rigid molecules for the generator: an XYZ file in, a centred principal-axes frame out."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ase.data import atomic_masses, atomic_numbers

#: Bondi (1964) van der Waals radii, Å; H 1.20 (Bondi), used for the molecular volume and
#: for clash detection.
VDW_RADII = {"H": 1.20, "C": 1.70, "N": 1.55, "O": 1.52, "F": 1.47, "S": 1.80, "Cl": 1.75, "Br": 1.85}

#: 1 g/mol per Å^3 in g/cm^3 (1 / N_A * 1e24).
DENSITY_FACTOR = 1.0 / 0.602214076


@dataclass
class Molecule:
    """A rigid molecule in its reference frame.

    ``ref`` (n_atoms, 3) Å: Cartesian coordinates with the centroid (plain mean of the
    atom positions, not the centre of mass) at the origin and the principal axes of the
    coordinate covariance along x, y, z (largest extent along x). Orientations in the
    generator rotate this frame: atom j of a molecule with rotation matrix R and centroid
    c sits at ``c + R @ ref[j]``.
    """

    name: str
    symbols: list[str]
    ref: np.ndarray
    comment: str = ""
    _volume: float | None = field(default=None, repr=False)

    @property
    def n_atoms(self) -> int:
        return len(self.symbols)

    @property
    def numbers(self) -> np.ndarray:
        return np.array([atomic_numbers[s] for s in self.symbols], dtype=np.int64)

    @property
    def mass(self) -> float:
        """Molar mass, g/mol."""
        return float(sum(atomic_masses[atomic_numbers[s]] for s in self.symbols))

    @property
    def radius(self) -> float:
        """Largest distance of an atom centre from the centroid, Å."""
        return float(np.linalg.norm(self.ref, axis=1).max())

    @property
    def vdw_radii(self) -> np.ndarray:
        try:
            return np.array([VDW_RADII[s] for s in self.symbols])
        except KeyError as exc:
            raise ValueError(f"{self.name}: no van der Waals radius for element {exc.args[0]}") from None

    @property
    def volume(self) -> float:
        """Van der Waals volume (union of Bondi spheres), Å^3, on a 0.1 Å grid."""
        if self._volume is None:
            self._volume = vdw_volume(self.ref, self.vdw_radii)
        return self._volume

    def formula(self) -> str:
        from collections import Counter

        counts = Counter(self.symbols)
        order = ["C", "H"] + sorted(k for k in counts if k not in ("C", "H"))
        return "".join(f"{el}{counts[el] if counts[el] > 1 else ''}" for el in order if el in counts)


def vdw_volume(xyz: np.ndarray, radii: np.ndarray, spacing: float = 0.1) -> float:
    """Volume of a union of spheres by counting grid points (cell-centred), Å^3."""
    lo = (xyz - radii[:, None]).min(axis=0)
    hi = (xyz + radii[:, None]).max(axis=0)
    axes = [np.arange(lo[k] + spacing / 2, hi[k], spacing) for k in range(3)]
    gx, gy = np.meshgrid(axes[0], axes[1], indexing="ij")
    inside = np.zeros((len(axes[0]), len(axes[1]), len(axes[2])), dtype=bool)
    for p, r in zip(xyz, radii):
        d2xy = (gx - p[0]) ** 2 + (gy - p[1]) ** 2
        d2 = d2xy[:, :, None] + (axes[2][None, None, :] - p[2]) ** 2
        inside |= d2 <= r * r
    return float(inside.sum() * spacing**3)


def principal_frame(xyz: np.ndarray) -> np.ndarray:
    """Centre on the centroid and rotate onto principal axes (right-handed; x the longest)."""
    x = np.asarray(xyz, dtype=float) - np.mean(xyz, axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    if np.linalg.det(vt) < 0:
        vt[2] *= -1
    return x @ vt.T


def read_xyz(path: str | Path, name: str | None = None) -> Molecule:
    """Read a plain XYZ file (count, comment, ``symbol x y z`` lines) as a rigid molecule.

    The molecule's name is ``name`` or the file stem.
    """
    path = Path(path)
    lines = path.read_text().splitlines()
    try:
        n = int(lines[0].split()[0])
    except (IndexError, ValueError):
        raise ValueError(f"{path}: first line must be the atom count") from None
    if len(lines) < n + 2:
        raise ValueError(f"{path}: expected {n} atom lines, found {len(lines) - 2}")
    symbols, xyz = [], []
    for k, line in enumerate(lines[2 : 2 + n], start=3):
        parts = line.split()
        if len(parts) < 4:
            raise ValueError(f"{path}:{k}: expected 'symbol x y z', got {line!r}")
        sym = parts[0].capitalize() if len(parts[0]) <= 2 else parts[0]
        if sym not in atomic_numbers:
            raise ValueError(f"{path}:{k}: unknown element {parts[0]!r}")
        symbols.append(sym)
        xyz.append([float(v) for v in parts[1:4]])
    return Molecule(name or path.stem, symbols, principal_frame(np.array(xyz)), comment=lines[1].strip())
