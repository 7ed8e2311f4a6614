"""ANI atomic environment vectors: numba kernels (pure functions on arrays).

Functional form, exactly as TorchANI (``torchani.aev``, 2.x) computes it:

* cutoff function ``fc(r; Rc) = 0.5 * cos(pi * r / Rc) + 0.5`` for ``r <= Rc``;
* radial term of neighbour ``j``::

      G_R[s_j, k] += 0.25 * exp(-EtaR * (R_ij - ShfR[k])**2) * fc(R_ij; Rcr)

* angular term of each *unordered* pair ``{j, k}`` of neighbours within
  ``Rca`` (each pair once, hence the leading 2 of the ANI paper's sum over
  ``j != k`` is folded in as TorchANI does)::

      theta' = arccos(0.95 * cos(theta_ijk))
      G_A[pair(s_j, s_k), a, z] += 2 * ((1 + cos(theta' - ShfZ[z])) / 2)**Zeta
                                   * exp(-EtaA * ((R_ij + R_ik) / 2 - ShfA[a])**2)
                                   * fc(R_ij; Rca) * fc(R_ik; Rca)

  (``2 * ((1 + c) / 2)**Zeta == 2**(1 - Zeta) * (1 + c)**Zeta``).

Neighbours are all periodic images within the cutoff, including images of the
centre itself; in ``intermolecular`` mode the centre's own molecule is left
out of both sums (the molecule instance itself: its periodic images are other
molecules and count; see :func:`latentcsp.structure.pbc.centre_neighbours`).

Layout of one output row: radial block ``[species, ShfR]`` (species-major),
then the angular block ``[pair, ShfA, ShfZ]`` with ``pair`` the row-major index
of ``(min(s_j, s_k), max(s_j, s_k))`` in the upper triangle (diagonal included)
and ShfZ fastest.

Speed notes (all exact rewrites, float64 throughout, agreement with TorchANI
~1e-14 on the fixture's crystals):

* ``cos(theta' - ShfZ) = c' cos(ShfZ) + sqrt(1 - c'^2) sin(ShfZ)`` with
  ``c' = 0.95 cos(theta)`` (``theta'`` lies in [0, pi]): no arccos/cos per pair;
* the radial Gaussians of the 16 shifts of both presets come from two
  ``exp`` per neighbour instead of 16 (:func:`radial_plan`);
* the Gaussian of the mean distance factorises (:func:`angular_plan`): one
  ``exp`` per pair plus one per (neighbour, ShfA) instead of one per (pair, ShfA);
* exp/log/cos are polynomial versions that vectorise (:mod:`._vecmath`), and
  the work of a centre is laid out as flat loops over (neighbour, shift) and
  (pair, section) so that LLVM emits AVX2 code; ``Zeta`` integer (ani1x: 32)
  uses repeated squaring;
* array indices computed in the loops are cast to unsigned (``_U``), so numba
  emits no negative-index wraparound, which blocked vectorisation;
* the angular neighbours are grouped by species and the pairs laid out block
  by block (species pair), so each block's sum over its pairs runs in vector
  registers (:func:`._vecmath.tile8x4` for ani2x's 8 ShfA x 4 ShfZ, tile4x8
  for ani1x) instead of through memory, where each update waited for the
  previous pair's store.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._vecmath import axpy16, cos_0_pi, exp1, gauss16, log1, tile4x8, tile8x4
from ..structure.pbc import centre_neighbours, max_candidates

# FMA contraction only (no reassociation): deterministic, slightly more exact
_FM = {"contract"}
# unsigned array indices: numba emits no negative-index wraparound for them,
# which would otherwise block vectorisation of the loops
_U = np.uint64

__all__ = ["angular_plan", "aev_block", "radial_plan", "triu_index"]


def triu_index(n_species: int) -> np.ndarray:
    """(n, n) int64: index of the species pair in the upper triangle, row-major
    (TorchANI's ``triu_index``), symmetric."""
    t = np.zeros((n_species, n_species), np.int64)
    k = 0
    for a in range(n_species):
        for b in range(a, n_species):
            t[a, b] = t[b, a] = k
            k += 1
    return t


def radial_plan(eta: float, shifts, rcr: float) -> np.ndarray:
    """Constants for the 16 radial Gaussians of a neighbour from two ``exp``:
    ``[C (16), E (16), on, delta]``, (34,) float64.

    With ``d = r - ShfR[0]`` and ``ShfR[k] - ShfR[0] = k delta + eps_k``
    (``delta`` the mean spacing, ``eps_k`` the float32 rounding of the preset's
    shifts)::

        exp(-eta (r - ShfR[k])^2) = exp(-eta d^2) exp(2 eta delta d)^k C[k] exp(d E[k])
        C[k] = exp(-eta (ShfR[k] - ShfR[0])^2),   E[k] = 2 eta eps_k

    (:func:`._vecmath.gauss16`).  ``on`` is 1 only for 16 shifts with
    ``|d E[k]| <= 1e-4`` for every ``r`` in [0, rcr] and every intermediate
    product within [e^-690, e^690]; otherwise 0 (one ``exp`` per shift).
    Relative error of a term ~ ``EtaR d^2`` ulp (< 2e-13 for the presets: the
    rounding of the exponents, up to ~360, no longer cancels), against ~1 ulp
    for one ``exp`` per shift.
    """
    plan = np.zeros(34)
    s = np.asarray(shifts, dtype=np.float64)
    if s.shape != (16,):
        return plan
    k = np.arange(16)
    gap = s - s[0]
    delta = gap[-1] / 15.0
    E = 2.0 * eta * (gap - k * delta)
    d = np.linspace(-s[0], rcr - s[0], 1001)[:, None]
    # exponents of b^8, a, a C[k < 8] and a b^8 C[k >= 8] (the products gauss16 forms)
    logs = np.concatenate([16 * eta * delta * d, -eta * d**2, -eta * (d**2 + gap[:8] ** 2),
                           -eta * d**2 + 16 * eta * delta * d - eta * gap[8:] ** 2], axis=1)
    if np.abs(logs).max() < 690.0 and np.abs(E).max() * np.abs(d).max() <= 1e-4:
        plan[:16] = np.exp(-eta * gap**2)
        plan[16:32] = E
        plan[32:] = 1.0, delta
    return plan


def angular_plan(eta: float, shifts, zeta: float, rca: float) -> np.ndarray:
    """Constants for the angular terms: ``[sep, zeta_int]``.

    ``sep`` 1: the Gaussian of the mean distance factorises,
    ``exp(-eta ((rj + rk)/2 - s)^2) = exp(-eta (rj + rk)^2 / 4) * F_s(rj) * F_s(rk)``
    with ``F_s(r) = exp(eta s (r - s/2))``: one exp per pair instead of one per
    shift (used while the factors stay far from overflow).
    ``zeta_int`` > 0: Zeta is that integer and the power is done by squaring.
    """
    s = np.abs(np.asarray(shifts, dtype=np.float64))
    big = eta * s.max() * (rca + 0.5 * s.max())
    sep = 1.0 if (big < 300.0 and eta * rca * rca < 600.0) else 0.0
    zi = float(int(zeta)) if (zeta == int(zeta) and 1 <= zeta <= 4096) else 0.0
    return np.array([sep, zi])


@njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def _ipow(x, n):
    """x ** n for integer n >= 1 (binary powering)."""
    result = 1.0
    b = x
    while n > 0:
        if n & 1:
            result *= b
        b *= b
        n >>= 1
    return result


@njit(cache=True, error_model="numpy", fastmath=_FM)
def _radial_factorised(cnt, species, bj, br, pi_r, EtaR, s0, planR, acc, gR, fcR):
    """Radial terms of ``cnt`` neighbours, 16 shifts from two exps each (:func:`radial_plan`)."""
    two_eta_delta = 2.0 * EtaR * planR[33]
    for t in range(cnt):
        d = br[t] - s0
        gR[t] = -EtaR * d * d
        gR[_U(cnt + t)] = two_eta_delta * d
    for x in range(2 * cnt):
        gR[x] = exp1(gR[x])
    for t in range(cnt):
        fcR[t] = 0.25 * (0.5 * cos_0_pi(min(br[t] * pi_r, math.pi)) + 0.5) * gR[t]
    for t in range(cnt):
        gauss16(acc, species[bj[t]] * 16, planR, fcR[t], gR[_U(cnt + t)], br[t] - s0)


@njit(cache=True, error_model="numpy", fastmath=_FM)
def _radial_direct(cnt, species, bj, br, pi_r, EtaR, ShfR, acc, gR, fcR):
    """Radial terms of ``cnt`` neighbours, one exp per (neighbour, shift)."""
    nR = ShfR.shape[0]
    # exp(-EtaR (r - ShfR)^2) for all neighbours and shifts, as one flat loop
    for t in range(cnt):
        r = br[t]
        for k in range(nR):
            d = r - ShfR[k]
            gR[_U(t * nR + k)] = -EtaR * d * d
    for x in range(cnt * nR):
        gR[x] = exp1(gR[x])
    for t in range(cnt):
        fcR[t] = 0.25 * (0.5 * cos_0_pi(min(br[t] * pi_r, math.pi)) + 0.5)
    if nR == 16:  # a preset's count (radial_plan off: e.g. a steep custom EtaR)
        for t in range(cnt):
            axpy16(acc, species[bj[t]] * 16, gR, t * 16, fcR[t])
    else:
        for t in range(cnt):
            fc4 = fcR[t]
            base = species[bj[t]] * nR
            o = t * nR
            for k in range(nR):
                acc[_U(base + k)] += gR[_U(o + k)] * fc4


@njit(cache=True, error_model="numpy", fastmath=_FM)
def _angular(na, sp_end, n_species, a_r, a_ux, a_uy, a_uz, a_fc, a_F, Rca, EtaA, ShfA, planA, Zeta,
             cosZ, sinZ, triu, rad_len, acc, p_c, p_s, p_w, p_e, runs, X, G):
    """Angular terms of one centre from its ``na`` neighbours within ``Rca``,
    grouped by species (species ``s`` at ``sp_end[s - 1]:sp_end[s]``); each
    unordered pair {j, k} once.  Pairs are laid out block by block (one block
    per species pair), so that each block's sum is formed in registers.
    Pair buffers hold na*(na-1)/2 pairs (``X``: times nZ, ``G``: times nA);
    ``runs``: 3 * n_blocks int scratch."""
    nA = ShfA.shape[0]
    nZ = cosZ.shape[0]
    nAZ = nA * nZ
    sep = planA[0] != 0.0
    zint = int(planA[1])
    pi_a = math.pi / Rca
    for t in range(na):
        a_fc[t] = 0.5 * cos_0_pi(min(a_r[t] * pi_a, math.pi)) + 0.5
    if sep:
        # F_a(r) = exp(EtaA ShfA_a (r - ShfA_a / 2))
        for t in range(na):
            r = a_r[t]
            for a in range(nA):
                sa = ShfA[a]
                a_F[_U(t * nA + a)] = EtaA * sa * (r - 0.5 * sa)
        for x in range(na * nA):
            a_F[x] = exp1(a_F[x])
    # per pair: c = cos(theta') = 0.95 cos(theta_ijk), weight, rj + rk, Gaussian factors
    p = 0
    n_runs = 0
    for sj in range(n_species):
        j_lo = sp_end[sj - 1] if sj > 0 else 0
        for sk in range(sj, n_species):
            k_lo = sp_end[sk - 1] if sk > 0 else 0
            k_hi = sp_end[sk]
            p_lo = p
            for j in range(j_lo, sp_end[sj]):
                k0 = max(j + 1, k_lo)
                nk = k_hi - k0
                if nk <= 0:
                    continue
                uxj = a_ux[j]
                uyj = a_uy[j]
                uzj = a_uz[j]
                rj = a_r[j]
                fcj2 = 2.0 * a_fc[j]
                for q in range(nk):
                    k = _U(k0 + q)
                    pq = _U(p + q)
                    p_c[pq] = 0.95 * (uxj * a_ux[k] + uyj * a_uy[k] + uzj * a_uz[k])
                    p_w[pq] = fcj2 * a_fc[k]
                    p_e[pq] = rj + a_r[k]
                # G: exp(-EtaA ((rj + rk)/2 - ShfA)^2), the factors F_a(rj) F_a(rk) when separable
                if sep:
                    for q in range(nk):
                        g = (p + q) * nA
                        k = (k0 + q) * nA
                        for a in range(nA):
                            G[_U(g + a)] = a_F[_U(j * nA + a)] * a_F[_U(k + a)]
                else:
                    for q in range(nk):
                        h = 0.5 * p_e[_U(p + q)]
                        g = (p + q) * nA
                        for a in range(nA):
                            d = h - ShfA[a]
                            G[_U(g + a)] = exp1(-EtaA * d * d)
                p += nk
            if p > p_lo:
                runs[3 * n_runs] = p_lo
                runs[3 * n_runs + 1] = p
                runs[3 * n_runs + 2] = rad_len + triu[sj, sk] * nAZ
                n_runs += 1
    npair = p
    if sep:  # the rest of the Gaussian: exp(-EtaA (rj + rk)^2 / 4)
        for p in range(npair):
            u = p_e[p]
            p_w[p] *= exp1(-0.25 * EtaA * u * u)
    # ((1 + cos(theta' - ShfZ)) / 2) ** Zeta, cos(theta' - S) = c cos S + s sin S
    for p in range(npair):  # sin(theta'), in a loop of its own: vectorised
        c = p_c[p]
        p_s[p] = math.sqrt(max(0.0, 1.0 - c * c))
    for p in range(npair):
        c = p_c[p]
        s = p_s[p]
        for z in range(nZ):
            X[_U(p * nZ + z)] = max(0.5 + 0.5 * (c * cosZ[z] + s * sinZ[z]), 1e-300)
    if zint > 0 and (zint & (zint - 1)) == 0:
        # power of two (ani1x: 32): repeated squaring, vectorised over elements
        k = zint
        while k > 1:
            for x in range(npair * nZ):
                X[x] *= X[x]
            k >>= 1
    elif zint > 0:
        for x in range(npair * nZ):
            X[x] = _ipow(X[x], zint)
    else:
        for x in range(npair * nZ):
            X[x] = exp1(Zeta * log1(X[x]))
    for p in range(npair):
        w = p_w[p]
        for z in range(nZ):
            X[_U(p * nZ + z)] *= w
    # each block: acc[ShfA, ShfZ] += sum over its pairs of G[p, ShfA] X[p, ShfZ]
    for b in range(n_runs):
        lo = runs[3 * b]
        hi = runs[3 * b + 1]
        base = runs[3 * b + 2]
        if nA == 8 and nZ == 4:  # ani2x
            tile8x4(acc, base, X, G, lo, hi)
        elif nA == 4 and nZ == 8:  # ani1x
            tile4x8(acc, base, X, G, lo, hi)
        else:
            for p in range(lo, hi):
                x = p * nZ
                for a in range(nA):
                    ga = G[_U(p * nA + a)]
                    o = _U(base + a * nZ)
                    for z in range(nZ):
                        acc[o + _U(z)] += ga * X[_U(x + z)]


@njit(cache=True, nogil=True, error_model="numpy", fastmath=_FM)
def aev_block(c_lo, c_hi, cart, frac, cell, species, mol_ids, centres, m, bin_start, bin_atoms,
              bin_cart, reach, mol_shift, exclude, Rcr, Rca, EtaR, ShfR, planR, EtaA, ShfA, planA, Zeta,
              ShfZ, triu, n_species, out):
    """Fill ``out[c]`` ((n_centres, n_features) float64) for ``c_lo <= c < c_hi``
    with the AEV of atom ``centres[c]``.

    ``cart``/``frac``: wrapped positions; ``m``, ``bin_start``, ``bin_atoms``,
    ``bin_cart``, ``reach``: the cell list of :mod:`latentcsp.structure.pbc` built for ``Rcr``;
    ``species``: index into the parameter set's species, per atom;
    ``mol_ids``, ``mol_shift``, ``exclude``: see :func:`latentcsp.structure.pbc.centre_neighbours`;
    ``planR``: :func:`radial_plan`; ``planA``: :func:`angular_plan`.

    Releases the GIL: blocks of centres can run in parallel Python threads,
    each writing its own rows.  Each centre is computed independently and in
    a fixed order, so the result does not depend on how centres are blocked
    or on the number of threads.
    """
    if c_hi <= c_lo:
        return
    nR = ShfR.shape[0]
    nA = ShfA.shape[0]
    nZ = ShfZ.shape[0]
    rad_len = n_species * nR
    n_blocks = (n_species * (n_species + 1)) >> 1
    cosZ = np.cos(ShfZ)
    sinZ = np.sin(ShfZ)
    pi_r = math.pi / Rcr
    cap = max_candidates(cart.shape[0], m, reach)
    bj = np.empty(cap, np.int64)
    bs = np.empty((cap, 3), np.int64)
    bv = np.empty((cap, 3))
    br = np.empty(cap)
    gR = np.empty(cap * nR)
    fcR = np.empty(cap)
    r2_buf = np.empty(cart.shape[0])
    sel_buf = np.empty(cart.shape[0], np.int64)
    a_t = np.empty(cap, np.int64)
    sp_end = np.empty(n_species + 1, np.int64)
    runs = np.empty(3 * n_blocks, np.int64)
    a_r = np.empty(cap)
    a_ux = np.empty(cap)
    a_uy = np.empty(cap)
    a_uz = np.empty(cap)
    a_fc = np.empty(cap)
    a_F = np.empty(cap * nA)
    pcap = 256
    p_c = np.empty(pcap)
    p_s = np.empty(pcap)
    p_w = np.empty(pcap)
    p_e = np.empty(pcap)
    X = np.empty(pcap * nZ)
    G = np.empty(pcap * nA)
    acc = np.empty(out.shape[1])
    for c in range(c_lo, c_hi):
        for t in range(acc.shape[0]):
            acc[t] = 0.0
        # (neighbour search, radial terms and the gathering of the angular
        # neighbours stay in this loop: a helper taking these ~30 arrays cost
        # 10 % in reference counting)
        cnt = centre_neighbours(centres[c], cart, frac, cell, m, bin_start, bin_atoms, bin_cart, reach,
                                Rcr, mol_ids, mol_shift, exclude, bj, bs, bv, br, r2_buf, sel_buf)
        if planR[32] != 0.0:
            _radial_factorised(cnt, species, bj, br, pi_r, EtaR, ShfR[0], planR, acc, gR, fcR)
        else:
            _radial_direct(cnt, species, bj, br, pi_r, EtaR, ShfR, acc, gR, fcR)
        # neighbours within Rca: distance and unit vector, grouped by species
        # (counting sort; species s ends at sp_end[s])
        na = 0
        for t in range(cnt):
            if br[t] <= Rca:
                a_t[na] = t
                na += 1
        for s in range(n_species + 1):
            sp_end[s] = 0
        for q in range(na):
            sp_end[species[bj[a_t[q]]] + 1] += 1
        for s in range(n_species):
            sp_end[s + 1] += sp_end[s]
        for q in range(na):
            t = a_t[q]
            s = species[bj[t]]
            d = sp_end[s]
            sp_end[s] = d + 1
            r = br[t]
            inv = 1.0 / r if r > 0.0 else 0.0
            a_r[d] = r
            a_ux[d] = bv[t, 0] * inv
            a_uy[d] = bv[t, 1] * inv
            a_uz[d] = bv[t, 2] * inv
        npair = (na * (na - 1)) >> 1
        if npair > 0:
            if npair > pcap:
                pcap = max(npair, 2 * pcap)
                p_c = np.empty(pcap)
                p_s = np.empty(pcap)
                p_w = np.empty(pcap)
                p_e = np.empty(pcap)
                X = np.empty(pcap * nZ)
                G = np.empty(pcap * nA)
            _angular(na, sp_end, n_species, a_r, a_ux, a_uy, a_uz, a_fc, a_F, Rca, EtaA, ShfA, planA,
                     Zeta, cosZ, sinZ, triu, rad_len, acc, p_c, p_s, p_w, p_e, runs, X, G)
        row = out[c]
        for t in range(acc.shape[0]):
            row[t] = acc[t]
