"""Cell matrices from lattice parameters, with derivatives.

Convention (ASE's): the cell's rows are the lattice vectors, ``a`` along x, ``b`` in the
xy plane; Cartesian = fractional @ cell. Angles in radians here.
"""

from __future__ import annotations

import numpy as np

from .spacegroup import LATTICE_FREE, PARAMS6

_FIXED_ANGLE = {"gamma": {"trigonal": 2 * np.pi / 3, "hexagonal": 2 * np.pi / 3}}


def cell_and_derivatives(p6: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cell (3, 3) and its derivatives (6, 3, 3) w.r.t. (a, b, c, alpha, beta, gamma)."""
    a, b, c, al, be, ga = (float(v) for v in p6)
    ca, cb, cg = np.cos(al), np.cos(be), np.cos(ga)
    sa, sb, sg = np.sin(al), np.sin(be), np.sin(ga)
    u = cb
    v = (ca - cb * cg) / sg
    w2 = 1.0 - u * u - v * v
    if w2 <= 1e-10:
        raise ValueError("lattice angles do not form a cell")
    w = np.sqrt(w2)
    cell = np.array([[a, 0.0, 0.0], [b * cg, b * sg, 0.0], [c * u, c * v, c * w]])
    d = np.zeros((6, 3, 3))
    d[0, 0, 0] = 1.0
    d[1, 1] = [cg, sg, 0.0]
    d[2, 2] = [u, v, w]
    # d(u, v)/d(alpha, beta, gamma)
    du = (0.0, -sb, 0.0)
    dv = (-sa / sg, sb * cg / sg, (cb - ca * cg) / (sg * sg))
    for k in range(3):
        dw = -(u * du[k] + v * dv[k]) / w
        d[3 + k, 2] = c * np.array([du[k], dv[k], dw])
    d[5, 1] += [-b * sg, b * cg, 0.0]
    return cell, d


def cell_from_params(p6) -> np.ndarray:
    return cell_and_derivatives(np.asarray(p6, dtype=float))[0]


def params_from_cell(cell: np.ndarray) -> np.ndarray:
    """(a, b, c, alpha, beta, gamma), angles in radians."""
    a, b, c = np.linalg.norm(cell, axis=1)
    al = np.arccos(np.dot(cell[1], cell[2]) / (b * c))
    be = np.arccos(np.dot(cell[0], cell[2]) / (a * c))
    ga = np.arccos(np.dot(cell[0], cell[1]) / (a * b))
    return np.array([a, b, c, al, be, ga])


def expand_lattice(free: np.ndarray, system: str) -> tuple[np.ndarray, np.ndarray]:
    """Six lattice parameters from the crystal system's free ones, and d p6 / d free (6, k)."""
    names = LATTICE_FREE[system]
    p6 = np.array([np.nan, np.nan, np.nan, np.pi / 2, np.pi / 2, np.pi / 2])
    jac = np.zeros((6, len(names)))
    for k, n in enumerate(names):
        p6[PARAMS6.index(n)] = free[k]
        jac[PARAMS6.index(n), k] = 1.0
    if "gamma" in _FIXED_ANGLE and system in _FIXED_ANGLE["gamma"]:
        p6[5] = _FIXED_ANGLE["gamma"][system]
    ia = names.index("a")
    for tied in ("b", "c"):
        i = PARAMS6.index(tied)
        if np.isnan(p6[i]):  # tied to a
            p6[i] = free[ia]
            jac[i, ia] = 1.0
    return p6, jac
