"""Numba kernels of :mod:`latentcsp.structure.crystal`: pure functions on arrays.

Shapes and units: ``cell`` (3, 3) Å, lattice vectors as rows; ``positions``
(n, 3) Å, Cartesian; integer arrays are int64.  Slow reference
implementations live in tests/test_structure_kernels.py.  The kernels that
take a cell search through :func:`latentcsp.structure.pbc.close_pairs`, which refuses
absurd geometry (ValueError) before building its cell list.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .pbc import close_pairs


@njit(cache=True)
def molecule_tree(n, i, j, S):
    """Molecules of a bond list by breadth-first search, and the image shifts that make them whole.

    i, j (m,), S (m, 3): bonds in both directions, ``j``'s image at shift S
    seen from i.  Returns mol_ids (n,), numbered by each molecule's lowest
    atom; image (n, 3), 0 for that lowest atom and parent + S down the
    search tree (the first bond that reaches an atom); bad, the index of a
    bond with image[j] - image[i] != S (an infinite network), or -1.
    """
    m = len(i)
    start = np.zeros(n + 1, np.int64)
    for k in range(m):
        start[i[k] + 1] += 1
    for a in range(n):
        start[a + 1] += start[a]
    fill = start[:n].copy()
    edges = np.empty(m, np.int64)
    for k in range(m):
        edges[fill[i[k]]] = k
        fill[i[k]] += 1
    mol_ids = np.full(n, -1, np.int64)
    image = np.zeros((n, 3), np.int64)
    queue = np.empty(n, np.int64)
    bad = -1
    n_mol = 0
    for seed in range(n):
        if mol_ids[seed] >= 0:
            continue
        mol_ids[seed] = n_mol
        queue[0] = seed
        head, tail = 0, 1
        while head < tail:
            a = queue[head]
            head += 1
            for p in range(start[a], start[a + 1]):
                k = edges[p]
                b = j[k]
                if mol_ids[b] < 0:
                    mol_ids[b] = n_mol
                    for c in range(3):
                        image[b, c] = image[a, c] + S[k, c]
                    queue[tail] = b
                    tail += 1
                elif bad < 0:
                    for c in range(3):
                        if image[b, c] != image[a, c] + S[k, c]:
                            bad = k
        n_mol += 1
    return mol_ids, image, bad


@njit(cache=True)
def kabsch_rmsd_permuted(a, b, perms):
    """RMSD (Å) of (n, 3) ``a`` against ``b[perm]`` for each row of (k, n) ``perms``, best proper rotation.

    a, b: centred (n, 3) point sets.  The largest eigenvalue of Horn's
    quaternion matrix K of the covariance S is the sum of S's singular values
    with the smallest signed by det S, so the values are Kabsch's.  It is
    found by Newton's method on K's characteristic polynomial
    l^4 - 2 |S|^2 l^2 - 8 det(S) l + det(K), from above (Theobald's QCP).
    Shape (k,).
    """
    n = a.shape[0]
    g = 0.0
    for p in range(n):
        for c in range(3):
            g += a[p, c] * a[p, c] + b[p, c] * b[p, c]
    out = np.empty(perms.shape[0])
    K = np.empty((4, 4))
    for r in range(perms.shape[0]):
        xx = xy = xz = yx = yy = yz = zx = zy = zz = 0.0
        for p in range(n):
            q = perms[r, p]
            ax, ay, az = a[p, 0], a[p, 1], a[p, 2]
            bx, by, bz = b[q, 0], b[q, 1], b[q, 2]
            xx += ax * bx
            xy += ax * by
            xz += ax * bz
            yx += ay * bx
            yy += ay * by
            yz += ay * bz
            zx += az * bx
            zy += az * by
            zz += az * bz
        K[0, 0] = xx + yy + zz
        K[1, 1] = xx - yy - zz
        K[2, 2] = -xx + yy - zz
        K[3, 3] = -xx - yy + zz
        K[0, 1] = K[1, 0] = yz - zy
        K[0, 2] = K[2, 0] = zx - xz
        K[0, 3] = K[3, 0] = xy - yx
        K[1, 2] = K[2, 1] = xy + yx
        K[1, 3] = K[3, 1] = zx + xz
        K[2, 3] = K[3, 2] = yz + zy
        frobenius2 = xx * xx + xy * xy + xz * xz + yx * yx + yy * yy + yz * yz + zx * zx + zy * zy + zz * zz
        c2 = -2.0 * frobenius2
        c1 = -8.0 * (xx * (yy * zz - yz * zy) - xy * (yx * zz - yz * zx) + xz * (yx * zy - yy * zx))
        c0 = _det4(K)
        lam = min(0.5 * g, math.sqrt(3.0 * frobenius2))  # >= s1 + s2 + s3 >= the root
        for _ in range(100):
            lam2 = lam * lam
            slope = 4.0 * lam2 * lam + 2.0 * c2 * lam + c1
            if slope == 0.0:
                break
            step = ((lam2 + c2) * lam2 + c1 * lam + c0) / slope
            lam -= step
            if abs(step) <= 1e-11 * abs(lam):  # the next step would be ~1e-22 relative
                break
        out[r] = math.sqrt(max(g - 2.0 * lam, 0.0) / n)
    return out


@njit(cache=True)
def _det4(K):
    """Determinant of a 4 x 4 matrix by 2 x 2 minors of its first two and last two rows."""
    s0 = K[0, 0] * K[1, 1] - K[1, 0] * K[0, 1]
    s1 = K[0, 0] * K[1, 2] - K[1, 0] * K[0, 2]
    s2 = K[0, 0] * K[1, 3] - K[1, 0] * K[0, 3]
    s3 = K[0, 1] * K[1, 2] - K[1, 1] * K[0, 2]
    s4 = K[0, 1] * K[1, 3] - K[1, 1] * K[0, 3]
    s5 = K[0, 2] * K[1, 3] - K[1, 2] * K[0, 3]
    c5 = K[2, 2] * K[3, 3] - K[3, 2] * K[2, 3]
    c4 = K[2, 1] * K[3, 3] - K[3, 1] * K[2, 3]
    c3 = K[2, 1] * K[3, 2] - K[3, 1] * K[2, 2]
    c2 = K[2, 0] * K[3, 3] - K[3, 0] * K[2, 3]
    c1 = K[2, 0] * K[3, 2] - K[3, 0] * K[2, 2]
    c0 = K[2, 0] * K[3, 1] - K[3, 0] * K[2, 1]
    return s0 * c5 - s1 * c4 + s2 * c3 + s3 * c2 - s4 * c1 + s5 * c0


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S27, _S30, _S31 = np.uint64(27), np.uint64(30), np.uint64(31)


@njit(cache=True)
def _mix(x):
    """splitmix64 of one uint64 (wrapping arithmetic)."""
    z = x + _GOLDEN
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@njit(cache=True)
def adjacency(n, bonds):
    """Sorted neighbour lists of a graph: the neighbours of atom a are ``nbr[start[a]:start[a + 1]]``.

    bonds: (m, 2), each bond once.  Returns start (n + 1,), nbr (2m,).
    """
    start = np.zeros(n + 1, np.int64)
    for k in range(bonds.shape[0]):
        start[bonds[k, 0] + 1] += 1
        start[bonds[k, 1] + 1] += 1
    for a in range(n):
        start[a + 1] += start[a]
    fill = start[:n].copy()
    nbr = np.empty(start[n], np.int64)
    for k in range(bonds.shape[0]):
        a, b = bonds[k, 0], bonds[k, 1]
        nbr[fill[a]] = b
        fill[a] += 1
        nbr[fill[b]] = a
        fill[b] += 1
    for a in range(n):
        nbr[start[a]:start[a + 1]] = np.sort(nbr[start[a]:start[a + 1]])
    return start, nbr


@njit(cache=True)
def wl_colours(numbers, start, nbr, iterations):
    """(iterations + 1, n) uint64 Weisfeiler-Lehman colours, row 0 from the atomic numbers.

    Each iteration mixes an atom's colour with the wrapping sum of its
    neighbours' mixed colours (a multiset hash), so equal colours in two
    graphs mean equal refinements.
    """
    n = len(numbers)
    out = np.empty((iterations + 1, n), np.uint64)
    for a in range(n):
        out[0, a] = _mix(np.uint64(numbers[a]))
    for t in range(iterations):
        for a in range(n):
            around = np.uint64(0)
            for p in range(start[a], start[a + 1]):
                around += _mix(out[t, nbr[p]] ^ _MIX1)
            out[t + 1, a] = _mix(out[t, a] ^ _mix(around))
    return out


@njit(cache=True)
def find_isomorphisms(order, parent, back_start, back, want, start, nbr, colours, limit):
    """Up to ``limit`` isomorphisms (k, n) from a pattern graph onto a target graph: row[p] = target atom of p.

    Pattern side (its search plan): ``order`` (n,) visiting order; ``parent``
    (n,) a pattern atom visited earlier and bonded to ``order[t]`` (-1 to
    start a component); ``back[back_start[t]:back_start[t + 1]]`` every
    earlier pattern atom bonded to ``order[t]``; ``want`` (n,) colour of each
    pattern atom.  Target side: adjacency (start, nbr) and colours (n,).
    Depth-first search: ``order[t]`` goes to an unused target atom of its
    colour, bonded to the image of its parent, bonded to the images of all
    its earlier neighbours and to no other used atom; dead ends backtrack.
    """
    n = len(order)
    out = np.empty((limit, n), np.int64)
    if n == 0:
        return out[:0].copy()
    found = 0
    mapping = np.full(n, -1, np.int64)
    used = np.zeros(n, np.bool_)
    cursor = np.zeros(n + 1, np.int64)
    t = 0
    while t >= 0 and found < limit:
        if t == n:
            out[found] = mapping
            found += 1
            t -= 1
            used[mapping[order[t]]] = False
            mapping[order[t]] = -1
            continue
        atom, up = order[t], parent[t]
        lo, hi = (start[mapping[up]], start[mapping[up] + 1]) if up >= 0 else (0, n)
        placed = False
        while cursor[t] < hi - lo:
            c = nbr[lo + cursor[t]] if up >= 0 else cursor[t]
            cursor[t] += 1
            if used[c] or colours[c] != want[atom]:
                continue
            n_used = 0
            for p in range(start[c], start[c + 1]):
                if used[nbr[p]]:
                    n_used += 1
            if n_used != back_start[t + 1] - back_start[t]:
                continue
            ok = True
            for q in range(back_start[t], back_start[t + 1]):
                image = mapping[back[q]]
                bonded = False
                for p in range(start[c], start[c + 1]):
                    if nbr[p] == image:
                        bonded = True
                        break
                if not bonded:
                    ok = False
                    break
            if ok:
                mapping[atom] = c
                used[c] = True
                placed = True
                break
        if placed:
            t += 1
            cursor[t] = 0
        else:
            t -= 1
            if t >= 0:
                used[mapping[order[t]]] = False
                mapping[order[t]] = -1
    return out[:found].copy()


@njit(cache=True)
def molecule_bonds(positions, radii, tolerance):
    """(m, 2) atom pairs a < b of one whole molecule closer than radii[a] + radii[b] + tolerance Å."""
    n = positions.shape[0]
    out = np.empty((n * (n - 1) // 2, 2), np.int64)
    m = 0
    for a in range(n):
        for b in range(a + 1, n):
            dx = positions[a, 0] - positions[b, 0]
            dy = positions[a, 1] - positions[b, 1]
            dz = positions[a, 2] - positions[b, 2]
            limit = radii[a] + radii[b] + tolerance
            if dx * dx + dy * dy + dz * dz < limit * limit:
                out[m, 0] = a
                out[m, 1] = b
                m += 1
    return out[:m].copy()


@njit(cache=True)
def match_molecule(order, parent, back_start, back, want, census, pattern_numbers, pattern_bonds, iterations,
                   numbers, positions, radii, tolerance):
    """One isomorphism (n,) from a pattern graph onto a whole molecule, or an empty array.

    The molecule's bonds come from :func:`molecule_bonds` (positions (n, 3)
    Å, radii (n,) Å), its colours from :func:`wl_colours` after
    ``iterations``; ``census`` is the pattern's sorted colours and the rest
    its search plan (see :func:`find_isomorphisms`).  The mapping found is
    checked element by element and bond by bond before it is returned.
    """
    none = np.empty(0, np.int64)
    n = len(numbers)
    bonds = molecule_bonds(positions, radii, tolerance)
    if n != len(order) or len(bonds) != len(pattern_bonds):
        return none
    start, nbr = adjacency(n, bonds)
    colours = wl_colours(numbers, start, nbr, iterations)[iterations]
    if not np.array_equal(np.sort(colours), census):
        return none
    found = find_isomorphisms(order, parent, back_start, back, want, start, nbr, colours, 1)
    if len(found) == 0:
        return none
    mapping = found[0]
    for p in range(n):
        if numbers[mapping[p]] != pattern_numbers[p]:
            return none
    for k in range(len(pattern_bonds)):
        a, b = mapping[pattern_bonds[k, 0]], mapping[pattern_bonds[k, 1]]
        bonded = False
        for p in range(start[a], start[a + 1]):
            if nbr[p] == b:
                bonded = True
        if not bonded:
            return none
    return mapping


@njit(cache=True)
def covalent_bonds(cell, inv_cell, positions, radii, tolerance, overlap_fraction):
    """Covalent bonds under PBC, and the first pair of atoms that overlap.

    radii: (n,) covalent radii, Å.  Returns i, j (m,), S (m, 3) of every pair
    of :func:`close_pairs` with d < radii[i] + radii[j] + tolerance (both
    directions), and ``clash``: the index in :func:`close_pairs`' output of
    the first pair with d < overlap_fraction * (radii[i] + radii[j]), or -1,
    with that pair's i, j and d.
    """
    n = positions.shape[0]
    reach = 2.0 * radii.max() + tolerance if n else 0.0  # close_pairs refuses absurd geometry first
    i, j, S, d = close_pairs(cell, inv_cell, positions, reach, np.arange(n))
    keep = np.empty(len(i), np.bool_)
    clash = -1
    for k in range(len(i)):
        rsum = radii[i[k]] + radii[j[k]]
        if clash < 0 and d[k] < overlap_fraction * rsum:
            clash = k
        keep[k] = d[k] < rsum + tolerance
    c = max(clash, 0)
    return i[keep], j[keep], S[keep], clash, i[c] if len(i) else -1, j[c] if len(i) else -1, d[c] if len(i) else 0.0


@njit(cache=True)
def contact_sums(cell, inv_cell, positions, mol_ids, centres, cutoff, reach):
    """Per centre, the sum of exp(-(d - 3 Å)) over atoms of other molecules within ``cutoff`` Å; shape (len(centres),).

    centres: sorted, unique atom indices.  Only images at lattice shifts
    |S[a]| <= reach[a] (relative to ``positions``) count; the centre's own
    molecule counts at its other images.
    """
    i, j, S, d = close_pairs(cell, inv_cell, positions, cutoff, centres)
    out = np.zeros(len(centres))
    c = 0
    for k in range(len(i)):
        while centres[c] != i[k]:
            c += 1
        if d[k] >= cutoff or abs(S[k, 0]) > reach[0] or abs(S[k, 1]) > reach[1] or abs(S[k, 2]) > reach[2]:
            continue
        if mol_ids[j[k]] == mol_ids[i[k]] and S[k, 0] == 0 and S[k, 1] == 0 and S[k, 2] == 0:
            continue
        out[c] += math.exp(-(d[k] - 3.0))
    return out


@njit(cache=True)
def _shifted_codes(grid_coords, numbers, atoms, origin, grid):
    """Sorted codes ((Z * grid + x) * grid + y) * grid + z of ``atoms`` with ``origin`` moved to 0."""
    out = np.empty(len(atoms), np.int64)
    for t in range(len(atoms)):
        p = atoms[t]
        code = numbers[p]
        for a in range(3):
            x = grid_coords[p, a] - grid_coords[origin, a]
            if x < 0:
                x += grid
            code = code * grid + x
        out[t] = code
    out.sort()
    return out


@njit(cache=True)
def smallest_table(grid_coords, numbers, origins, grid):
    """The lexicographically smallest sorted table of atom codes over a choice of origins.

    grid_coords: (n, 3) int fractional coordinates on a grid of ``grid``
    points per axis; numbers: (n,) int; origins: indices of the atoms to
    put at the origin in turn.  An atom's code is
    ((Z * grid + x) * grid + y) * grid + z after the shift; returns (n,) int64.
    A sorted table is its elements' blocks in order of Z, so the origins are
    compared block by block and dropped as soon as they lose.
    """
    alive = origins.copy()
    for z in np.unique(numbers):
        if len(alive) == 1:
            break
        atoms = np.flatnonzero(numbers == z)
        best = _shifted_codes(grid_coords, numbers, atoms, alive[0], grid)
        keep = np.zeros(len(alive), np.bool_)
        keep[0] = True
        for t in range(1, len(alive)):
            row = _shifted_codes(grid_coords, numbers, atoms, alive[t], grid)
            for p in range(len(atoms)):
                if row[p] != best[p]:
                    if row[p] < best[p]:
                        best = row
                        keep[:t] = False
                        keep[t] = True
                    break
            else:
                keep[t] = True
        alive = alive[keep]
    return _shifted_codes(grid_coords, numbers, np.arange(len(numbers)), alive[0], grid)
