"""Parameter sets for the ANI-style atomic environment vectors (AEVs).

A parameter set is data: a frozen :class:`AEVParams`.  Two presets ship,
``ani1x`` and ``ani2x``, with exactly the constants TorchANI uses
(``torchani.aev.AEVComputer.like_1x()`` / ``like_2x()``, TorchANI 2.9):

* the cutoffs ``Rcr`` and ``Rca`` are plain Python floats (float64) in TorchANI,
  so they are kept exact here (5.2, 5.1, 3.5);
* ``EtaR, ShfR, EtaA, Zeta, ShfA, ShfZ`` are float32 buffers in TorchANI (a model
  computed "in float64" converts those float32 buffers to float64).  The shifts
  are built by TorchANI's pure-Python ``linspace(start, stop, n)`` =
  ``start + ((stop - start) / n) * k`` in float64 and then stored as float32.
  The presets here reproduce that: same float64 linspace, then rounded to the
  nearest float32 (``float(np.float32(x))``).  E.g. ani2x ``Zeta`` is
  14.100000381469727, not 14.1, and ``ShfZ[0]`` is 0.39269909262657166, not
  pi/8 = 0.39269908169872414.

With these constants and float64 arithmetic the AEVs agree with TorchANI in
float64 to ~1e-12 (the tests require <= 1e-5).

Custom sets come from config as a mapping; see :func:`get_params`.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field, fields
from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["AEVParams", "PRESETS", "get_params", "ani1x", "ani2x", "smooth", "torchani_linspace"]

#: Version tag of the functional form computed by the kernels; part of the hash,
#: so that a change in what the numbers mean invalidates cached descriptors.
FORMULA_VERSION = "ani-aev-1"

# Chemical symbols (Z = 1..118), for validating custom species lists.
_SYMBOLS = (
    "H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn "
    "Ga Ge As Se Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce "
    "Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn "
    "Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr Rf Db Sg Bh Hs Mt Ds Rg Cn Nh Fl "
    "Mc Lv Ts Og"
).split()
SYMBOL_TO_Z = {s: i + 1 for i, s in enumerate(_SYMBOLS)}


def _f32(x: float) -> float:
    """Nearest float32 value of ``x``, returned as a Python float."""
    return float(np.float32(x))


def torchani_linspace(start: float, stop: float, n: int) -> tuple[float, ...]:
    """TorchANI's ``utils.linspace``: ``start + ((stop - start) / n) * k``, k < n
    (the stop value is excluded), in float64."""
    return tuple(start + ((stop - start) / n) * k for k in range(n))


@dataclass(frozen=True)
class AEVParams:
    """One AEV parameter set (ANI-1 functional form).

    Lengths in Å, ``EtaR``/``EtaA`` in Å⁻², ``ShfZ`` in radians.

    Attributes
    ----------
    Rcr, Rca : radial and angular cutoffs (``Rca <= Rcr``).
    EtaR, ShfR : radial Gaussian width and centres (one EtaR, as in TorchANI).
    EtaA, Zeta, ShfA, ShfZ : angular radial width, angular exponent, radial
        centres of the angular terms, angular section centres.
    species : element symbols; their order defines the AEV layout.
    name : label only (not part of :meth:`hash`).
    """

    Rcr: float
    Rca: float
    EtaR: float
    ShfR: tuple[float, ...]
    EtaA: float
    Zeta: float
    ShfA: tuple[float, ...]
    ShfZ: tuple[float, ...]
    species: tuple[str, ...]
    name: str = field(default="custom", compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        for key in ("Rcr", "Rca", "EtaR", "EtaA", "Zeta"):
            v = float(getattr(self, key))
            if not math.isfinite(v) or v <= 0:
                raise ValueError(f"AEV parameter {key} must be a positive number, got {v!r}")
            set_(self, key, v)
        for key in ("ShfR", "ShfA", "ShfZ"):
            raw = getattr(self, key)
            if isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence | np.ndarray):
                raise ValueError(f"AEV parameter {key} must be a list of numbers, got {raw!r}")
            vals = tuple(float(x) for x in raw)
            if not vals or not all(math.isfinite(x) for x in vals):
                raise ValueError(f"AEV parameter {key} must be a non-empty list of finite numbers")
            set_(self, key, vals)
        if self.Rca > self.Rcr:
            raise ValueError(f"angular cutoff Rca={self.Rca} must not exceed radial cutoff Rcr={self.Rcr}")
        species = tuple(str(s) for s in self.species)
        if not species:
            raise ValueError("AEV parameter set needs at least one species")
        bad = [s for s in species if s not in SYMBOL_TO_Z]
        if bad:
            raise ValueError(f"unknown element symbol(s) in species: {bad}")
        if len(set(species)) != len(species):
            raise ValueError(f"duplicate species in {species}")
        set_(self, "species", species)

    # ------------------------------------------------------------------ sizes
    @property
    def n_species(self) -> int:
        return len(self.species)

    @property
    def n_species_pairs(self) -> int:
        n = len(self.species)
        return n * (n + 1) // 2

    @property
    def radial_length(self) -> int:
        """Length of the radial block: ``n_species * len(ShfR)``."""
        return self.n_species * len(self.ShfR)

    @property
    def angular_length(self) -> int:
        """Length of the angular block: ``n_pairs * len(ShfA) * len(ShfZ)``."""
        return self.n_species_pairs * len(self.ShfA) * len(self.ShfZ)

    @property
    def n_features(self) -> int:
        """AEV length (384 for ani1x, 1008 for ani2x)."""
        return self.radial_length + self.angular_length

    @property
    def atomic_numbers(self) -> tuple[int, ...]:
        return tuple(SYMBOL_TO_Z[s] for s in self.species)

    def species_index(self, numbers: Sequence[int] | np.ndarray) -> np.ndarray:
        """Map atomic numbers to indices into ``species`` (int64 array).

        Raises ValueError naming the first element outside the set.
        """
        numbers = np.asarray(numbers, dtype=np.int64)
        lut = np.full(max(119, int(numbers.max(initial=0)) + 1), -1, dtype=np.int64)
        for i, z in enumerate(self.atomic_numbers):
            lut[z] = i
        idx = lut[numbers]
        if (idx < 0).any():
            missing = sorted({int(z) for z in numbers[idx < 0]})
            names = [_SYMBOLS[z - 1] if 1 <= z <= len(_SYMBOLS) else f"Z={z}" for z in missing]
            raise ValueError(
                f"element(s) {', '.join(names)} not covered by AEV preset "
                f"'{self.name}' (species {' '.join(self.species)}); use a preset or custom "
                f"parameter set that includes them"
            )
        return idx

    def feature_names(self) -> list[str]:
        """Human-readable labels, one per feature, in output order."""
        names = [f"R:{s}:{k}" for s in self.species for k in range(len(self.ShfR))]
        n = self.n_species
        for a in range(n):
            for b in range(a, n):
                for ia in range(len(self.ShfA)):
                    for iz in range(len(self.ShfZ)):
                        names.append(f"A:{self.species[a]}{self.species[b]}:{ia}:{iz}")
        return names

    # ------------------------------------------------------------- identity
    def to_dict(self) -> dict[str, Any]:
        """The parameter record (JSON-serialisable, floats exact via repr)."""
        return {
            "name": self.name,
            "formula": FORMULA_VERSION,
            "Rcr": self.Rcr,
            "Rca": self.Rca,
            "EtaR": self.EtaR,
            "ShfR": list(self.ShfR),
            "EtaA": self.EtaA,
            "Zeta": self.Zeta,
            "ShfA": list(self.ShfA),
            "ShfZ": list(self.ShfZ),
            "species": list(self.species),
            "n_features": self.n_features,
        }

    def canonical_json(self) -> str:
        """Canonical JSON of the numbers that define the features (no name)."""
        d = self.to_dict()
        d.pop("name")
        return json.dumps(d, sort_keys=True, separators=(",", ":"), allow_nan=False)

    def hash(self) -> str:
        """sha256 hex digest of :meth:`canonical_json`; stable across runs and
        machines (Python's float repr is exact and platform independent)."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()

    def replace(self, **changes: Any) -> "AEVParams":
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d.update(changes)
        return AEVParams(**d)


def _preset(name: str, *, Rcr, Rca, EtaR, r_start, nR, EtaA, Zeta, a_start, nA, nZ, species) -> AEVParams:
    ShfR = tuple(_f32(x) for x in torchani_linspace(r_start, Rcr, nR))
    ShfA = tuple(_f32(x) for x in torchani_linspace(a_start, Rca, nA))
    angle_start = math.pi / nZ / 2
    ShfZ = tuple(_f32(x) for x in torchani_linspace(angle_start, math.pi + angle_start, nZ))
    return AEVParams(
        Rcr=Rcr, Rca=Rca, EtaR=_f32(EtaR), ShfR=ShfR, EtaA=_f32(EtaA), Zeta=_f32(Zeta),
        ShfA=ShfA, ShfZ=ShfZ, species=tuple(species), name=name,
    )


#: ANI-1x: Rcr 5.2, Rca 3.5, EtaR 16, ShfR 0.9 + 0.26875 k (k < 16), EtaA 8,
#: Zeta 32, ShfA 0.9 + 0.65 k (k < 4), ShfZ (2k+1) pi/16 (k < 8); H C N O.
ani1x = _preset(
    "ani1x", Rcr=5.2, Rca=3.5, EtaR=16.0, r_start=0.9, nR=16, EtaA=8.0, Zeta=32.0,
    a_start=0.9, nA=4, nZ=8, species=("H", "C", "N", "O"),
)

#: ANI-2x: Rcr 5.1, Rca 3.5, EtaR 19.7, ShfR 0.8 + 0.26875 k (k < 16), EtaA 12.5,
#: Zeta 14.1, ShfA 0.8 + 0.3375 k (k < 8), ShfZ (2k+1) pi/8 (k < 4); H C N O S F Cl.
ani2x = _preset(
    "ani2x", Rcr=5.1, Rca=3.5, EtaR=19.7, r_start=0.8, nR=16, EtaA=12.5, Zeta=14.1,
    a_start=0.8, nA=8, nZ=4, species=("H", "C", "N", "O", "S", "F", "Cl"),
)

#: smooth: the ANI functional form with broad Gaussians, for dimension estimates rather than
#: energies. Rcr 8, Rca 6, EtaR 1 (Gaussians ~1.7 Å wide), ShfR 1 + 0.875 k (k < 8),
#: EtaA 0.5, Zeta 2, ShfA 1 + 1.25 k (k < 4), ShfZ (2k+1) pi/8 (k < 4); ANI-2x's species.
#: ANI-2x's narrow radial Gaussians (EtaR 19.7) make the map from a crystal's degrees of
#: freedom to its descriptors so curved that intrinsic-dimension estimators see 2-3 times
#: the true dimension at a thousand structures; this set keeps them within a calibratable
#: range (README: "Calibrated dimensions" has the measured ladder errors).
smooth = _preset(
    "smooth", Rcr=8.0, Rca=6.0, EtaR=1.0, r_start=1.0, nR=8, EtaA=0.5, Zeta=2.0,
    a_start=1.0, nA=4, nZ=4, species=("H", "C", "N", "O", "S", "F", "Cl"),
)

PRESETS: dict[str, AEVParams] = {"ani1x": ani1x, "ani2x": ani2x, "smooth": smooth}

_KEYS = ("Rcr", "Rca", "EtaR", "ShfR", "EtaA", "Zeta", "ShfA", "ShfZ", "species", "name")


def _expand_shifts(key: str, v: Any) -> Any:
    """Allow ``{start, stop, num}`` (TorchANI linspace, stop excluded) for a shift list."""
    if isinstance(v, Mapping):
        unknown = set(v) - {"start", "stop", "num"}
        if unknown or not {"start", "stop", "num"} <= set(v):
            raise ValueError(f"{key}: a linspace needs exactly start, stop, num; got {dict(v)}")
        return torchani_linspace(float(v["start"]), float(v["stop"]), int(v["num"]))
    return v


def get_params(spec: str | Mapping[str, Any] | AEVParams = "ani2x") -> AEVParams:
    """Resolve a parameter set.

    ``spec`` is a preset name (``"ani1x"``, ``"ani2x"``), an :class:`AEVParams`,
    or a mapping from config.  A mapping may name a base preset with ``preset``
    and override any of ``Rcr Rca EtaR ShfR EtaA Zeta ShfA ShfZ species name``;
    without ``preset`` it must give them all.  A shift list may be given as
    ``{start: .., stop: .., num: ..}`` (TorchANI's linspace, stop excluded).
    Custom values are used exactly as written (no float32 rounding).
    """
    if isinstance(spec, AEVParams):
        return spec
    if isinstance(spec, str):
        try:
            return PRESETS[spec.lower()]
        except KeyError:
            raise ValueError(f"unknown AEV preset {spec!r}; known: {sorted(PRESETS)}") from None
    if not isinstance(spec, Mapping):
        raise TypeError(f"AEV parameters must be a preset name or a mapping, got {type(spec).__name__}")
    spec = dict(spec)
    base_name = spec.pop("preset", None)
    unknown = set(spec) - set(_KEYS)
    if unknown:
        raise ValueError(f"unknown AEV parameter key(s) {sorted(unknown)}; allowed: {list(_KEYS)} and 'preset'")
    if base_name is not None:
        base = get_params(str(base_name))
        values = {f.name: getattr(base, f.name) for f in fields(base)}
        values["name"] = f"{base.name}-custom" if spec else base.name
    else:
        missing = [k for k in _KEYS if k != "name" and k not in spec]
        if missing:
            raise ValueError(f"custom AEV parameters miss {missing} (or give 'preset' to start from)")
        values = {"name": "custom"}
    for k, v in spec.items():
        values[k] = _expand_shifts(k, v) if k in ("ShfR", "ShfA", "ShfZ") else v
    return AEVParams(**values)
