"""Is a crystal one of the landscape's? Energy, density and PDD similarity.

A crystal matches a landscape structure when its lattice energy (the landscape's energies
are the same force field's, kJ/mol per molecule) and density agree within tolerances and
the earth mover's distance between their pointwise distance distributions (PDD, Widdowson
& Kurlin, :mod:`latentcsp.analysis.similarity`) is at most ``emd`` Å. Energy and density
only preselect candidates; the PDD, a continuous isometry invariant independent of the
cell and origin, decides. Among several matches the closest by EMD is reported.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from ..analysis.similarity import pdd
from ..store import StructureSet


@dataclass(frozen=True)
class MatchTolerances:
    """energy kJ/mol, density g/cm^3, emd Å (PDD earth mover's distance, Chebyshev rows),
    k: neighbours per PDD row."""

    energy: float = 0.5
    density: float = 0.02
    emd: float = 0.05
    k: int = 100

    def to_dict(self) -> dict:
        return asdict(self)


def match_landscape(crystals, energies, densities, landscape: StructureSet, manifest: pd.DataFrame,
                    tol: MatchTolerances | None = None) -> pd.DataFrame:
    """The landscape structure each crystal is, if any.

    crystals: (cell (3, 3), positions (n, 3), numbers (n,)) per crystal; energies, densities:
    per crystal (kJ/mol per molecule, g/cm^3); landscape and manifest: the ingested landscape
    (``manifest.energy``, ``manifest.density``; a NaN energy, as for a landscape of another
    energy model, leaves energy out of the comparison). Returns one row per crystal: ``match`` (the
    landscape id, '' when none), ``emd`` (Å, to the closest candidate; NaN without
    candidates), ``candidates`` (structures within the energy and density tolerances).
    """
    import amd

    tol = tol or MatchTolerances()
    ids = list(manifest.id)
    where = {k: n for n, k in enumerate(landscape.ids)}
    e_land, rho_land = manifest.energy.to_numpy(float), manifest.density.to_numpy(float)
    cache: dict[int, np.ndarray] = {}

    def landscape_pdd(j: int) -> np.ndarray:
        if j not in cache:
            s = where[ids[j]]
            part = landscape.atoms_of(s)
            cache[j] = pdd(landscape.cell[s], landscape.positions[part], landscape.numbers[part], k=tol.k)
        return cache[j]

    rows = []
    for (cell, positions, numbers), e, rho in zip(crystals, energies, densities):
        same_energy = np.isnan(e_land) | (np.abs(e_land - e) <= tol.energy)
        near = np.flatnonzero(same_energy & (np.abs(rho_land - rho) <= tol.density))
        row = {"match": "", "emd": np.nan, "candidates": len(near)}
        if len(near):
            mine = pdd(cell, positions, numbers, k=tol.k)
            emd = np.array([amd.EMD(mine, landscape_pdd(j)) for j in near])
            best = int(np.argmin(emd))
            row["emd"] = float(emd[best])
            if emd[best] <= tol.emd:
                row["match"] = ids[near[best]]
        rows.append(row)
    return pd.DataFrame(rows, columns=["match", "emd", "candidates"])
