"""A rigid molecule (Z' = 1, general position) in a space group: the degree-of-freedom
vector, the crystal it builds, and the exp-6 lattice energy with its analytic gradient.

The DoF vector ``theta`` (internal units: Å, radians, fractions) is

* the crystal system's free lattice parameters (lengths Å, angles radians),
* a rotation vector (3, radians): the orientation is ``R = expm([w]x) @ R_base``, where
  ``R_base`` is the identity unless given (the minimiser re-bases to stay near w = 0),
* the fractional coordinates of the molecule's centroid along the group's non-polar
  axes (along polar axes the origin floats; that coordinate is held at 0).

Its length is the true number of degrees of freedom of the group for Z' = 1.

Chain rule (row vectors, Cartesian = fractional @ C): molecule 0's atoms have fractional
coordinates f0_j = phi + y_j C^-1 with y_j = R m_j; molecule k's are
F_kj = f0_j R_k^T + t_k + s_k (s_k an integer shift putting its centroid in the cell),
x_kj = F_kj C. The kernel gives dE/dx and the image term of dE/dC; then
dE/df0_j = sum_k dE/dx_kj C^T R_k, dE/dphi = sum_j dE/df0_j,
dE/dy_j = dE/df0_j C^-T, dE/dR = sum_j dE/dy_j m_j^T, and dE/dC collects
sum_kj F_kj^T dE/dx_kj - sum_j (y_j C^-1)^T dE/dy_j.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
from scipy.spatial.transform import Rotation

from .kernels import exp6_energy_grad, min_contact_batch
from .forcefield import atom_types, exp6_maximum, pair_tables
from .lattice import cell_and_derivatives, cells, expand_lattice, lattice_parameters
from .molecule import DENSITY_FACTOR, Molecule
from .spacegroup import SpaceGroup, get_spacegroup

_AXES = ("x", "y", "z")


def _skew(v: np.ndarray) -> np.ndarray:
    return np.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])


def rotation_and_derivatives(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """R = exp([w]x) and dR/dw_i (3, 3, 3) (Gallego & Yezzi, J. Math. Imaging Vis. 51, 378 (2015))."""
    w = np.asarray(w, dtype=float)
    t2 = float(w @ w)
    eye = np.eye(3)
    wx = _skew(w)
    if t2 < 1e-14:
        r = eye + wx
    else:  # Rodrigues
        t = np.sqrt(t2)
        r = eye + (np.sin(t) / t) * wx + ((1.0 - np.cos(t)) / t2) * (wx @ wx)
    if t2 < 1e-14:
        return r, np.array([_skew(eye[i]) for i in range(3)]) @ r
    d = np.array([(w[i] * wx + _skew(np.cross(w, (eye - r)[:, i]))) / t2 @ r for i in range(3)])
    return r, d


class CrystalModel:
    """Builds crystals and evaluates the lattice energy for one molecule in one space group."""

    def __init__(self, molecule: Molecule, spacegroup, cutoff: float = 15.0, switch_width: float = 2.0):
        self.molecule = molecule
        self.sg: SpaceGroup = spacegroup if isinstance(spacegroup, SpaceGroup) else get_spacegroup(spacegroup)
        if not 0.0 < switch_width < cutoff:
            raise ValueError("need 0 < switch_width < cutoff")
        self.cutoff = float(cutoff)
        self.r_on = float(cutoff - switch_width)
        self.ref = np.ascontiguousarray(molecule.ref)
        self.n0 = molecule.n_atoms
        self.rmol = molecule.radius
        self.radii = molecule.vdw_radii
        self.lattice_names = self.sg.lattice_free()
        self.names = list(self.lattice_names) + ["rot_x", "rot_y", "rot_z"] + [_AXES[i] for i in self.sg.free_axes]
        self.n_lat = len(self.lattice_names)
        self.n_dof = len(self.names)
        z = self.sg.z
        self._rots_f = self.sg.rotations.astype(float)
        self.radii_all = np.tile(self.radii, z)

    @cached_property
    def exp6(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(type of every atom of the cell (Z*n0,), A, B, C, rmin2 (T, T)): the force-field tables
        of the molecule's atom types (:func:`.forcefield.atom_types`), made on the first energy
        evaluation, so crystals of molecules the force field cannot type can still be built
        (ValueError then, naming the atoms)."""
        types, a, b, c, names = pair_tables(atom_types(self.molecule.symbols, self.molecule.ref))
        t = len(names)
        rmin2 = np.array([[exp6_maximum(a[i, j], b[i, j], c[i, j]) ** 2 for j in range(t)] for i in range(t)])
        return np.tile(types, self.sg.z), a, b, c, rmin2

    # ------------------------------------------------------------------ build
    def split(self, theta):
        theta = np.asarray(theta, dtype=float)
        lat = theta[: self.n_lat]
        w = theta[self.n_lat : self.n_lat + 3]
        phi = np.zeros(3)
        phi[list(self.sg.free_axes)] = theta[self.n_lat + 3 :]
        return lat, w, phi

    def build(self, theta, base: np.ndarray | None = None) -> dict:
        """Everything about the crystal at ``theta``: cell, orientation, atom positions."""
        lat, w, phi = self.split(theta)
        p6, jac6 = expand_lattice(lat, self.sg.crystal_system)
        cell, dcell = cell_and_derivatives(p6)
        rw, drw = rotation_and_derivatives(w)
        rot = rw if base is None else rw @ base
        cinv = np.linalg.inv(cell)
        y = self.ref @ rot.T  # (n0, 3) Cartesian offsets from the centroid
        frac, x, centres = self._place(cell[None], cinv[None], rot[None], phi[None])
        return dict(p6=p6, jac6=jac6, cell=cell, dcell=dcell, cinv=cinv, rot=rot, drw=drw, base=base,
                    y=y, phi=phi, frac=frac[0], x=x[0], centres=centres[0])

    def _place(self, cell, cinv, rot, phi):
        """Fractional (B, Z, n0, 3) and Cartesian (B, Z*n0, 3) atom positions and the
        molecular centroids (B, Z, 3) for cells, their inverses, orientations (B, 3, 3) and
        centroid fractions (B, 3): molecule k is operation k applied to molecule 0, shifted
        so that its centroid lies in the cell."""
        # batched matrix products (BLAS), not einsum: this is the generator's inner loop
        b, z, n0 = len(cell), len(self._rots_f), len(self.ref)
        ops, trans = self._rots_f.reshape(z * 3, 3).T, self.sg.translations  # (3, Z*3): all operations at once
        f0 = phi[:, None, :] + self.ref @ (rot.transpose(0, 2, 1) @ cinv)  # (B, n0, 3)
        cent = (phi @ ops).reshape(b, z, 3) + trans
        shift = -np.floor(cent + 1e-12)
        frac = (f0 @ ops).reshape(b, n0, z, 3).transpose(0, 2, 1, 3) + (trans + shift)[:, :, None, :]
        x = frac.reshape(b, z * n0, 3) @ cell
        centres = (cent + shift) @ cell
        return frac, np.ascontiguousarray(x), np.ascontiguousarray(centres)

    def build_batch(self, thetas) -> dict:
        """Cells (B, 3, 3), atom positions (B, Z*n0, 3), centroids (B, Z, 3) and a mask
        (B,) of the DoF vectors that form a cell, for DoF vectors (B, n_dof)."""
        thetas = np.atleast_2d(np.asarray(thetas, dtype=float))
        lat, w = thetas[:, : self.n_lat], thetas[:, self.n_lat : self.n_lat + 3]
        phi = np.zeros((len(thetas), 3))
        phi[:, list(self.sg.free_axes)] = thetas[:, self.n_lat + 3 :]
        cell, valid = cells(lattice_parameters(lat, self.sg.crystal_system))
        valid &= np.linalg.det(cell) > 1e-6
        _, x, centres = self._place(cell, np.linalg.inv(cell), Rotation.from_rotvec(w).as_matrix(), phi)
        return dict(cell=cell, x=x, centres=centres, valid=valid)

    def _nmax(self, cell: np.ndarray, reach: float) -> np.ndarray:
        recip = np.linalg.norm(np.linalg.inv(cell), axis=0)  # |b*_a| = 1/d_a
        return np.ceil(reach * recip).astype(np.int64) + 1

    # ------------------------------------------------------------------ properties
    def volume(self, theta) -> float:
        lat, _, _ = self.split(theta)
        p6, _ = expand_lattice(lat, self.sg.crystal_system)
        return float(abs(np.linalg.det(cell_and_derivatives(p6)[0])))

    def density(self, theta) -> float:
        """g/cm^3."""
        return self.sg.z * self.molecule.mass / self.volume(theta) * DENSITY_FACTOR

    def packing_coefficient(self, theta) -> float:
        return self.sg.z * self.molecule.volume / self.volume(theta)

    def min_contacts(self, thetas, stop_below: float = 0.0, batch: dict | None = None) -> np.ndarray:
        """Smallest intermolecular r / (R_vdW,i + R_vdW,j) of each DoF vector (B,): NaN where
        the vector forms no cell; values below ``stop_below`` are only known to be below it."""
        s = batch or self.build_batch(thetas)
        reach = 2 * self.rmol + 2 * self.radii.max()
        return min_contact_batch(s["x"], s["cell"], s["centres"], s["valid"], self.radii_all, self.n0,
                                 self.sg.z, reach, stop_below)

    def min_contact(self, theta, stop_below: float = 0.0) -> float:
        """Smallest intermolecular r / (R_vdW,i + R_vdW,j) of one crystal."""
        return float(self.min_contacts(np.asarray(theta, dtype=float)[None], stop_below)[0])

    def atoms(self, theta, base=None):
        """The full cell as an ase.Atoms (molecules whole, centroids inside the cell)."""
        from ase import Atoms

        s = self.build(theta, base)
        return Atoms(symbols=self.molecule.symbols * self.sg.z, positions=s["x"], cell=s["cell"], pbc=True)

    def canonical(self, theta, base=None) -> np.ndarray:
        """The same crystal's DoF vector with the base folded into the rotation vector
        (|w| <= pi) and the centroid fractions wrapped into [0, 1)."""
        theta = np.array(theta, dtype=float)
        _, w, _ = self.split(theta)
        rot = Rotation.from_rotvec(w)
        if base is not None:
            rot = rot * Rotation.from_matrix(base)
        theta[self.n_lat : self.n_lat + 3] = rot.as_rotvec()
        theta[self.n_lat + 3 :] = np.mod(theta[self.n_lat + 3 :], 1.0)
        return theta

    # ------------------------------------------------------------------ energy
    def energy(self, theta, base=None) -> float:
        return self.energy_and_gradient(theta, base, gradient=False)[0]

    def energy_and_gradient(self, theta, base=None, gradient: bool = True):
        """Lattice energy (kJ/mol per molecule) and dE/dtheta (same units as theta)."""
        s = self.build(theta, base)
        cell = s["cell"]
        reach = self.cutoff + 2 * self.rmol
        types_all, a, b, c, rmin2 = self.exp6
        e, gx, gcell = exp6_energy_grad(s["x"], types_all, self.n0, self.sg.z, s["centres"], cell,
                                        self._nmax(cell, reach), a, b, c, rmin2, self.r_on, self.cutoff, reach)
        if not gradient:
            return float(e), None
        z, n0 = self.sg.z, self.n0
        g = gx.reshape(z, n0, 3)
        frac = s["frac"]
        dc = gcell + frac.reshape(-1, 3).T @ gx
        h = ((g @ cell.T) @ self._rots_f).sum(axis=0)  # dE/df0 = sum_k G_k C^T R_k
        dphi = h.sum(axis=0)
        q = h @ s["cinv"].T  # dE/dy
        p = s["y"] @ s["cinv"]
        dc -= p.T @ q
        dr = q.T @ self.ref  # dE/dR (R = exp(w) @ base)
        if s["base"] is not None:
            dr = dr @ s["base"].T  # dE/d exp(w)
        dw = s["drw"].reshape(3, 9) @ dr.ravel()
        dp6 = s["dcell"].reshape(6, 9) @ dc.ravel()
        dlat = s["jac6"].T @ dp6
        grad = np.concatenate([dlat, dw, dphi[list(self.sg.free_axes)]])
        return float(e), grad
