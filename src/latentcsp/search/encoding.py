"""DoF vectors as features without wrap-around jumps, and back.

A :class:`~latentcsp.synth.model.CrystalModel` vector has lattice lengths (Å), lattice
angles (radians), a rotation vector (radians, jumps where ``|w|`` reaches pi) and centroid
fractions (periodic, jump from 1 to 0). A generative model needs coordinates in which
nearby crystals are nearby points, so each kind is encoded so:

* lattice lengths -> the log cell volume ``ln(V / 1 Å^3)`` and the free log lengths minus
  their mean (the last one left out: the deviations sum to zero, each weighted by the
  number of cell axes the length sets, as ``a`` sets ``b`` too in a tetragonal cell). The
  volume, which the molecule's size pins down, is one coordinate of its own, so a model's
  noise in the cell's shape does not change it (scale-free, positive after decoding);
* lattice angle -> the angle in radians (35-145 deg in any cell the generator makes: no wrap);
* orientation -> the first two columns of the rotation matrix (6 numbers; Zhou et al., CVPR
  2019: continuous, unlike rotation vectors, Euler angles or quaternions); decoded by
  Gram-Schmidt, so any 6 numbers whose two halves are not parallel give a rotation;
* centroid fraction ``x`` -> ``(cos 2 pi x, sin 2 pi x)``; decoded by ``atan2``, in [0, 1).

Decoding the encoding of a vector gives the vector back (``|w| < pi``, fractions in
[0, 1)), and crystals that are close (rotations by a small angle, fractions across the cell
boundary) have close encodings.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from ..synth.lattice import cells, lattice_parameters
from ..synth.model import CrystalModel

LENGTHS = ("a", "b", "c")


class DofEncoding:
    """Encoder/decoder of one model's DoF vectors (B, n_dof) <-> features (B, n_features)."""

    def __init__(self, model: CrystalModel):
        self.n_lat = model.n_lat
        self.system = model.sg.crystal_system
        self.lattice_names = tuple(model.lattice_names)
        self.n_positions = model.n_dof - model.n_lat - 3
        self.n_dof = model.n_dof
        self.is_length = np.array([n in LENGTHS for n in self.lattice_names])
        lengths = [n for n in self.lattice_names if n in LENGTHS]
        # axes each free length sets: a stands for the lengths the crystal system ties to it
        self.axes = np.array([1 + (n == "a") * sum(t not in lengths for t in ("b", "c")) for n in lengths], float)
        positions = model.names[model.n_lat + 3:]
        angles = [n for n in self.lattice_names if n not in LENGTHS]
        self.names = (["ln_volume"] + [f"ln_{n}_rel" for n in lengths[:-1]] + angles
                      + [f"R{i}{j}" for j in range(2) for i in range(3)]
                      + [f"{f}_{n}" for n in positions for f in ("cos", "sin")])
        self.n_features = len(self.names)

    def _unit_volume(self, lat: np.ndarray) -> np.ndarray:
        """V / (product of the three lengths) (B,) for lattice parameters (B, n_lat); NaN where
        the angles form no cell."""
        unit = lat.copy()
        unit[:, self.is_length] = 1.0
        cell, ok = cells(lattice_parameters(unit, self.system))
        return np.where(ok, np.linalg.det(cell), np.nan)

    def encode(self, thetas) -> np.ndarray:
        """Features (B, n_features) of DoF vectors (B, n_dof) (Å, radians, fractions)."""
        thetas = np.atleast_2d(np.asarray(thetas, dtype=float))
        lat = thetas[:, : self.n_lat]
        log_lengths = np.log(lat[:, self.is_length])
        mean = log_lengths @ self.axes / 3.0
        volume = 3.0 * mean + np.log(self._unit_volume(lat))
        lat = np.column_stack([volume, (log_lengths - mean[:, None])[:, :-1], lat[:, ~self.is_length]])
        rot = Rotation.from_rotvec(thetas[:, self.n_lat: self.n_lat + 3]).as_matrix()
        six = np.concatenate([rot[:, :, 0], rot[:, :, 1]], axis=1)
        angle = 2 * np.pi * thetas[:, self.n_lat + 3:]
        pos = np.stack([np.cos(angle), np.sin(angle)], axis=2).reshape(len(thetas), -1)
        return np.concatenate([lat, six, pos], axis=1)

    def decode(self, features) -> np.ndarray:
        """DoF vectors (B, n_dof) of features (B, n_features): the lengths from the volume and
        their deviations (NaN where the angles form no cell), the rotation by Gram-Schmidt of
        the two columns, fractions by atan2 in [0, 1)."""
        f = np.atleast_2d(np.asarray(features, dtype=float))
        m = int(self.is_length.sum())
        deviations = f[:, 1:m]
        last = -(deviations @ self.axes[:-1]) / self.axes[-1]
        lat = np.empty((len(f), self.n_lat))
        lat[:, ~self.is_length] = f[:, m:self.n_lat]
        mean = (f[:, 0] - np.log(self._unit_volume(lat))) / 3.0
        lat[:, self.is_length] = np.exp(mean[:, None] + np.column_stack([deviations, last]))
        a1, a2 = f[:, self.n_lat: self.n_lat + 3], f[:, self.n_lat + 3: self.n_lat + 6]
        b1 = a1 / np.linalg.norm(a1, axis=1, keepdims=True)
        b2 = a2 - (b1 * a2).sum(axis=1, keepdims=True) * b1
        b2 /= np.linalg.norm(b2, axis=1, keepdims=True)
        rot = np.stack([b1, b2, np.cross(b1, b2)], axis=2)
        w = Rotation.from_matrix(rot).as_rotvec()
        cs = f[:, self.n_lat + 6:].reshape(len(f), self.n_positions, 2)
        frac = np.mod(np.arctan2(cs[:, :, 1], cs[:, :, 0]) / (2 * np.pi), 1.0)
        frac[frac >= 1.0] = 0.0
        return np.concatenate([lat, w, frac], axis=1)
