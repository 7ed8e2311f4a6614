"""One group's whole latent-space analysis: :func:`run_group`.

A group is a set of structures of one landscape (an energy window and a space
group, or all of them) with their descriptor matrix. :func:`run_group` does:

1. the width sweep (autoencoder and PCA, k folds), its knee and whether the
   sweep resolves a dimension at all (:func:`.sweep.resolution`: held-out
   R² >= ``knee.min_r2`` and a gain over the mean predictor larger than its
   fold spread). ``effective_dimension`` (and ``effective_dimension_pca``) is
   the knee where resolved and None otherwise; ``resolution`` says why, and
   ``knee_width`` keeps the knee either way;
2. the final models on all structures: an autoencoder, a VAE and PCA at the
   knee (``final_width`` = max(1, knee_width); the knee is 0 when no width
   beats predicting the mean), and an autoencoder and PCA at width 2 for the
   maps. For a group too large for memory (``rows``: every row, ``X`` a
   subsample of it) the autoencoders are trained on minibatches of every row
   streamed from ``rows`` (:meth:`.Autoencoder.fit_stream`, preprocessing
   fitted on ``X``) and every row is encoded block by block; everything else
   stays on ``X`` (``results["subsample"]`` lists what is computed on which);
3. neighbourhood preservation of the AE and PCA maps (and of the descriptor
   space itself, as the reference) against the descriptor space, PDD/EMD
   crystal similarity (when structures or a PDD distance matrix are given),
   and each property (energy, density, ...);
4. sampling and decoding: VAE prior, GMM in the AE latent space, and a PCA
   Gaussian as the linear baseline, each scored for realism.

It returns a dict::

    {"results": {...},        # JSON-serialisable: everything above, per group
     "sweep": DataFrame,      # one row per (width, fold), see width_sweep
     "coordinates": {"ae": (n, w), "pca": (n, w), "vae": (n, w),   # w = final_width
                     "ae_2d": (n, 2), "pca_2d": (n, 2)},   # float64 arrays
     "models": {"ae": Autoencoder, "ae_2d": Autoencoder, "vae": Autoencoder},
     "ids": [...]}

so a caller writes ``results`` as JSON, the sweep as CSV, the coordinates as
npz/CSV with the ids, and the models with ``Autoencoder.save``. Nothing here
touches files. (With ``rows``, ``coordinates`` has one row per row of ``rows``,
in its order, and ``ids`` are those of ``X``.)
"""

from __future__ import annotations

import copy
import time
from typing import Mapping

import numpy as np
from threadpoolctl import threadpool_limits

from ..analysis.pca import check_matrix
from .autoencoder import Autoencoder, fit_preprocessing
from .sampling import pca_gaussian_samples, realism, sample_and_score
from .sweep import DEFAULT_MIN_GAIN, DEFAULT_MIN_R2, DEFAULT_TOL, knee_report, summarize_sweep, width_sweep

__all__ = ["DEFAULT_CONFIG", "run_group", "merge_config"]

#: Defaults for :func:`run_group`; a caller's config is merged over these
#: (nested dicts key by key). Sized so the sweep over widths 1..12 with 5 folds
#: stays within a few minutes for all ROY groups on 2 cores (bench/latent.py).
DEFAULT_CONFIG: dict = {
    "max_width": 12,
    "widths": None,             # explicit list overrides max_width
    "n_folds": 5,
    "seed": 0,
    "n_threads": 1,             # torch and BLAS threads for this job
    "min_structures": 10,       # smaller groups are reported as skipped
    "knee": {"method": "plateau", "tol": DEFAULT_TOL, "min_gain": DEFAULT_MIN_GAIN, "min_r2": DEFAULT_MIN_R2},
    "map_width": 2,             # extra AE/PCA fit for 2-d maps
    "autoencoder": {
        "hidden": [128, 64],
        "lr": 3e-3,
        "max_epochs": 200,
        "batch_size": 64,
        "patience": 20,
        "val_fraction": 0.1,
        "weight_decay": 0.0,
        "activation": "elu",
        "lr_decay": 0.3,
        "const_tol": 1e-6,      # near-constant features are dropped (feature_scale)
    },
    "vae": {"enabled": True, "beta": 1.0},   # other params as the autoencoder's
    "neighbours": {"ks": [5, 10]},
    "pdd": {"k": 100, "max_structures": 300},  # used when structures are given; the EMD matrix is
                                 # quadratic (~1-7 ms a pair): larger groups use a seeded subset
    "sampling": {"n_samples": 500, "percentile": 95.0, "gmm_max_components": 5},
}


def merge_config(config: Mapping | None) -> dict:
    """``DEFAULT_CONFIG`` with ``config`` merged over it (nested dicts merged key by key)."""
    def merge(base, over):
        out = copy.deepcopy(base)
        for k, v in (over or {}).items():
            if isinstance(v, Mapping) and isinstance(out.get(k), dict):
                out[k] = merge(out[k], v)
            else:
                out[k] = copy.deepcopy(v)
        return out
    return merge(DEFAULT_CONFIG, config)


def _jsonable(obj):
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return f if np.isfinite(f) else None
    return obj


def _ae_params(cfg: dict, width: int, variational: bool = False) -> dict:
    p = dict(cfg["autoencoder"])
    p["hidden"] = tuple(int(h) for h in p["hidden"])
    p.update(latent_dim=int(width), seed=int(cfg["seed"]), n_threads=int(cfg["n_threads"]))
    if variational:
        p.update({k: v for k, v in cfg["vae"].items() if k != "enabled"}, variational=True)
    return p


def _pca_coords(model: Autoencoder, X, width: int, axes=None) -> np.ndarray:
    """PCA scores at ``width`` of X standardized by ``model``'s scaler, on the principal axes ``axes``
    (r, d), else ``model``'s input axes, else those of X itself."""
    Z = (X - model.scaler_mean_) / model.scaler_scale_
    comps = model.components_ if axes is None else axes
    if comps is None:
        comps = fit_preprocessing(X, True, float(model.const_tol), model.scaler_scale_)[2]
    w = min(int(width), comps.shape[0])
    scores = Z @ comps[:w].T
    if w < width:  # rank-deficient group: pad so shapes are as documented
        scores = np.hstack([scores, np.zeros((X.shape[0], width - w))])
    return scores


def _fit_info(model: Autoencoder) -> dict:
    keep = ("epochs", "best_epoch", "best_loss", "lr_decays", "monitor", "n_train", "n_val",
            "input_dim", "seconds")
    return {k: model.fit_info_[k] for k in keep if k in model.fit_info_}


def run_group(X, properties: Mapping[str, np.ndarray] | None = None, ids=None,
              config: Mapping | None = None, *, structures=None, pdd_distances=None, rows=None) -> dict:
    """Latent-space analysis of one group; see the module docstring for the returned dict.

    Parameters
    ----------
    X : (n, d) descriptor matrix (raw; standardized inside).
    properties : per-structure scalars, e.g. ``{"energy": (n,), "density": (n,)}``
        (kJ/mol per molecule, g/cm³). Non-finite entries are left out of that
        property's comparison.
    ids : n structure ids (strings), kept in the results.
    config : merged over :data:`DEFAULT_CONFIG`.
    structures : optional crystal structures for the PDD similarity, in any
        container :func:`latentcsp.analysis.similarity.iter_structures`
        accepts (cell (3, 3) Å, positions (n_atoms, 3) Å, numbers).
    pdd_distances : optional precomputed (n, n) PDD EMD matrix (e.g. a
        sub-matrix of the landscape's); takes precedence over ``structures``.
    rows : optional, every row of a group too large for memory of which ``X`` is a
        subsample: a sized source with ``read(index)`` -> (len(index), d) raw rows
        (:class:`latentcsp.analysis.rows.GroupRows`). Then the sweep, the preprocessing
        (mean, scale, input principal axes), the neighbourhoods, PDD and sampling use
        ``X``, the final autoencoders are trained on every row
        (:meth:`Autoencoder.fit_stream`), and ``coordinates`` holds every row's, encoded
        block by block; ``results["subsample"]`` says what was computed on which.
    """
    cfg = merge_config(config)
    with threadpool_limits(limits=int(cfg["n_threads"])):
        return _run_group(X, properties or {}, ids, cfg, structures, pdd_distances, rows)


ENCODE_ROWS = 512  # rows encoded at a time when a group is streamed (at most a GroupRows block)


def _final_fitter(cfg: dict, X: np.ndarray, rows):
    """A function of Autoencoder parameters that returns the fitted final model: on ``X``
    (in memory), or with ``rows`` on every row, preprocessed as ``X`` (streamed)."""
    if rows is None:
        return lambda params: Autoencoder(**params).fit(X)
    ac = cfg["autoencoder"]
    preprocessing = fit_preprocessing(X, bool(ac.get("input_pca", True)), float(ac["const_tol"]))
    return lambda params: Autoencoder(**params).fit_stream(rows, preprocessing)


def _encode_rows(rows, models: dict, pca_widths: dict, axes) -> dict:
    """Coordinates of every row of ``rows`` (read ENCODE_ROWS at a time): each model's
    ``transform`` and PCA scores (``pca_widths``: name -> width, with the "ae" model's scaler
    and ``axes``)."""
    step = min(ENCODE_ROWS, getattr(rows, "block_rows", ENCODE_ROWS))
    parts: dict = {name: [] for name in [*models, *pca_widths]}
    for lo in range(0, len(rows), step):
        block = rows.read(np.arange(lo, min(lo + step, len(rows)))).astype(np.float64)
        for name, model in models.items():
            parts[name].append(model.transform(block))
        for name, width in pca_widths.items():
            parts[name].append(_pca_coords(models["ae"], block, width, axes))
    return {name: np.concatenate(p) for name, p in parts.items()}


def _run_group(X, properties, ids, cfg, structures, pdd_distances, rows) -> dict:
    from latentcsp.analysis.neighbourhood import compare_spaces  # noqa: PLC0415

    timings: dict = {}
    t_all = time.perf_counter()
    X = check_matrix(X)
    n, d = X.shape
    ids = [str(i) for i in (ids if ids is not None else range(n))]
    if len(ids) != n:
        raise ValueError(f"{len(ids)} ids for {n} structures")
    props = {}
    for name, values in properties.items():
        v = np.asarray(values, dtype=np.float64).reshape(-1)
        if v.shape[0] != n:
            raise ValueError(f"property {name!r} has {v.shape[0]} values for {n} structures")
        props[name] = v

    results: dict = {"n": n, "d": d, "config": cfg}
    out = {"results": results, "sweep": None, "coordinates": {}, "models": {}, "ids": ids}
    if n < int(cfg["min_structures"]):
        results["status"] = "skipped"
        results["reason"] = f"{n} structures < min_structures = {cfg['min_structures']}"
        out["results"] = _jsonable(results)
        return out
    results["status"] = "ok"
    seed = int(cfg["seed"])

    # 1. sweep + effective dimension
    t = time.perf_counter()
    ae_sweep_params = _ae_params(cfg, 1)
    ae_sweep_params.pop("latent_dim")
    ae_sweep_params.pop("seed")
    sweep = width_sweep(X, cfg["widths"], max_width=int(cfg["max_width"]), n_folds=int(cfg["n_folds"]),
                        seed=seed, **ae_sweep_params)
    timings["sweep"] = time.perf_counter() - t
    kc = cfg["knee"]
    knee = knee_report(sweep, tol=float(kc["tol"]), min_gain=float(kc["min_gain"]), min_r2=float(kc["min_r2"]))
    d_knee = int(knee["autoencoder"][kc["method"]])
    d_eff = max(1, d_knee)  # 0 = nothing learnable; the final models still need a width
    results["sweep_summary"] = summarize_sweep(sweep).to_dict(orient="list")
    results["knee"] = knee
    for suffix, curve, width in (("", "autoencoder", d_knee), ("_pca", "pca", int(knee["pca"][kc["method"]]))):
        res = knee[curve]["resolution"]
        results[f"knee_width{suffix}"] = width
        results[f"resolution{suffix}"] = res
        results[f"resolved{suffix}"] = res["resolved"]
        results[f"effective_dimension{suffix}"] = width if res["resolved"] else None
    results["final_width"] = d_eff
    out["sweep"] = sweep

    # 2. final models on all structures (every row of a streamed group)
    t = time.perf_counter()
    fit = _final_fitter(cfg, X, rows)
    ae = fit(_ae_params(cfg, d_eff))
    coords = {"ae": ae.transform(X), "pca": _pca_coords(ae, X, d_eff)}
    models = {"ae": ae}
    mw = int(cfg["map_width"]) if cfg.get("map_width") else 0
    if mw:
        ae2 = ae if mw == d_eff else fit(_ae_params(cfg, mw))
        models["ae_2d"] = ae2
        coords["ae_2d"] = ae2.transform(X)
        coords["pca_2d"] = _pca_coords(ae, X, mw)
    vae = None
    if cfg["vae"].get("enabled", True):
        vae = fit(_ae_params(cfg, d_eff, variational=True))
        models["vae"] = vae
        coords["vae"] = vae.transform(X)
    timings["final_models"] = time.perf_counter() - t
    results["models"] = {name: {"latent_dim": int(m.latent_dim), "variational": bool(m.variational),
                                "train_reconstruction_mse": m.reconstruction_error(X),
                                "fit": _fit_info(m)} for name, m in models.items()}

    # 3. neighbourhoods
    t = time.perf_counter()
    ks = [int(k) for k in cfg["neighbours"]["ks"]]
    Zx = (X - ae.scaler_mean_) / ae.scaler_scale_
    references = {"descriptors": (Zx, "euclidean", np.ones(n, bool))}
    pdd_rows = np.ones(n, bool)
    if pdd_distances is None and structures is not None:
        from latentcsp.analysis.similarity import pdd_distance_matrix  # noqa: PLC0415
        tp = time.perf_counter()
        m = int(cfg["pdd"].get("max_structures", n))
        if n > m:  # the PDD neighbourhoods on a seeded subset; the other pairs stay unknown (NaN)
            pdd_rows[:] = False
            pdd_rows[np.random.default_rng(seed).choice(n, m, replace=False)] = True
            results["pdd_subset"] = {"size": m, "of": n, "seed": seed}
        idx = np.flatnonzero(pdd_rows)
        pdd_distances = np.full((n, n), np.nan)
        pdd_distances[np.ix_(idx, idx)] = pdd_distance_matrix([structures[i] for i in idx], k=int(cfg["pdd"]["k"]))
        timings["pdd"] = time.perf_counter() - tp
    if pdd_distances is not None:
        P = np.asarray(pdd_distances, dtype=np.float64)
        if P.shape != (n, n):
            raise ValueError(f"pdd_distances has shape {P.shape}, expected ({n}, {n})")
        references["pdd"] = (P, "precomputed", pdd_rows)
    for name, v in props.items():
        references[name] = (v, "euclidean", np.isfinite(v))
    embeddings = {"ae": coords["ae"], "pca": coords["pca"], "descriptors": Zx}
    if vae is not None:
        embeddings["vae"] = coords["vae"]
    if mw and mw != d_eff:
        embeddings["ae_2d"] = coords["ae_2d"]
        embeddings["pca_2d"] = coords["pca_2d"]
    neigh: dict = {}
    for rname, (R, metric, mask) in references.items():
        if mask.sum() < 5:
            neigh[rname] = {"skipped": f"only {int(mask.sum())} finite values"}
            continue
        idx = np.flatnonzero(mask)
        Rm = R[np.ix_(idx, idx)] if metric == "precomputed" else R[idx]
        neigh[rname] = {}
        for ename, E in embeddings.items():
            if ename == rname:
                continue
            neigh[rname][ename] = compare_spaces(Rm, E[idx], ks, metric_a=metric)
    results["neighbourhoods"] = neigh
    timings["neighbourhoods"] = time.perf_counter() - t

    # 4. sampling and decoding
    t = time.perf_counter()
    sc = cfg["sampling"]
    ns, pct, gmax = int(sc["n_samples"]), float(sc["percentile"]), int(sc["gmm_max_components"])
    samp = {"ae_gmm": sample_and_score(ae, X, ns, method="gmm", seed=seed, percentile=pct,
                                       max_components=gmax)}
    if vae is not None:
        samp["vae_prior"] = sample_and_score(vae, X, ns, method="prior", seed=seed, percentile=pct)
    samp["pca_gaussian"] = realism(pca_gaussian_samples(X, d_eff, ns, seed=seed), X, model=ae,
                                   percentile=pct)
    samp["pca_gaussian"]["sampling"] = {"method": "pca_gaussian", "width": d_eff}
    results["sampling"] = samp
    timings["sampling"] = time.perf_counter() - t

    if rows is not None:  # the coordinates of every row, and what the subsample was used for
        t = time.perf_counter()
        axes = ae.components_ if ae.components_ is not None else fit_preprocessing(
            X, True, float(ae.const_tol), ae.scaler_scale_)[2]
        distinct = {k: m for k, m in models.items() if k == "ae" or m is not ae}  # ae_2d is ae at width 2
        encoded = _encode_rows(rows, distinct, {"pca": d_eff, **({"pca_2d": mw} if mw else {})}, axes)
        coords = {k: encoded.get(k, encoded["ae"]) for k in coords}  # the in-memory path's names and order
        timings["encode_every_row"] = time.perf_counter() - t
        results["subsample"] = {
            "size": n, "n_rows": len(rows),
            "computed_on_subsample": ["sweep", "knee", "preprocessing (mean, scale, input principal axes)",
                                      "train_reconstruction_mse", "neighbourhoods", "pdd", "sampling"],
            "computed_on_every_row": [f"final models ({', '.join(models)}), trained on minibatches streamed "
                                      "from the descriptor files", "coordinates"],
        }
    timings["total"] = time.perf_counter() - t_all
    results["timings_s"] = timings
    out["results"] = _jsonable(results)
    out["coordinates"] = coords
    out["models"] = models
    return out
