"""Quasi-random (Sobol) trial structures: a point of the unit cube -> a DoF vector.

The cube has exactly as many dimensions as the group has degrees of freedom:

* lattice (k dimensions for k free lattice parameters): the free lengths but one as
  log-ratios to the last free length, ``ln(l_i / l_last)`` uniform in
  ``[-ln ratio_max, ln ratio_max]``; the free angles uniform in their ranges; and the
  packing coefficient ``Ck = Z V_mol / V_cell`` uniform in ``[ck_min, ck_max]``, which
  sets the cell volume from the molecule's van der Waals volume (the overall length scale);
* orientation (3): Shoemake's uniform random rotation from three cube coordinates;
* position (3 minus the polar directions): the centroid's fractional coordinates, uniform.

A trial is kept when the cell is valid and no intermolecular atom pair is closer than
``clash * (R_vdW,i + R_vdW,j)`` (Bondi radii); otherwise the next Sobol point is tried.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from .lattice import cell_and_derivatives, expand_lattice
from .model import CrystalModel


@dataclass
class SamplingOptions:
    ck_min: float = 0.45
    ck_max: float = 0.75
    ratio_max: float = 4.0
    triclinic_angles: tuple[float, float] = (60.0, 120.0)  # degrees, each of alpha, beta, gamma
    monoclinic_beta: tuple[float, float] = (90.0, 130.0)
    clash: float = 0.8
    max_attempts_per_trial: int = 5000


def shoemake(u: np.ndarray) -> np.ndarray:
    """Rotation vector of the uniform random rotation for three numbers in [0, 1)."""
    u1, u2, u3 = u
    a, b = np.sqrt(1.0 - u1), np.sqrt(u1)
    q = [a * np.sin(2 * np.pi * u2), a * np.cos(2 * np.pi * u2), b * np.sin(2 * np.pi * u3), b * np.cos(2 * np.pi * u3)]
    return Rotation.from_quat(q).as_rotvec()


def theta_from_unit(model: CrystalModel, u: np.ndarray, opts: SamplingOptions) -> np.ndarray | None:
    """DoF vector for a unit-cube point, or None when the angles make no cell."""
    names = model.lattice_names
    lengths = [n for n in names if n in ("a", "b", "c")]
    angles = [n for n in names if n not in ("a", "b", "c")]
    k = 0
    lat = {}
    for n in lengths[:-1]:
        lat[n] = np.exp((2 * u[k] - 1) * np.log(opts.ratio_max))
        k += 1
    lat[lengths[-1]] = 1.0
    lo, hi = opts.triclinic_angles if model.sg.crystal_system == "triclinic" else opts.monoclinic_beta
    for n in angles:
        lat[n] = np.radians(lo + (hi - lo) * u[k])
        k += 1
    ck = opts.ck_min + (opts.ck_max - opts.ck_min) * u[k]
    k += 1
    free = np.array([lat[n] for n in names])
    try:
        cell, _ = cell_and_derivatives(expand_lattice(free, model.sg.crystal_system)[0])
    except ValueError:
        return None
    v1 = abs(np.linalg.det(cell))
    target = model.sg.z * model.molecule.volume / ck
    scale = (target / v1) ** (1.0 / 3.0)
    for i, n in enumerate(names):
        if n in ("a", "b", "c"):
            free[i] *= scale
    w = shoemake(u[k : k + 3])
    k += 3
    pos = np.asarray(u[k:], dtype=float)
    return np.concatenate([free, w, pos])
