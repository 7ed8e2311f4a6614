"""Plain, slow reference for the generator's exp-6 lattice energy (tests only).

The parameters are transcribed here from the literature independently of
``latentcsp.synth.forcefield``: W99 like-type (A kJ/mol, B 1/Å, C kJ/mol Å^6) as in the
W99 parameter files of mol-CSPy and soprano (converted from eV), and DREIDING's exp-6
(R0 Å, D0 kcal/mol, zeta) from Mayo, Olafson & Goddard, J. Phys. Chem. 94, 8897 (1990),
Table II, evaluated in DREIDING's own form.
"""

from __future__ import annotations

import math

import numpy as np

W99 = {
    "C_W2": (103235.0, 3.60, 1435.09), "C_W3": (270363.0, 3.60, 1701.73), "C_W4": (131571.0, 3.60, 978.36),
    "H_W1": (12680.0, 3.56, 278.37), "H_W2": (361.3, 3.56, 0.0), "H_W3": (115.7, 3.56, 0.0),
    "H_W4": (764.9, 3.56, 0.0),
    "N_W1": (96349.0, 3.48, 1407.57), "N_W2": (102369.0, 3.48, 1398.15), "N_W3": (191935.0, 3.48, 2376.55),
    "N_W4": (405341.0, 3.48, 5629.82),
    "O_W1": (241042.0, 3.96, 1260.73), "O_W2": (284623.0, 3.96, 1285.87),
}
DREIDING = {"F_": (3.4720, 0.0725, 14.444), "Cl": (3.9503, 0.2833, 13.861), "S_3": (4.03, 0.344, 12.0),
            "H_": (3.195, 0.0152, 12.382)}
KCAL = 4.184


def like_abc(t: str) -> tuple[float, float, float]:
    """A, B, C of one type with itself."""
    if t in W99:
        return W99[t]
    r0, d0, zeta = DREIDING[t]
    d0 *= KCAL
    return 6 * d0 * math.exp(zeta) / (zeta - 6), zeta / r0, zeta * d0 * r0**6 / (zeta - 6)


def pair_energy(t1: str, t2: str, r):
    """Exp-6 energy (kJ/mol) of a t1-t2 pair at r Å (float or array); like DREIDING pairs in
    DREIDING's own form, other pairs by Williams' combining rules."""
    if t1 == t2 and t1 in DREIDING:
        r0, d0, zeta = DREIDING[t1]
        return d0 * KCAL * (6 / (zeta - 6) * np.exp(zeta * (1 - r / r0)) - zeta / (zeta - 6) * (r0 / r) ** 6)
    (a1, b1, c1), (a2, b2, c2) = like_abc(t1), like_abc(t2)
    return math.sqrt(a1 * a2) * np.exp(-(b1 + b2) / 2 * r) - math.sqrt(c1 * c2) / r**6


def lattice_energy(model, theta, types: list[str], nimg: int = 4) -> float:
    """Every atom of molecule 0 against every atom of the cell in (2 nimg + 1)^3 images
    (an array over the images), with the model's switched exp-6 (kJ/mol per molecule).

    ``types``: the force-field type of each atom of the molecule (not the model's).
    """
    s = model.build(theta)
    cell, x = s["cell"], s["x"]
    every = types * model.sg.z
    mol_of = np.repeat(np.arange(model.sg.z), model.n0)
    rng = range(-nimg, nimg + 1)
    shifts = np.array([[i, j, k] for i in rng for j in rng for k in rng]) @ cell
    zero = np.flatnonzero(np.all(shifts == 0, axis=1))[0]
    rc, ron = model.cutoff, model.r_on
    total = 0.0
    for i in range(model.n0):
        for j in range(len(x)):
            d = np.linalg.norm(x[j] + shifts - x[i], axis=1)
            if mol_of[j] == 0:
                d[zero] = np.inf  # the same molecule
            d = d[d < rc]
            t = np.clip((d - ron) / (rc - ron), 0, 1)
            total += 0.5 * np.sum(pair_energy(types[i], every[j], d) * (1 - t**3 * (10 - 15 * t + 6 * t**2)))
    return total
