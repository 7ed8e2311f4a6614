"""Cell matrices from lattice parameters, with derivatives.

Convention (ASE's): the cell's rows are the lattice vectors, ``a`` along x, ``b`` in the
xy plane; Cartesian = fractional @ cell. Angles in radians here.
"""

from __future__ import annotations

import numpy as np

from .spacegroup import LATTICE_FREE, PARAMS6

_FIXED_ANGLE = {"gamma": {"trigonal": 2 * np.pi / 3, "hexagonal": 2 * np.pi / 3}}


def cells(p6: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cells (B, 3, 3) from lattice parameters (B, 6) (Å, radians), and a mask (B,) of the
    parameter sets whose angles form a cell (the others get an identity matrix)."""
    p6 = np.atleast_2d(np.asarray(p6, dtype=float))
    a, b, c, al, be, ga = p6.T
    ca, cb, cg, sg = np.cos(al), np.cos(be), np.cos(ga), np.sin(ga)
    v = (ca - cb * cg) / sg
    w2 = 1.0 - cb * cb - v * v
    ok = w2 > 1e-10
    out = np.zeros((len(p6), 3, 3))
    out[:, 0, 0] = a
    out[:, 1, 0], out[:, 1, 1] = b * cg, b * sg
    out[:, 2, 0], out[:, 2, 1], out[:, 2, 2] = c * cb, c * v, c * np.sqrt(np.where(ok, w2, 1.0))
    out[~ok] = np.eye(3)
    return out, ok


def cell_and_derivatives(p6: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cell (3, 3) and its derivatives (6, 3, 3) w.r.t. (a, b, c, alpha, beta, gamma)."""
    cell, ok = cells(p6)
    if not ok[0]:
        raise ValueError("lattice angles do not form a cell")
    cell = cell[0]
    a, b, c, al, be, ga = (float(x) for x in p6)
    sa, sb, sg, cg = np.sin(al), np.sin(be), np.sin(ga), np.cos(ga)
    u, v, w = cell[2] / c
    d = np.zeros((6, 3, 3))
    d[0, 0, 0] = 1.0
    d[1, 1] = [cg, sg, 0.0]
    d[2, 2] = [u, v, w]
    # d(u, v)/d(alpha, beta, gamma)
    du = (0.0, -sb, 0.0)
    dv = (-sa / sg, sb * cg / sg, (u - np.cos(al) * cg) / (sg * sg))
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


def lattice_parameters(free: np.ndarray, system: str) -> np.ndarray:
    """The six lattice parameters (B, 6) from the crystal system's free ones (B, k)."""
    free = np.atleast_2d(np.asarray(free, dtype=float))
    names = LATTICE_FREE[system]
    p6 = np.tile([np.nan, np.nan, np.nan, np.pi / 2, np.pi / 2, np.pi / 2], (len(free), 1))
    for k, n in enumerate(names):
        p6[:, PARAMS6.index(n)] = free[:, k]
    if system in _FIXED_ANGLE["gamma"]:
        p6[:, 5] = _FIXED_ANGLE["gamma"][system]
    for tied in ("b", "c"):
        if tied not in names:  # tied to a
            p6[:, PARAMS6.index(tied)] = free[:, names.index("a")]
    return p6


def expand_lattice(free: np.ndarray, system: str) -> tuple[np.ndarray, np.ndarray]:
    """Six lattice parameters from the crystal system's free ones, and d p6 / d free (6, k)."""
    names = LATTICE_FREE[system]
    p6 = lattice_parameters(free, system)[0]
    jac = np.zeros((6, len(names)))
    for k, n in enumerate(names):
        jac[PARAMS6.index(n), k] = 1.0
    for tied in ("b", "c"):
        if tied not in names:
            jac[PARAMS6.index(tied), names.index("a")] = 1.0
    return p6, jac
