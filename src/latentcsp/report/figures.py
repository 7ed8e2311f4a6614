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
    little past the largest 80 % count and the largest elbow, at least 30; an
    elbow beyond the plotted range (an explicit ``max_components``) is named in
    the legend but not marked.
    """
    if max_components is None:
        n80 = [p["n_components"].get("0.8") or 0 for p in spectra.values()]
        elbows = [p["elbow"] or 0 for p in spectra.values()]
        max_components = max(30, int(1.15 * max(n80, default=0)) + 2, max(elbows, default=0) + 2)
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
        if pca["elbow"] and pca["elbow"] <= len(ev):
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
    """Each group's dimension estimates beside its true DoF; the resampling intervals
    (estimates on half-sized subsets, which need not contain the bar) drawn as black lines."""
    groups = list(dict.fromkeys(table.group))
    fig, ax = plt.subplots(figsize=(max(6, 0.7 * len(groups) + 3), 4.2))
    x = np.arange(len(groups))
    names = ["n80", "elbow"] + [e for e in estimators if e in table]
    width = 0.8 / max(len(names), 1)
    for k, name in enumerate(names):
        vals = table.set_index("group")[name].reindex(groups).astype(float)
        at = x + (k - len(names) / 2 + 0.5) * width
        ax.bar(at, vals, width, label=name)
        if f"{name}_lo" in table:
            lo = table.set_index("group")[f"{name}_lo"].reindex(groups).astype(float)
            hi = table.set_index("group")[f"{name}_hi"].reindex(groups).astype(float)
            ax.vlines(at, lo, hi, color="black", lw=1)
    dof = table.set_index("group").dof.reindex(groups).astype(float)
    ax.scatter(x, dof, marker="_", s=900, color="black", lw=2.5, zorder=5, label="true DoF (rigid)")
    ax.set_xticks(x, groups, rotation=30, ha="right")
    ax.set(ylabel="dimension", title=title)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def reconstruction_sweep(sweep: pd.DataFrame, dof, effective: int | None, effective_pca: int | None, title: str,
                         resolution: dict | None = None, resolution_pca: dict | None = None):
    """Held-out reconstruction error against bottleneck width, autoencoder and PCA, DoF marked.

    A knee is drawn only where given (resolved); ``resolution`` and
    ``resolution_pca`` (:func:`latentcsp.latent.sweep.resolution`) label each
    curve with its held-out R² and whether it resolves a dimension.
    """
    from ..latent.sweep import describe_resolution

    fig, ax = plt.subplots(figsize=(5.5, 4))
    if sweep.empty:
        ax.text(0.5, 0.5, title + "\nlatent analysis skipped (group too small)", ha="center", transform=ax.transAxes)
        return fig
    g = sweep.groupby("width")
    for col, label, colour, res in (("ae_mse", "autoencoder", "C0", resolution),
                                    ("pca_mse", "PCA", "C1", resolution_pca)):
        mean, sem = g[col].mean(), g[col].std(ddof=1).fillna(0) / np.sqrt(g.size())
        label = label if res is None else f"{label}: {describe_resolution(res)}"
        ax.errorbar(mean.index, mean, yerr=sem, marker="o", ms=4, capsize=2, label=label, color=colour)
    ax.axhline(g["null_mse"].mean().mean(), color="grey", ls=":", lw=1, label="mean predictor")
    if dof:
        ax.axvline(dof, color="black", ls="--", lw=1.2, label=f"true DoF = {dof}")
    if effective:
        ax.axvline(effective, color="C0", ls="-.", lw=1, label=f"AE knee = {effective}")
    if effective_pca:
        ax.axvline(effective_pca, color="C1", ls="-.", lw=1, label=f"PCA knee = {effective_pca}")
    ax.set(xlabel="bottleneck width", ylabel="held-out reconstruction MSE (standardized)", yscale="log", title=title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def latent_maps(coords: pd.DataFrame, title: str):
    """2-d autoencoder and PCA maps of a group, coloured by relative energy."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, name in zip(axes, ("ae_2d", "pca_2d")):
        if f"{name}_1" not in coords:
            ax.text(0.5, 0.5, f"no {name} map", ha="center", transform=ax.transAxes)
            continue
        sc = ax.scatter(coords[f"{name}_1"], coords[f"{name}_2"], c=coords.rel_energy, cmap="viridis", s=14)
        ax.set(xlabel=f"{name} 1", ylabel=f"{name} 2", title=f"{title}: {'autoencoder' if name == 'ae_2d' else 'PCA'}")
    if "ae_2d_1" in coords:
        fig.colorbar(sc, ax=axes, label="relative energy / kJ mol$^{-1}$")
    return fig


def calibration_curves(curves: pd.DataFrame, dims: pd.DataFrame, title: str):
    """One panel per calibrated (window, group): each estimator's curve (mean raw estimate
    against true dimension, band +- spread, references weighted for the group's trend), the
    group's raw estimates (horizontal), its calibrated dimension and interval (vertical) and its DoF."""
    keys = list(dict.fromkeys(zip(curves.window, curves.group)))
    cols = min(3, max(len(keys), 1))
    rows = max(1, -(-len(keys) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False)
    for ax in axes.ravel()[len(keys):]:
        ax.set_visible(False)
    for ax, (window, group) in zip(axes.ravel(), keys):
        sub = curves[(curves.window == window) & (curves.group == group)]
        row = dims[(dims.window == window) & (dims.group == group)]
        for k, (name, c) in enumerate(sub.groupby("estimator", sort=False)):
            colour = f"C{k}"
            ax.plot(c.d, c["mean"], color=colour, label=name)
            ax.fill_between(c.d, c["mean"] - c.spread, c["mean"] + c.spread, color=colour, alpha=0.15)
            raw = row[f"raw_{name}"].iloc[0] if len(row) and f"raw_{name}" in row else np.nan
            if np.isfinite(raw):
                ax.axhline(raw, color=colour, ls=":", lw=1)
        if len(row):
            r = row.iloc[0]
            if r.resolved:
                ax.axvspan(r.calibrated_low, r.calibrated_high, color="black", alpha=0.08)
                ax.axvline(r.calibrated, color="black", lw=1.5, label=f"calibrated {r.calibrated:.1f}")
            if np.isfinite(r.dof) and group != "all":
                ax.axvline(r.dof, color="red", ls="--", lw=1, label=f"DoF {int(r.dof)}")
        ax.set(xlabel="true dimension of the references", ylabel="raw estimate", title=f"{group}, window {window}")
        ax.legend(fontsize=6)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def calibration_validation(held_out: pd.DataFrame, title: str):
    """Calibrated (combined, each DoF subset left out) against true dimension for every
    reference ensemble, with the +-1 band: how well the calibration recovers known dimensions.
    One disc per (true, calibrated) pair, its area the number of references there (the
    combined value is a whole number, so single points would hide one another)."""
    fig, ax = plt.subplots(figsize=(5, 4.5))
    ok = held_out.dropna(subset=["combined"])
    d = ok.d.to_numpy(dtype=float)
    est = d + ok.combined.to_numpy(dtype=float)
    pairs = pd.DataFrame({"d": d, "est": est.round(1)}).value_counts().reset_index(name="count")
    ax.scatter(pairs.d, pairs.est, s=200 * pairs["count"] / pairs["count"].max(), alpha=0.6)
    top = max(d.max(), est.max()) + 1 if len(d) else 2
    ax.plot([0, top], [0, top], color="black", lw=1)
    ax.fill_between([0, top], [-1, top - 1], [1, top + 1], color="black", alpha=0.08)
    within = float(np.mean(np.abs(est - d) <= 1)) if len(d) else float("nan")
    ax.set(xlabel="true dimension", ylabel="calibrated dimension (held out)", xlim=(0, top), ylim=(0, top),
           title=f"{title}\n{within:.0%} of {len(d)} held-out references within +-1")
    fig.tight_layout()
    return fig
