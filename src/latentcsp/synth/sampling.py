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
from scipy.stats import qmc

from .lattice import cells, lattice_parameters
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
    """Rotation vectors (B, 3) of the uniform random rotations for points (B, 3) of [0, 1)^3."""
    u = np.atleast_2d(u)
    a, b = np.sqrt(1.0 - u[:, 0]), np.sqrt(u[:, 0])
    t2, t3 = 2 * np.pi * u[:, 1], 2 * np.pi * u[:, 2]
    q = np.stack([a * np.sin(t2), a * np.cos(t2), b * np.sin(t3), b * np.cos(t3)], axis=1)
    return Rotation.from_quat(q).as_rotvec()


def thetas_from_unit(model: CrystalModel, u: np.ndarray, opts: SamplingOptions) -> tuple[np.ndarray, np.ndarray]:
    """DoF vectors (B, n_dof) for points (B, n_dof) of the unit cube, and a mask (B,) of the
    points whose angles make a cell."""
    u = np.atleast_2d(np.asarray(u, dtype=float))
    names = model.lattice_names
    lengths = [n for n in names if n in ("a", "b", "c")]
    lat = np.ones((len(u), len(names)))
    k = 0
    for n in lengths[:-1]:
        lat[:, names.index(n)] = np.exp((2 * u[:, k] - 1) * np.log(opts.ratio_max))
        k += 1
    lo, hi = opts.triclinic_angles if model.sg.crystal_system == "triclinic" else opts.monoclinic_beta
    for i, n in enumerate(names):
        if n not in lengths:
            lat[:, i] = np.radians(lo + (hi - lo) * u[:, k])
            k += 1
    ck = opts.ck_min + (opts.ck_max - opts.ck_min) * u[:, k]
    k += 1
    cell, valid = cells(lattice_parameters(lat, model.sg.crystal_system))
    scale = (model.sg.z * model.molecule.volume / ck / np.abs(np.linalg.det(cell))) ** (1.0 / 3.0)
    for i, n in enumerate(names):
        if n in lengths:
            lat[:, i] *= scale
    return np.concatenate([lat, shoemake(u[:, k : k + 3]), u[:, k + 3 :]], axis=1), valid


def accept(model: CrystalModel, propose, n: int, clash: float, max_attempts: int,
           batch: int = 1024) -> tuple[np.ndarray, int]:
    """The first ``n`` clash-free DoF vectors from ``propose(batch) -> (thetas, valid)``:
    a vector is kept when it forms a cell and no intermolecular atom pair is closer than
    ``clash`` x the sum of van der Waals radii. Returns (thetas (<= n, n_dof), attempts);
    fewer than ``n`` when ``max_attempts`` proposals were not enough. Proposals come in
    batches of twice ``n`` (a power of two, at least 64), doubling to at most ``batch`` while
    too few pass: the same sequence as fixed batches, without checking 1024 for 20."""
    kept: list[np.ndarray] = []
    found = attempts = proposed = 0
    size = min(batch, max(64, 1 << (2 * max(n, 1) - 1).bit_length()))
    while found < n and attempts < max_attempts:
        thetas, valid = propose(min(size, max_attempts - attempts))
        proposed += len(thetas)
        size = min(batch, max(size, proposed))
        state = model.build_batch(thetas)
        state["valid"] &= valid
        good = model.min_contacts(thetas, stop_below=clash, batch=state) >= clash  # NaN compares False
        take = np.flatnonzero(good)[: n - found]
        attempts += int(take[-1]) + 1 if found + len(take) == n else len(thetas)
        kept.append(thetas[take])
        found += len(take)
    return (np.concatenate(kept) if kept else np.zeros((0, model.n_dof))), attempts


def sample_trials(model: CrystalModel, n: int, seed: int = 0,
                  opts: SamplingOptions | None = None) -> tuple[np.ndarray, int]:
    """``n`` clash-free quasi-random trial DoF vectors (a scrambled Sobol sequence in
    exactly DoF dimensions, the first points that pass), and the Sobol points used."""
    opts = opts or SamplingOptions()
    sobol = qmc.Sobol(model.n_dof, scramble=True, seed=seed)
    return accept(model, lambda size: thetas_from_unit(model, sobol.random(size), opts), n, opts.clash,
                  opts.max_attempts_per_trial * max(n, 1))
