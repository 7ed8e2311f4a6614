"""Minimisations in the order they were spent, and which of them found something new.

:func:`relax` minimises start structures one after the other with the generator's force
field (:func:`latentcsp.synth.minimise.minimise`); :class:`Minima` keeps every outcome in
that order. Two minima are the same structure when energy, density and centroid
fingerprint agree (:func:`latentcsp.synth.minimise.same_minima`, the generator's own
deduplication). :func:`discoveries` marks the minimisations that found a low-energy
minimum that was neither known before the search nor found by an earlier minimisation of
the same search: the count behind the search-efficiency comparison.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..synth.minimise import MinimiseOptions, centroid_fingerprint, minimise, same_minima
from ..synth.model import CrystalModel


@dataclass
class Minima:
    """Outcomes of m minimisations, in the order they ran.

    thetas (m, n_dof): final DoF vectors; energy (m,) kJ/mol per molecule; density (m,)
    g/cm^3; fingerprint (m, 16) Å; ok (m,): converged, off the cell bounds and with no
    contact below the collapse threshold (the generator's criterion of a minimum);
    evaluations (m,): energy evaluations spent.
    """

    thetas: np.ndarray
    energy: np.ndarray
    density: np.ndarray
    fingerprint: np.ndarray
    ok: np.ndarray
    evaluations: np.ndarray

    def __len__(self) -> int:
        return len(self.energy)

    def take(self, index) -> "Minima":
        """The outcomes at ``index`` (a mask or indices), in that order."""
        return Minima(*(np.asarray(v)[index] for v in (self.thetas, self.energy, self.density, self.fingerprint,
                                                      self.ok, self.evaluations)))

    def unique(self) -> np.ndarray:
        """Indices of the first occurrence of each distinct good minimum, in order."""
        good = np.flatnonzero(self.ok)
        same = self.same_as(self.take(good))  # (m, len(good))
        return np.array([i for k, i in enumerate(good) if not same[i, :k].any()], dtype=np.int64)

    def same_as(self, other: "Minima") -> np.ndarray:
        """(m, k) mask: outcome i is the same structure as ``other``'s outcome j (both good)."""
        same = same_minima(self.energy, self.density, self.fingerprint, other.energy, other.density,
                           other.fingerprint)
        return same & self.ok[:, None] & other.ok[None, :]


def relax(model: CrystalModel, starts, options: MinimiseOptions | None = None) -> Minima:
    """Minimise each start DoF vector (B, n_dof) in turn."""
    options = options or MinimiseOptions()
    rows = []
    for theta in np.atleast_2d(starts):
        r = minimise(model, theta, options)
        ok = bool(r.converged and r.min_contact >= options.collapse)
        rows.append((r.theta, r.energy, model.density(r.theta), centroid_fingerprint(model, r.theta), ok, r.n_eval))
    if not rows:
        return Minima(np.zeros((0, model.n_dof)), np.zeros(0), np.zeros(0), np.zeros((0, 16)), np.zeros(0, bool),
                      np.zeros(0, np.int64))
    cols = list(zip(*rows))
    return Minima(np.array(cols[0]), np.array(cols[1], float), np.array(cols[2], float), np.array(cols[3]),
                  np.array(cols[4], bool), np.array(cols[5], np.int64))


def discoveries(found: Minima, known: Minima, highest: float) -> np.ndarray:
    """(m,) mask of the minimisations of ``found`` that discovered a new low-energy minimum:
    a good minimum at or below ``highest`` kJ/mol that is the same structure as no good
    minimum of ``known`` and as no good minimum of an earlier minimisation of ``found``.
    Its cumulative sum is the count against minimisations spent."""
    low = found.ok & (found.energy <= highest)
    if len(known):
        low &= ~found.same_as(known).any(axis=1)
    first = np.zeros(len(found), bool)
    first[found.unique()] = True
    return low & first


def reaches(found: Minima, target: Minima) -> bool:
    """Whether any good minimum of ``found`` is the same structure as a minimum of ``target``."""
    return bool(len(found) and len(target) and found.same_as(target).any())
