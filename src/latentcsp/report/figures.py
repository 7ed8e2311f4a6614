"""The seed report's figures, from the pipeline's own outputs (PNG + SVG, matplotlib).

One function per figure; each takes data, not paths, and returns the Figure.
:func:`save` writes both formats.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def save(fig, stem: str | Path) -> list[Path]:
    """Write ``stem``.png and ``stem``.svg; close the figure."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    fig.savefig(paths[0], dpi=150, bbox_inches="tight")
    fig.savefig(paths[1], bbox_inches="tight")
    plt.close(fig)
    return paths


def eigenvalue_spectra(spectra: dict[str, dict], title: str, max_components: int | None = None):
    """Seed Figure 4: eigenvalues of every group on one plot (left) and cumulative variance (right).

    spectra: group name -> pca.json content.  max_components defaults to a
    little past the largest 80 % count, at least 30.
    """
    if max_components is None:
        n80 = [p["n_components"].get("0.8") or 0 for p in spectra.values()]
        max_components = max(30, int(1.15 * max(n80, default=0)) + 2)
    fig, (ax, cum) = plt.subplots(1, 2, figsize=(11, 4.2))
    colours = plt.cm.tab20(np.linspace(0, 1, max(len(spectra), 2)))
    for colour, (group, pca) in zip(colours, spectra.items()):
        ev = np.asarray(pca["eigenvalues"])[:max_components]
        if not len(ev):
            continue
        k = np.arange(1, len(ev) + 1)
        style = dict(color="black", lw=2.2) if group == "all" else dict(color=colour, lw=1.2)
        label = f"{group} (n={pca['n_samples']}, n80={pca['n_components'].get('0.8')}, elbow={pca['elbow']})"
        ax.semilogy(k, np.maximum(ev, 1e-12), marker=".", ms=3, label=label, **style)
        cum.plot(k, np.asarray(pca["cumulative"])[:max_components], **style)
        if pca["elbow"]:
            ax.plot(pca["elbow"], ev[pca["elbow"] - 1], "o", mfc="none", ms=8, color=style["color"])
    cum.axhline(0.8, color="grey", ls="--", lw=1)
    cum.text(1, 0.81, "80 %", color="grey", fontsize=8)
    ax.set(xlabel="principal component", ylabel="eigenvalue", title=title)
    cum.set(xlabel="principal component", ylabel="cumulative explained variance", ylim=(0, 1.02))
    ax.legend(fontsize=6.5, loc="upper right", ncol=1)
    fig.tight_layout()
    return fig


def pc_map(scores: pd.DataFrame, title: str, colour_by: str = "rel_energy"):
    """Seed Figures 5-8: PC1-PC2 map coloured by relative energy, known polymorphs starred,
    and beside it the same map coloured by local intrinsic dimension."""
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 4.2), sharex=True, sharey=True)
    sc = axes[0].scatter(scores.PC1, scores.PC2, c=scores[colour_by], cmap="viridis", s=14)
    fig.colorbar(sc, ax=axes[0], label="relative energy / kJ mol$^{-1}$")
    local = scores.local_id if "local_id" in scores else pd.Series(np.nan, index=scores.index)
    if local.notna().any():
        lo, hi = np.nanpercentile(local, [5, 95])
        sc2 = axes[1].scatter(scores.PC1, scores.PC2, c=local, cmap="plasma", s=14, vmin=lo, vmax=hi)
        fig.colorbar(sc2, ax=axes[1], label="local intrinsic dimension (5-95 % range)", extend="both")
    else:
        axes[1].text(0.5, 0.5, "local ID not estimated\n(group too small)", ha="center", transform=axes[1].transAxes)
    known = scores.get("known", pd.Series(False, index=scores.index)).astype(bool)
    for ax in axes:
        if known.any():
            ax.scatter(scores.PC1[known], scores.PC2[known], marker="*", s=120, facecolor="none",
                       edgecolor="red", lw=1.2, label="known polymorph")
            ax.legend(fontsize=7, loc="best")
        ax.set(xlabel="PC1", ylabel="PC2")
    axes[0].set_title(title, fontsize=9)
    axes[1].set_title("local intrinsic dimension", fontsize=9)
    fig.tight_layout()
    return fig


def dimensions_vs_dof(table: pd.DataFrame, estimators: list[str], title: str):
    """Each group's dimension estimates (with bootstrap intervals) beside its true DoF."""
    groups = list(dict.fromkeys(table.group))
    fig, ax = plt.subplots(figsize=(max(6, 0.7 * len(groups) + 3), 4.2))
    x = np.arange(len(groups))
    names = ["n80", "elbow"] + [e for e in estimators if e in table]
    width = 0.8 / max(len(names), 1)
    for k, name in enumerate(names):
        vals = table.set_index("group")[name].reindex(groups).astype(float)
        err = None
        ci_col = f"{name}_ci"
        if ci_col in table:
            ci = table.set_index("group")[ci_col].reindex(groups).fillna("")
            lo = [float(c.split("-")[0]) if c else np.nan for c in ci]
            hi = [float(c.split("-")[1]) if c else np.nan for c in ci]
            err = np.abs(np.array([vals - lo, np.array(hi) - vals]))
            err = np.nan_to_num(err)
        ax.bar(x + (k - len(names) / 2 + 0.5) * width, vals, width, yerr=err, capsize=2, label=name)
    dof = table.set_index("group").dof.reindex(groups).astype(float)
    ax.scatter(x, dof, marker="_", s=900, color="black", lw=2.5, zorder=5, label="true DoF (rigid)")
    ax.set_xticks(x, groups, rotation=30, ha="right")
    ax.set(ylabel="dimension", title=title)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig
