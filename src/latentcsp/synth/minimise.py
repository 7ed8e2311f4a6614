"""Rigid-body lattice-energy minimisation inside the space group, and deduplication."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize

from .model import CrystalModel
from .sampling import SamplingOptions, sample_trials


@dataclass
class MinimiseOptions:
    max_iter: int = 400  # L-BFGS-B iterations per round
    rounds: int = 3  # re-based rounds (the rotation restarts from w = 0 each round)
    gtol: float = 1e-3  # on the scaled gradient, kJ/mol per ~Å of atom motion
    collapse: float = 0.55  # a minimum with a contact below this fraction of the vdW sum is rejected
    length_bounds: tuple[float, float] = (2.5, 150.0)  # Å
    angle_bounds: tuple[float, float] = (35.0, 145.0)  # degrees


@dataclass
class MinimumResult:
    theta: np.ndarray  # canonical DoF vector
    energy: float
    converged: bool
    n_eval: int
    n_iter: int
    min_contact: float
    message: str = ""
    extra: dict = field(default_factory=dict)


def _scales(model: CrystalModel, theta: np.ndarray) -> np.ndarray:
    """Scale per variable so that one unit moves atoms by roughly 1 Å."""
    lat, _, _ = model.split(theta)
    lengths = [v for n, v in zip(model.lattice_names, lat) if n in ("a", "b", "c")]
    lmean = float(np.mean(lengths))
    s = []
    for n, v in zip(model.lattice_names, lat):
        s.append(1.0 if n in ("a", "b", "c") else 1.0 / lmean)
    s += [1.0 / max(model.rmol, 1.0)] * 3
    p6 = model.build(theta)["p6"]
    s += [1.0 / p6[i] for i in model.sg.free_axes]
    return np.array(s)


def minimise(model: CrystalModel, theta0: np.ndarray, opts: MinimiseOptions | None = None) -> MinimumResult:
    """Minimise the lattice energy from ``theta0`` with L-BFGS-B (bounded cell)."""
    opts = opts or MinimiseOptions()
    theta = np.array(theta0, dtype=float)
    n_eval = n_iter = 0
    converged = False
    message = ""
    nl = model.n_lat
    for _ in range(opts.rounds):
        base = model.build(theta)["rot"]
        start = theta.copy()
        start[nl : nl + 3] = 0.0
        scale = _scales(model, start)

        def fun(x, scale=scale, base=base):
            th = x * scale
            try:
                e, g = model.energy_and_gradient(th, base)
            except ValueError:  # angles left the domain of a cell
                return 1e8, np.zeros_like(x)
            if not np.isfinite(e):
                return 1e8, np.zeros_like(x)
            return e, g * scale

        bounds = []
        for n in model.lattice_names:
            lo, hi = opts.length_bounds if n in ("a", "b", "c") else np.radians(opts.angle_bounds)
            bounds.append((lo, hi))
        bounds += [(None, None)] * (model.n_dof - nl)
        bounds = [(None if lo is None else lo / s, None if hi is None else hi / s) for (lo, hi), s in zip(bounds, scale)]
        res = minimize(fun, start / scale, jac=True, method="L-BFGS-B", bounds=bounds,
                       options=dict(maxiter=opts.max_iter, gtol=opts.gtol, ftol=1e-12, maxls=40))
        n_eval += res.nfev
        n_iter += res.nit
        message = str(res.message)
        theta = model.canonical(res.x * scale, base)
        pg = np.abs(res.jac).max() if res.jac is not None else np.inf
        if res.success and pg <= 10 * opts.gtol:
            converged = True
            break
    lat = theta[:nl]
    for n, v in zip(model.lattice_names, lat):
        lo, hi = opts.length_bounds if n in ("a", "b", "c") else np.radians(opts.angle_bounds)
        if min(v - lo, hi - v) < 1e-3 * (hi - lo):
            converged = False
            message = f"stopped at the bound of {n}"
    energy = model.energy(theta)
    return MinimumResult(theta, energy, converged, n_eval, n_iter, model.min_contact(theta), message)


def dense_packing(model: CrystalModel, seed: int = 0, n_trials: int = 32) -> np.ndarray:
    """A dense packing of the group (n_dof,): the lowest-energy minimum of the densest quarter
    of ``n_trials`` quasi-random trials (the exp-6 force field), or the densest trial when no
    minimisation converges or the force field has no parameters for the molecule."""
    trials, _ = sample_trials(model, n_trials, seed)
    if not len(trials):
        raise ValueError(f"no clash-free trial structure of {model.molecule.name} in {model.sg.symbol}")
    density = np.array([model.density(t) for t in trials])
    dense = trials[np.argsort(-density)[: max(1, n_trials // 4)]]
    best, energy = dense[0], np.inf
    for theta in dense:
        try:
            result = minimise(model, theta)
        except ValueError:  # no exp-6 parameters or atom types for this molecule
            return dense[0]
        if result.converged and result.min_contact >= SamplingOptions().clash and result.energy < energy:
            best, energy = result.theta, result.energy
    return best


def centroid_fingerprint(model: CrystalModel, theta: np.ndarray, n: int = 16) -> np.ndarray:
    """Sorted distances (Å) from molecule 0's centroid to its n nearest molecular centroids:
    invariant to the cell setting, cheap, and distinct for most different packings."""
    s = model.build(theta)
    cell, cen = s["cell"], s["centres"]
    reach = 25.0
    nmax = np.ceil(reach * np.linalg.norm(np.linalg.inv(cell), axis=0)).astype(int) + 1
    grid = np.stack(np.meshgrid(*[np.arange(-m, m + 1) for m in nmax], indexing="ij"), -1).reshape(-1, 3)
    pts = (cen[None, :, :] + (grid @ cell)[:, None, :]).reshape(-1, 3) - cen[0]
    d = np.sort(np.linalg.norm(pts, axis=1))
    d = d[d > 1e-6][:n]
    return np.pad(d, (0, n - len(d)), constant_values=np.inf)


#: Two minima are the same structure when energy (kJ/mol), density (g/cm^3) and centroid
#: fingerprint (Å, :func:`centroid_fingerprint`) all agree within these.
SAME_ENERGY, SAME_DENSITY, SAME_FINGERPRINT = 0.2, 0.01, 0.1


def same_minima(energies, densities, fingerprints, other_energies, other_densities, other_fingerprints,
                e_tol=SAME_ENERGY, rho_tol=SAME_DENSITY, fp_tol=SAME_FINGERPRINT) -> np.ndarray:
    """(m, k) mask: minimum i (energies (m,), densities (m,), fingerprints (m, f)) is the same
    structure as other minimum j ((k,), (k,), (k, f)): all three agree within the tolerances."""
    e, rho, fp = (np.asarray(v, dtype=float) for v in (energies, densities, fingerprints))
    e2, rho2, fp2 = (np.asarray(v, dtype=float) for v in (other_energies, other_densities, other_fingerprints))
    close = (np.abs(e[:, None] - e2[None]) < e_tol) & (np.abs(rho[:, None] - rho2[None]) < rho_tol)
    for i, j in zip(*np.nonzero(close)):
        close[i, j] = np.max(np.abs(fp[i] - fp2[j])) < fp_tol
    return close


def deduplicate(energies, densities, fingerprints, e_tol=SAME_ENERGY, rho_tol=SAME_DENSITY,
                fp_tol=SAME_FINGERPRINT) -> list[int]:
    """Indices of unique minima (lowest energy first): a structure duplicates a kept one when
    energy, density and fingerprint all agree within the tolerances (kJ/mol, g/cm^3, Å)."""
    energies = np.asarray(energies, dtype=float)
    if not len(energies):
        return []
    same = same_minima(energies, densities, fingerprints, energies, densities, fingerprints, e_tol, rho_tol, fp_tol)
    kept: list[int] = []
    for i in np.argsort(energies):
        if not same[i, kept].any():
            kept.append(int(i))
    return kept
