"""Reference ensembles of known dimension: crystals of one rigid molecule in one space
group in which only a chosen subset of the degrees of freedom (DoF) varies.

An :class:`Ensemble` names the DoF that vary (``CrystalModel.names``); the others keep
the values of a base crystal. The varied ones are sampled

* ``full``: over the generator's quasi-random ranges (:mod:`.sampling`: length ratios,
  angles, packing coefficient, uniform rotation, uniform centroid fractions), or
* ``local``: uniformly in base ± ``amplitude`` x :data:`LOCAL_STEP` (a neighbourhood of
  one packing, as a landscape around a minimum samples it), or
* ``gaussian``: normally around the base, standard deviation ``amplitude`` x
  :data:`LOCAL_STEP` (a neighbourhood whose density falls off away from the packing),

from a scrambled Sobol sequence or pseudo-random numbers, keeping the clash-free
crystals. The crystals lie on a manifold of dimension ``len(free)`` (the map from DoF
to crystal is locally one-to-one), which is what the calibration of the dimension
estimators needs (:mod:`latentcsp.analysis.calibration`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri
from scipy.stats import qmc

from .model import CrystalModel
from .sampling import SamplingOptions, accept, thetas_from_unit

#: One step of local sampling per kind of DoF: lattice lengths (Å), lattice angles and
#: rotation-vector components (radians), centroid fractions. Each moves atoms by
#: roughly 0.5 Å in a molecular crystal.
LOCAL_STEP = {"length": 0.5, "angle": float(np.radians(5.0)), "rotation": 0.2, "position": 0.05}
SCHEMES = ("full", "local", "gaussian")
SEQUENCES = ("sobol", "random")


def dof_kind(name: str) -> str:
    """'length', 'angle', 'rotation' or 'position' for a DoF name of :class:`CrystalModel`."""
    if name in ("a", "b", "c"):
        return "length"
    if name in ("alpha", "beta", "gamma"):
        return "angle"
    return "rotation" if name.startswith("rot_") else "position"


@dataclass(frozen=True)
class Ensemble:
    """Which DoF vary and how.

    ``free``: DoF names that vary. ``scheme``: ``full``, ``local`` or ``gaussian``.
    ``amplitude``: for ``local`` (half-width) and ``gaussian`` (standard deviation),
    multiples of :data:`LOCAL_STEP`, one number for every kind or a mapping kind -> number.
    ``sequence``: ``sobol`` (scrambled) or ``random``. ``full_kinds``: for ``local`` and
    ``gaussian``, kinds of DoF (:func:`dof_kind`) sampled over the full range instead (a
    landscape whose molecules turn freely while its lattice stays near one packing).
    """

    free: tuple[str, ...]
    scheme: str = "full"
    amplitude: float | tuple[tuple[str, float], ...] = 1.0
    sequence: str = "sobol"
    full_kinds: tuple[str, ...] = ()

    def __post_init__(self):
        if self.scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {SCHEMES}, got {self.scheme!r}")
        if self.sequence not in SEQUENCES:
            raise ValueError(f"sequence must be one of {SEQUENCES}, got {self.sequence!r}")
        if isinstance(self.amplitude, dict):
            object.__setattr__(self, "amplitude", tuple(sorted(self.amplitude.items())))
        object.__setattr__(self, "full_kinds", tuple(self.full_kinds))
        unknown = set(self.full_kinds) - set(LOCAL_STEP)
        if unknown:
            raise ValueError(f"full_kinds must be among {tuple(LOCAL_STEP)}, got {sorted(unknown)}")

    @classmethod
    def from_record(cls, record: dict) -> "Ensemble":
        """The ensemble of a ``dataclasses.asdict`` record read back from JSON."""
        amp = record.get("amplitude", 1.0)
        amp = {str(k): float(v) for k, v in amp} if isinstance(amp, list) else amp
        return cls(tuple(record["free"]), record.get("scheme", "full"), amp, record.get("sequence", "sobol"),
                   tuple(record.get("full_kinds", ())))

    @property
    def dimension(self) -> int:
        return len(self.free)

    def steps(self, names) -> np.ndarray:
        """Local half-widths or standard deviations (len(names),) in the DoF's units."""
        amp = dict(self.amplitude) if isinstance(self.amplitude, tuple) else {}
        scale = [amp.get(dof_kind(n), 1.0) if amp else float(self.amplitude) for n in names]
        return np.array([LOCAL_STEP[dof_kind(n)] * s for n, s in zip(names, scale)])

    @property
    def sampling(self) -> str:
        """How the free DoF are drawn, in words: 'full', 'local x1', 'gaussian x0.5', ..."""
        if self.scheme == "full":
            return "full"
        amp = self.amplitude if not isinstance(self.amplitude, tuple) else \
            "/".join(f"{k[0]}{v:g}" for k, v in self.amplitude)
        wide = f", {'/'.join(self.full_kinds)} full" if self.full_kinds else ""
        return f"{self.scheme} x{amp}{wide}"

    def label(self) -> str:
        return f"{'+'.join(self.free)} ({self.sampling}, {self.sequence})"


def check_free(model: CrystalModel, ensemble: Ensemble) -> None:
    """ValueError naming the free DoF that ``model``'s space group does not have."""
    unknown = [f for f in ensemble.free if f not in model.names]
    if unknown:
        raise ValueError(f"{model.sg.symbol} has no DoF {unknown}; its DoF are {model.names}")


def sample(model: CrystalModel, ensemble: Ensemble, base: np.ndarray, n: int, seed: int = 0,
           opts: SamplingOptions | None = None, max_attempts: int | None = None) -> tuple[np.ndarray, int]:
    """``n`` clash-free DoF vectors (<= n, n_dof) of ``ensemble`` around/with ``base``, and
    the proposals used. Fewer than ``n`` when ``max_attempts`` (default 5000 n) ran out."""
    opts = opts or SamplingOptions()
    check_free(model, ensemble)
    base = np.asarray(base, dtype=float)
    free = np.isin(model.names, ensemble.free)
    wide = np.isin([dof_kind(n) for n in model.names], ensemble.full_kinds)
    steps = ensemble.steps(model.names)
    if ensemble.sequence == "sobol":
        draw = qmc.Sobol(model.n_dof, scramble=True, seed=seed).random
    else:
        rng = np.random.default_rng(seed)
        draw = lambda size: rng.random((size, model.n_dof))  # noqa: E731

    def propose(size: int):
        u = draw(size)
        if ensemble.scheme == "full":
            thetas, valid = thetas_from_unit(model, u, opts)
        else:
            shape = ndtri(np.clip(u, 1e-12, 1 - 1e-12)) if ensemble.scheme == "gaussian" else 2 * u - 1
            thetas, valid = base + steps * shape, np.ones(size, dtype=bool)
            if wide.any():
                full, full_valid = thetas_from_unit(model, u, opts)
                thetas = np.where(wide, full, thetas)
                valid = full_valid if wide[: model.n_lat].any() else valid
        return np.where(free, thetas, base), valid

    return accept(model, propose, n, opts.clash, max_attempts or opts.max_attempts_per_trial * max(n, 1))
