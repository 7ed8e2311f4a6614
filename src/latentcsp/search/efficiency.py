"""Does a learned latent space make crystal structure search cheaper? The comparison.

For one molecule and space group and each seed:

1. ``n_trials`` quasi-random trials (the generator's scrambled Sobol sequence with that
   seed, :func:`latentcsp.synth.sampling.sample_trials`; with the landscape's own seed
   they are the landscape's trials) are minimised in order;
2. the minima of the first quarter are what is known; the generative model is trained on
   them (``train(thetas, energies)``: the distinct good minima, canonical DoF vectors);
3. the other three quarters are continued Sobol search; latent-guided search gets as many
   minimisations of clash-free samples of the model (the share of samples that are
   clash-free is its validity).

Then, over all seeds and both methods, the lowest energy found by any run sets the bar:
a minimisation *discovers* a low-energy minimum when it reaches a minimum within
``window`` kJ/mol of it that the first quarter had not found and no earlier minimisation
of the same run had (:func:`.minima.discoveries`). Each run also either reaches the
lowest-energy structure or not (the global minimum as far as any run knows).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
import pandas as pd

from ..synth.minimise import MinimiseOptions
from ..synth.model import CrystalModel
from ..synth.recover import canonicalise
from ..synth.sampling import SamplingOptions, accept, sample_trials
from .minima import Minima, discoveries, reaches, relax


@dataclass(frozen=True)
class EfficiencySettings:
    """seeds: how many Sobol seeds (the landscape's seed, then the next ones); n_trials:
    quasi-random trials per seed, the first quarter known; window: kJ/mol above the lowest
    energy found by any run that counts as low energy."""

    seeds: int = 3
    n_trials: int = 60
    window: float = 5.0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SeedRun:
    """One seed's three sets of minimisations, in the order they ran, and the model's validity."""

    seed: int
    known: Minima
    sobol: Minima
    latent: Minima
    validity: float
    n_training: int


def run_seed(model: CrystalModel, train: Callable, n_trials: int, seed: int,
             sampling: SamplingOptions | None = None, minimisation: MinimiseOptions | None = None,
             log: Callable = lambda text: None) -> SeedRun:
    """Known quarter, continued Sobol search and latent-guided search for one seed.
    ``train(thetas (n, n_dof), energies (n,))`` returns a fitted model with
    ``sample(size, rng) -> (thetas, latent)`` (:class:`.model.CrystalGenerator`)."""
    sampling = sampling or SamplingOptions()
    trials, _ = sample_trials(model, n_trials, seed, sampling)
    quarter = len(trials) // 4
    sobol = relax(model, trials, minimisation)
    known, continued = sobol.take(slice(0, quarter)), sobol.take(slice(quarter, None))
    distinct = known.unique()
    log(f"seed {seed}: {len(trials)} Sobol trials minimised, {len(distinct)} distinct minima in the first quarter")
    if len(distinct) < 3:
        raise ValueError(f"seed {seed}: the first quarter ({quarter} trials) gave {len(distinct)} distinct minima; "
                         "the model needs 3")
    thetas = np.array([canonicalise(model, t) for t in known.thetas[distinct]])
    generator = train(thetas, known.energy[distinct])
    rng = np.random.default_rng(seed)

    def propose(size: int):
        return generator.sample(size, rng)[0], np.ones(size, bool)

    budget = len(continued)
    starts, attempts = accept(model, propose, budget, sampling.clash, sampling.max_attempts_per_trial * max(budget, 1))
    latent = relax(model, starts, minimisation)
    log(f"seed {seed}: {len(starts)} clash-free latent samples of {attempts} minimised")
    return SeedRun(seed, known, continued, latent, len(starts) / attempts if attempts else 0.0, len(distinct))


def compare(runs: list[SeedRun], window: float) -> tuple[dict, pd.DataFrame]:
    """The comparison over seeds: a JSON-able summary and the curves (one row per seed,
    method and minimisation: ``seed, method, minimisations, found``, the new low-energy
    minima found after that many minimisations). Besides the counts of the module docstring,
    per method: distinct good minima reached and rediscoveries (minimisations that ended in a
    minimum of the first quarter)."""
    everything = [m for r in runs for m in (r.known, r.sobol, r.latent)]
    energies = np.concatenate([m.energy[m.ok] for m in everything])
    if not len(energies):
        raise ValueError("no minimisation of any run converged")
    lowest = float(energies.min())
    holder = next(m for m in everything if m.ok.any() and m.energy[m.ok].min() == lowest)
    target = holder.take([int(np.flatnonzero(holder.ok & (holder.energy == lowest))[0])])
    per_seed, curves = [], []
    for r in runs:
        row = {"seed": r.seed, "n_training": r.n_training, "validity": r.validity,
               "global_minimum_known": reaches(r.known, target)}
        for method, found in (("sobol", r.sobol), ("latent", r.latent)):
            new = discoveries(found, r.known, lowest + window)
            row[f"minimisations_{method}"] = len(found)
            row[f"low_energy_minima_{method}"] = int(new.sum())
            row[f"distinct_{method}"] = len(found.unique())
            row[f"rediscoveries_{method}"] = int(found.same_as(r.known).any(axis=1).sum()) if len(r.known) else 0
            row[f"global_minimum_{method}"] = reaches(found, target)
            curves.append(pd.DataFrame({"seed": r.seed, "method": method, "minimisations": np.arange(1, len(new) + 1),
                                        "found": np.cumsum(new)}))
        per_seed.append(row)
    table = pd.DataFrame(per_seed)
    n_latent, n_sobol = int(table.low_energy_minima_latent.sum()), int(table.low_energy_minima_sobol.sum())
    summary = {
        "seeds": [r.seed for r in runs],
        "budget": int(table.minimisations_sobol.sum()),
        "budget_latent": int(table.minimisations_latent.sum()),
        "lowest_energy": lowest,
        "window": window,
        "low_energy_minima_latent": n_latent,
        "low_energy_minima_sobol": n_sobol,
        "ratio": n_latent / n_sobol if n_sobol else None,
        "global_minimum_latent": int(table.global_minimum_latent.sum()),
        "global_minimum_sobol": int(table.global_minimum_sobol.sum()),
        "global_minimum_known": int(table.global_minimum_known.sum()),
        "validity_latent": float(table.validity.mean()),
        **{f"{what}_{method}": int(table[f"{what}_{method}"].sum())
           for what in ("distinct", "rediscoveries") for method in ("sobol", "latent")},
        "per_seed": table.to_dict(orient="records"),
    }
    columns = ["seed", "method", "minimisations", "found"]
    return summary, (pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=columns))
