"""Slow, obvious NumPy reference for the ANI AEVs under PBC (tests only).

Written from the equations, independently of ``latentcsp.descriptors``
(which it must not import): explicit loops over lattice translations, atoms,
and neighbour pairs (j < k); ``arccos``/``cos``/``**`` as written in TorchANI.
Positions need not be wrapped; the translation range is made wide enough for
any input.
"""

from __future__ import annotations

import itertools
import math

import numpy as np


def pair_index(n_species: int) -> dict[tuple[int, int], int]:
    """Upper triangle (diagonal included), row-major, both orders."""
    out = {}
    k = 0
    for a in range(n_species):
        for b in range(a, n_species):
            out[(a, b)] = out[(b, a)] = k
            k += 1
    return out


def fc(r: float, rc: float) -> float:
    return 0.5 * math.cos(math.pi * r / rc) + 0.5


def same_instance(i, j, n, mol_ids, mol_shifts, own=None):
    """Is the image (j, n) in the centre i's own molecule?  With ``own`` (centre
    -> set of (j, n) of its molecule instance): membership; without mol_shifts:
    any image of an atom with the same id; with them: only the image that makes
    the molecule whole around i (n == mol_shifts[j] - mol_shifts[i])."""
    if own is not None:
        return (j, tuple(n)) in own[i]
    if mol_ids is None or mol_ids[j] != mol_ids[i]:
        return False
    if mol_shifts is None:
        return True
    return tuple(int(x) for x in np.asarray(mol_shifts[j]) - np.asarray(mol_shifts[i])) == tuple(n)


def neighbours(cell, positions, i, cutoff, mol_ids=None, exclude_same_mol=False, mol_shifts=None, own=None):
    """All (j, translation, vector, distance) with |r_j + n.cell - r_i| <= cutoff,
    excluding only (i, n = 0) and, with ``exclude_same_mol``, the centre's own
    molecule (see :func:`same_instance`); explicit loops over translations."""
    cell = np.asarray(cell, float)
    positions = np.asarray(positions, float)
    inv = np.linalg.inv(cell)
    frac = positions @ inv
    # |frac_j + n - frac_i| <= cutoff * |b_a| on each axis for every neighbour
    reach = cutoff * np.linalg.norm(inv, axis=0) + (frac.max(0) - frac.min(0))
    nmax = np.ceil(reach).astype(int) + 1
    out = []
    for n in itertools.product(*(range(-k, k + 1) for k in nmax)):
        shift = np.array(n, float) @ cell
        d_all = positions + shift - positions[i]  # every atom j, this translation
        r_all = np.sqrt((d_all**2).sum(1))
        for j in np.flatnonzero(r_all <= cutoff):
            if j == i and n == (0, 0, 0):
                continue
            if exclude_same_mol and same_instance(i, j, n, mol_ids, mol_shifts, own):
                continue
            out.append((int(j), n, d_all[j], float(r_all[j])))
    return out


def reference_aev(cell, positions, species, params, centres=None, mol_ids=None,
                  neighbours_mode="all", part="all", mol_shifts=None, own=None):
    """AEVs, (n_centres, n_features).

    ``params`` is any object with Rcr, Rca, EtaR, ShfR, EtaA, Zeta, ShfA, ShfZ
    and species (only its length is used); ``species`` are indices into it.
    ``part``: ``"all"`` (the AEV), or ``"own"`` for the terms that involve the
    centre's own molecule: radial terms of same-molecule neighbours and angular
    terms of pairs with at least one same-molecule member (so that
    ``all = intermolecular + own``).  The own molecule is ``own[i]`` (a set of
    (j, translation) images) when given, else from ``mol_ids`` and ``mol_shifts``
    (see :func:`same_instance`).
    """
    n_sp = len(params.species)
    ShfR = np.asarray(params.ShfR, float)
    ShfA = np.asarray(params.ShfA, float)
    ShfZ = np.asarray(params.ShfZ, float)
    nR, nA, nZ = len(ShfR), len(ShfA), len(ShfZ)
    pidx = pair_index(n_sp)
    rad_len = n_sp * nR
    n_feat = rad_len + (n_sp * (n_sp + 1) // 2) * nA * nZ
    if centres is None:
        centres = range(len(positions))
    centres = list(centres)
    exclude = neighbours_mode == "intermolecular"
    out = np.zeros((len(centres), n_feat))
    for row, i in enumerate(centres):
        neigh = neighbours(cell, positions, i, params.Rcr, mol_ids, exclude, mol_shifts, own)
        own_i = [same_instance(i, j, n, mol_ids, mol_shifts, own) for j, n, _, _ in neigh]
        # radial
        for (j, _, _, r), is_own in zip(neigh, own_i):
            if part == "own" and not is_own:
                continue
            for k in range(nR):
                out[row, species[j] * nR + k] += 0.25 * math.exp(-params.EtaR * (r - ShfR[k]) ** 2) * fc(r, params.Rcr)
        # angular: unordered pairs of neighbours within Rca
        ang = [(nb, is_own) for nb, is_own in zip(neigh, own_i) if nb[3] <= params.Rca]
        for a_ in range(len(ang)):
            for b_ in range(a_ + 1, len(ang)):
                (j, _, dj, rj), own_j = ang[a_]
                (k, _, dk, rk), own_k = ang[b_]
                if part == "own" and not (own_j or own_k):
                    continue
                cos_t = float(dj @ dk) / (rj * rk)
                theta = math.acos(0.95 * cos_t)
                base = rad_len + pidx[(species[j], species[k])] * nA * nZ
                for ia in range(nA):
                    radial = math.exp(-params.EtaA * ((rj + rk) / 2 - ShfA[ia]) ** 2)
                    for iz in range(nZ):
                        angular = 2.0 * ((1.0 + math.cos(theta - ShfZ[iz])) / 2.0) ** params.Zeta
                        out[row, base + ia * nZ + iz] += (
                            angular * radial * fc(rj, params.Rca) * fc(rk, params.Rca))
    return out
