"""The search stage's figure: energies of the decoded crystals, and the search efficiency."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def search_figure(landscape_energies, decoded_energies, curves: pd.DataFrame, title: str, window: float | None):
    """Left: relative energies (kJ/mol above the landscape's lowest) of the group's
    landscape structures and of the relaxed decoded samples. Right: new low-energy minima
    against minimisations spent, continued Sobol and latent-guided search (mean over seeds,
    thick; each seed, thin); ``curves`` as :func:`.efficiency.compare` returns it (may be empty)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    land, dec = np.asarray(landscape_energies, float), np.asarray(decoded_energies, float)
    both = np.concatenate([land, dec])
    bins = np.linspace(both.min(), both.max(), 25) if len(both) and np.ptp(both) > 0 else 10
    left.hist(land, bins=bins, alpha=0.6, label=f"landscape ({len(land)})", color="tab:grey")
    left.hist(dec, bins=bins, alpha=0.6, label=f"decoded, relaxed ({len(dec)})", color="tab:red")
    left.set_xlabel("energy above the landscape's lowest / kJ/mol")
    left.set_ylabel("structures")
    left.legend(frameon=False)
    if len(curves):
        for method, colour in (("sobol", "tab:blue"), ("latent", "tab:red")):
            mine = curves[curves.method == method]
            for _, seed in mine.groupby("seed"):
                right.plot(seed.minimisations, seed.found, color=colour, alpha=0.3, lw=0.8)
            mean = mine.groupby("minimisations").found.mean()
            label = "continued Sobol" if method == "sobol" else "latent-guided"
            right.plot(mean.index, mean.values, color=colour, lw=2.2, label=f"{label} (mean of seeds)")
        right.legend(frameon=False)
        right.set_title(f"new minima within {window:g} kJ/mol of the lowest", fontsize=9)
    else:
        right.text(0.5, 0.5, "no search-efficiency test\n(needs the generator's molecule)", ha="center",
                   va="center", transform=right.transAxes)
    right.set_xlabel("minimisations spent")
    right.set_ylabel("new low-energy minima found")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def efficiency_figure(pooled: pd.DataFrame):
    """One panel per landscape: new low-energy minima against minimisations spent, summed
    over the landscape's space groups, continued Sobol and latent-guided search (mean over
    seeds, thick; each seed, thin); ``pooled`` as :func:`.summary.pooled_curves` returns it."""
    landscapes = list(dict.fromkeys(pooled.landscape)) or ["no search-efficiency test"]
    fig, axes = plt.subplots(1, len(landscapes), figsize=(5 * len(landscapes), 4), squeeze=False)
    for ax, landscape in zip(axes[0], landscapes):
        mine = pooled[pooled.landscape == landscape]
        for method, colour in (("sobol", "tab:blue"), ("latent", "tab:red")):
            runs = mine[mine.method == method]
            if not len(runs):
                continue
            for _, seed in runs.groupby("seed"):
                ax.plot(seed.minimisations * seed.groups, seed.found, color=colour, alpha=0.3, lw=0.8)
            mean = runs.groupby("minimisations").agg(found=("found", "mean"), groups=("groups", "first"))
            label = "continued Sobol" if method == "sobol" else "latent-guided"
            ax.plot(mean.index * mean.groups, mean.found, color=colour, lw=2.2, label=f"{label} (mean of seeds)")
        if len(mine):
            ax.legend(frameon=False)
        ax.set_title(f"{landscape}: all space groups" if len(mine) else landscape, fontsize=10)
        ax.set_xlabel("minimisations spent")
        ax.set_ylabel("new low-energy minima found")
    fig.tight_layout()
    return fig
