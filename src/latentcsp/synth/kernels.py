"""Numba kernels of the generator: pure functions on arrays.

Atoms are grouped by molecule: molecule k owns rows ``k*n0 .. (k+1)*n0 - 1`` of ``x``
(Cartesian, Å), molecule 0 is the reference (the asymmetric unit for Z' = 1).
Periodic images are ``x + n @ cell`` for integer n with ``|n_a| <= nmax[a]``; the caller
chooses nmax from the reciprocal-vector norms so that every image within the cutoff is
enumerated, whatever the cell's shape. Molecule pairs whose centroids are further apart
than ``reach`` (cutoff + 2 molecular radii) are skipped whole.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def exp6_energy_grad(x, types, n0, nmol, centres, cell, nmax, A, B, C, rmin2, r_on, rc, reach):
    """Exp-6 lattice energy per molecule and its gradients.

    E = 1/2 sum_{i in molecule 0} sum_{j in other molecules, all images} S(r) E_ij(r),
    E_ij = A exp(-B r) - C / r^6, with the quintic switch S going from 1 at ``r_on`` to 0
    at ``rc`` (smooth energy and forces).

    Returns (E kJ/mol per molecule, dE/dx (N, 3), dE/dcell (3, 3) through the image shifts
    only, i.e. with x held fixed). A pair closer than sqrt(rmin2[ti, tj]) (inside the
    exp-6 maximum, where the potential turns attractive and runs to -inf) makes the
    energy +inf: such a geometry is an overlap, not a crystal.
    """
    grad = np.zeros_like(x)
    gcell = np.zeros((3, 3))
    energy = 0.0
    rc2 = rc * rc
    reach2 = reach * reach
    atom_reach = rc + 0.5 * (reach - rc)  # reach = rc + 2 r_mol: rc + r_mol
    atom_reach2 = atom_reach * atom_reach
    width = rc - r_on
    for k in range(nmol):
        for n1 in range(-nmax[0], nmax[0] + 1):
            for n2 in range(-nmax[1], nmax[1] + 1):
                for n3 in range(-nmax[2], nmax[2] + 1):
                    if k == 0 and n1 == 0 and n2 == 0 and n3 == 0:
                        continue
                    sx = n1 * cell[0, 0] + n2 * cell[1, 0] + n3 * cell[2, 0]
                    sy = n1 * cell[0, 1] + n2 * cell[1, 1] + n3 * cell[2, 1]
                    sz = n1 * cell[0, 2] + n2 * cell[1, 2] + n3 * cell[2, 2]
                    cx = centres[k, 0] + sx - centres[0, 0]
                    cy = centres[k, 1] + sy - centres[0, 1]
                    cz = centres[k, 2] + sz - centres[0, 2]
                    if cx * cx + cy * cy + cz * cz > reach2:
                        continue
                    # atom i against molecule k's image: skip when even its nearest atom is out of reach
                    ex_c = centres[k, 0] + sx
                    ey_c = centres[k, 1] + sy
                    ez_c = centres[k, 2] + sz
                    for i in range(n0):
                        ti = types[i]
                        qx = ex_c - x[i, 0]
                        qy = ey_c - x[i, 1]
                        qz = ez_c - x[i, 2]
                        if qx * qx + qy * qy + qz * qz > atom_reach2:
                            continue
                        for jj in range(n0):
                            j = k * n0 + jj
                            dx = x[j, 0] + sx - x[i, 0]
                            dy = x[j, 1] + sy - x[i, 1]
                            dz = x[j, 2] + sz - x[i, 2]
                            r2 = dx * dx + dy * dy + dz * dz
                            if r2 >= rc2:
                                continue
                            tj = types[j]
                            if r2 < rmin2[ti, tj]:
                                return np.inf, grad, gcell
                            r = np.sqrt(r2)
                            ex = A[ti, tj] * np.exp(-B[ti, tj] * r)
                            r6 = r2 * r2 * r2
                            e = ex - C[ti, tj] / r6
                            de = -B[ti, tj] * ex + 6.0 * C[ti, tj] / (r6 * r)
                            if r > r_on:
                                t = (r - r_on) / width
                                s = 1.0 - t * t * t * (10.0 - 15.0 * t + 6.0 * t * t)
                                ds = -30.0 * t * t * (1.0 - t) * (1.0 - t) / width
                                de = de * s + e * ds
                                e = e * s
                            energy += 0.5 * e
                            f = 0.5 * de / r
                            gx = f * dx
                            gy = f * dy
                            gz = f * dz
                            grad[j, 0] += gx
                            grad[j, 1] += gy
                            grad[j, 2] += gz
                            grad[i, 0] -= gx
                            grad[i, 1] -= gy
                            grad[i, 2] -= gz
                            gcell[0, 0] += n1 * gx
                            gcell[0, 1] += n1 * gy
                            gcell[0, 2] += n1 * gz
                            gcell[1, 0] += n2 * gx
                            gcell[1, 1] += n2 * gy
                            gcell[1, 2] += n2 * gz
                            gcell[2, 0] += n3 * gx
                            gcell[2, 1] += n3 * gy
                            gcell[2, 2] += n3 * gz
    return energy, grad, gcell


#: sqrt of Hermite's constant in 3-d: every lattice has a vector no longer than this x V^(1/3).
HERMITE_3D = 2.0 ** (1.0 / 6.0)


@njit(cache=True)
def reduced_basis(cell):
    """A basis (rows, (3, 3)) of the same lattice as ``cell`` with short, nearly orthogonal
    vectors: pairwise Gauss reduction, each row less its rounded projections on the others,
    until none changes (at most 100 sweeps). Image enumeration over it needs few cells
    however oblique the basis the parameters gave."""
    r = cell.copy()
    for _ in range(100):
        changed = False
        for i in range(3):
            for j in range(3):
                nj = r[j, 0] * r[j, 0] + r[j, 1] * r[j, 1] + r[j, 2] * r[j, 2]
                if i == j or nj == 0.0:
                    continue
                q = np.round((r[i, 0] * r[j, 0] + r[i, 1] * r[j, 1] + r[i, 2] * r[j, 2]) / nj)
                if q != 0.0:
                    r[i] -= q * r[j]
                    changed = True
        if not changed:
            break
    return r


@njit(cache=True)
def min_contact_batch(x, cell, centres, valid, radii, n0, nmol, reach, stop_below):
    """Smallest intermolecular r_ij / (R_i + R_j) of each crystal of a batch.

    ``x`` (B, nmol*n0, 3), ``cell`` (B, 3, 3), ``centres`` (B, nmol, 3); molecule 0
    against every other molecule and every periodic image whose centroid lies within
    ``reach`` of its own (images enumerated from the reciprocal-vector norms, so any cell
    shape is exact). Molecules are visited nearest first and a crystal stops early once
    its value is below ``stop_below`` (a clash is usually found at the first neighbour).
    Molecules and atoms whose bounding sphere (the molecule's radius about its centroid)
    cannot hold a closer pair are not visited. Crystals with ``valid[b]`` false get NaN.
    Images are enumerated over the lattice's :func:`reduced_basis`; a cell too small for
    any clash-free crystal (some lattice vector, at most ``HERMITE_3D`` V^(1/3) long, puts
    the largest atom within ``stop_below`` of its own image) gets that bound, which is
    below ``stop_below``, without enumerating any.
    """
    nb = x.shape[0]
    out = np.full(nb, np.nan)
    reach2 = reach * reach
    nmax = np.empty(3, np.int64)
    largest = radii.max()
    for b in range(nb):
        if not valid[b]:
            continue
        c = reduced_basis(cell[b])
        shortest = HERMITE_3D * abs(np.linalg.det(c)) ** (1.0 / 3.0)
        if shortest < stop_below * 2.0 * largest:
            out[b] = shortest / (2.0 * largest)
            continue
        inv = np.linalg.inv(c)
        count = 1
        for a in range(3):
            nmax[a] = int(np.ceil(reach * np.sqrt(inv[0, a] ** 2 + inv[1, a] ** 2 + inv[2, a] ** 2))) + 1
            count *= 2 * nmax[a] + 1
        dist = np.empty(count * nmol)
        shift = np.empty((count * nmol, 3))
        mol = np.empty(count * nmol, np.int64)
        m = 0
        for k in range(nmol):
            for n1 in range(-nmax[0], nmax[0] + 1):
                for n2 in range(-nmax[1], nmax[1] + 1):
                    for n3 in range(-nmax[2], nmax[2] + 1):
                        if k == 0 and n1 == 0 and n2 == 0 and n3 == 0:
                            continue
                        sx = n1 * c[0, 0] + n2 * c[1, 0] + n3 * c[2, 0]
                        sy = n1 * c[0, 1] + n2 * c[1, 1] + n3 * c[2, 1]
                        sz = n1 * c[0, 2] + n2 * c[1, 2] + n3 * c[2, 2]
                        cx = centres[b, k, 0] + sx - centres[b, 0, 0]
                        cy = centres[b, k, 1] + sy - centres[b, 0, 1]
                        cz = centres[b, k, 2] + sz - centres[b, 0, 2]
                        d2 = cx * cx + cy * cy + cz * cz
                        if d2 > reach2:
                            continue
                        dist[m] = d2
                        mol[m] = k
                        shift[m, 0] = sx
                        shift[m, 1] = sy
                        shift[m, 2] = sz
                        m += 1
        rmol = 0.0  # the molecule's radius about its centroid (every molecule is a copy of molecule 0)
        for i in range(n0):
            r = np.sqrt((x[b, i, 0] - centres[b, 0, 0]) ** 2 + (x[b, i, 1] - centres[b, 0, 1]) ** 2
                        + (x[b, i, 2] - centres[b, 0, 2]) ** 2)
            rmol = max(rmol, r)
        best, best2 = 1e30, 1e60
        for q in np.argsort(dist[:m]):
            # bounding spheres: no pair of this or any farther molecule can beat ``best``
            if np.sqrt(dist[q]) - 2.0 * rmol >= best * 2.0 * largest:
                break
            k = mol[q]
            j0 = k * n0
            ox = centres[b, k, 0] + shift[q, 0]
            oy = centres[b, k, 1] + shift[q, 1]
            oz = centres[b, k, 2] + shift[q, 2]
            for i in range(n0):
                # atom i's distance to the image's centroid bounds its distance to every atom of it
                di = np.sqrt((ox - x[b, i, 0]) ** 2 + (oy - x[b, i, 1]) ** 2 + (oz - x[b, i, 2]) ** 2)
                if di - rmol >= best * (radii[i] + largest):
                    continue
                for jj in range(n0):
                    j = j0 + jj
                    dx = x[b, j, 0] + shift[q, 0] - x[b, i, 0]
                    dy = x[b, j, 1] + shift[q, 1] - x[b, i, 1]
                    dz = x[b, j, 2] + shift[q, 2] - x[b, i, 2]
                    d2 = dx * dx + dy * dy + dz * dz
                    s = radii[i] + radii[j]
                    if d2 < best2 * s * s:
                        best = np.sqrt(d2) / s
                        best2 = best * best
            if best < stop_below:
                break
        out[b] = best
    return out
