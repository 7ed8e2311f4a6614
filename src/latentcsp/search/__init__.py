"""From the latent space back to crystals, for landscapes of rigid molecules.

* :class:`DofEncoding` — DoF vectors as features without wrap-around jumps (log volume and
  length ratios, 6-d rotations, (cos, sin) of fractions), and back;
* :class:`CrystalGenerator` — a generative model of one space group's crystals whose
  latent space the descriptors and the DoF coordinates share (joint probabilistic PCA, a
  Gaussian mixture in its latent space);
* :func:`match_landscape` — which landscape structure a crystal is (energy, density, PDD);
* :func:`relax`, :func:`discoveries` — minimisations in order and the new low-energy minima
  they found; :func:`run_seed`, :func:`compare` — latent-guided against continued Sobol
  search for the same number of minimisations;
* :func:`run` — the ``latentcsp search`` stage of one group (:mod:`.stage`).
"""

from .efficiency import EfficiencySettings, SeedRun, compare, run_seed
from .encoding import DofEncoding
from .match import MatchTolerances, match_landscape
from .minima import Minima, discoveries, reaches, relax
from .model import CrystalGenerator, GeneratorSettings
from .stage import SearchSettings, run

__all__ = [
    "CrystalGenerator",
    "DofEncoding",
    "EfficiencySettings",
    "GeneratorSettings",
    "MatchTolerances",
    "Minima",
    "SearchSettings",
    "SeedRun",
    "compare",
    "discoveries",
    "match_landscape",
    "reaches",
    "relax",
    "run",
    "run_seed",
]
