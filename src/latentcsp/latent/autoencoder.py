"""Autoencoders for per-structure descriptor vectors (PyTorch CPU).

Why PyTorch and not scikit-learn's ``MLPRegressor``
---------------------------------------------------
``MLPRegressor`` can fit an X → X network, but it has no way to read the
bottleneck activations (the latent coordinates are the whole point), to decode
a latent point on its own, or to train anything but a squared loss: the
variational autoencoder needs a custom loss (reconstruction + KL divergence)
and the reparameterisation trick. PyTorch's CPU build does all of this in a
few lines, is fast for networks this small (a fit of a group of ~200
structures takes well under a second on one thread), is deterministic on the
CPU with a fixed seed and thread count, and stores weights as plain arrays,
so models are saved here as ``.npz`` without pickle. It is an optional extra
(``pip install 'latentcsp[latent]'``); ``torch`` is imported only when a model
is built, so importing this module is cheap.

The model
---------
``X`` (n, d) → standardization (mean and standard deviation of the training
data; near-constant features are dropped, as PCA drops them: see
:func:`feature_scale`) → optional
lossless rotation onto the training data's principal axes (``input_pca=True``, default: ``n`` structures span at most
``n - 1`` dimensions, so with d ≈ 4 000 descriptor features and n ≈ 200 the
network's first and last layers shrink ~20-fold; reconstruction errors are
still computed in the full standardized feature space, where the part of a
held-out vector outside the training span counts as error for any model) →
encoder MLP ``hidden`` → bottleneck ``latent_dim`` (linear) → decoder MLP
(mirror of the encoder) → linear output.

Training: Adam, minibatches of ``batch_size``, early stopping on a random
``val_fraction`` of the training data (patience ``patience`` epochs, best
weights restored), at most ``max_epochs`` epochs. All randomness (weight
initialisation, splits, shuffling, VAE noise) comes from ``seed``; fitting
runs on ``n_threads`` torch threads (default 1, so parallel jobs do not
oversubscribe cores) and leaves the caller's global torch RNG untouched.
:meth:`Autoencoder.fit_stream` trains by the same loop on rows it reads a
chunk at a time (a group larger than memory), with the preprocessing fitted
on a subsample, projected once into a temporary file; each epoch is one pass
over every training row.

The variational variant (``variational=True``) has a Gaussian encoder
q(z|x) = N(μ, diag σ²) and a Gaussian decoder with one shared variance set to
its optimum, the mean squared error of the batch ("σ-VAE", Rybkin, Daniilidis
& Levine, ICML 2021), so the loss is the negative ELBO
``r/2 · log MSE + β · KL`` (r = input dimension after the rotation) and
β = 1 is a proper ELBO whatever the number of features. ``transform`` returns
μ; ``sample(n)`` decodes draws from the N(0, I) prior.

Errors are mean squared errors per feature in standardized units, averaged
over all d features: predicting the training mean scores about the fraction
of non-constant features (1.0 when there are none), so compare errors with
that width-0 error (``null_mse`` in the width sweep).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from ..analysis.pca import check_matrix, informative_columns

__all__ = ["Autoencoder", "FORMAT", "feature_scale", "fit_preprocessing", "unstandardize"]

FORMAT = "latentcsp.latent.Autoencoder/1"

_ACTIVATIONS = ("elu", "relu", "tanh", "silu")


def _torch():
    try:
        import torch  # noqa: PLC0415  (lazy: optional, heavy dependency)
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "the autoencoders need PyTorch: pip install 'latentcsp[latent]'"
        ) from exc
    return torch


def _build_network(n_in: int, hidden, latent_dim: int, variational: bool, activation: str):
    """The encoder/decoder module. Built inside a function so torch is imported lazily."""
    torch = _torch()
    nn = torch.nn
    act = {"elu": nn.ELU, "relu": nn.ReLU, "tanh": nn.Tanh, "silu": nn.SiLU}[activation]

    def mlp(sizes):
        layers = []
        for a, b in zip(sizes[:-1], sizes[1:], strict=True):
            layers += [nn.Linear(a, b), act()]
        return nn.Sequential(*layers)

    class _Net(nn.Module):
        def __init__(self):
            super().__init__()
            enc = [n_in, *hidden]
            self.encoder = mlp(enc)
            self.mu = nn.Linear(enc[-1], latent_dim)
            self.logvar = nn.Linear(enc[-1], latent_dim) if variational else None
            dec = [latent_dim, *reversed(hidden)]
            self.decoder = mlp(dec)
            self.out = nn.Linear(dec[-1], n_in)

        def encode(self, x):
            h = self.encoder(x)
            return self.mu(h), (self.logvar(h) if self.logvar is not None else None)

        def decode(self, z):
            return self.out(self.decoder(z))

    return _Net()


def feature_scale(X, const_tol: float = 1e-6) -> np.ndarray:
    """Per-feature scale for standardization: the standard deviation, inf for a constant feature.

    Constant features are those :func:`latentcsp.analysis.pca.informative_columns`
    leaves out (standard deviation at most ``const_tol`` times the largest), the
    pipeline's one rule: with an infinite scale their standardized value is 0,
    so they are dropped from the network and the errors, as PCA drops them.
    Symmetry functions need this: many are exactly zero, and many more are
    numerical dust from the tails of the cutoff function (ROY: standard
    deviations down to 1e-46 against 0.1 for the largest); standardized by
    their own tiny spread, one held-out crystal with a slightly different tail
    gives reconstruction errors of 1e12 for every model.
    """
    std = check_matrix(X).std(axis=0)
    return np.where(informative_columns(std, const_tol), std, np.inf)


def unstandardize(Z, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Inverse of ``(X - mean) / scale``: dropped (constant, scale inf) features get their mean."""
    kept = np.isfinite(scale)
    return np.where(kept, Z * np.where(kept, scale, 0.0), 0.0) + mean


def fit_preprocessing(X: np.ndarray, input_pca: bool = True, const_tol: float = 1e-6, scale=None):
    """The standardization of ``X`` (n, d) and its rotation onto principal axes, as :meth:`Autoencoder.fit` makes them.

    Returns ``(mean (d,), scale (d,), components (r, d) or None)``: the
    components are the principal axes of the standardized ``X`` up to its
    numerical rank r (``input_pca``), with deterministic signs.  ``scale``
    (d,), if given, is used instead of X's own (see :func:`feature_scale`).
    """
    mean = X.mean(axis=0)
    scale = feature_scale(X, const_tol) if scale is None else np.asarray(scale, dtype=np.float64)
    if not input_pca:
        return mean, scale, None
    Z = (X - mean) / scale
    _, s, vt = np.linalg.svd(Z, full_matrices=False)
    tol = (s[0] if s.size else 0.0) * max(Z.shape) * np.finfo(np.float64).eps
    r = max(1, int(np.sum(s > tol)))
    vt = vt[:r]
    # deterministic signs: the largest-magnitude loading of each axis is positive
    signs = np.sign(vt[np.arange(r), np.argmax(np.abs(vt), axis=1)])
    signs[signs == 0] = 1.0
    return mean, scale, vt * signs[:, None]


def _minibatches(torch, y, batch_size: int, gen):
    """Minibatches of ``batch_size`` rows of ``y`` in a random order (a last batch of one row is left out:
    it gives a degenerate VAE batch MSE)."""
    n = y.shape[0]
    order = torch.randperm(n, generator=gen)
    bs = min(int(batch_size), n)
    for start in range(0, n, bs):
        idx = order[start:start + bs]
        if idx.numel() < 2 and n >= 2:
            continue
        yield y[idx]


class Autoencoder(TransformerMixin, BaseEstimator):
    """Encoder–bottleneck–decoder network on standardized descriptors (sklearn-style).

    Parameters
    ----------
    latent_dim : bottleneck width.
    hidden : hidden layer sizes of the encoder (the decoder mirrors them).
    lr : Adam learning rate.
    max_epochs : upper bound on training epochs.
    batch_size : minibatch size (the whole set when it is smaller).
    patience : epochs without improvement of the monitored loss before stopping.
    val_fraction : fraction of the training data held out for early stopping
        (at least 2 points, and only if at least 6 are left to train on;
        otherwise, or with 0, the training loss is monitored and training
        usually runs ``max_epochs``).
    seed : seeds everything random.
    variational : train a VAE instead of a plain autoencoder.
    beta : weight of the KL term (VAE only).
    weight_decay : Adam L2 penalty.
    activation : one of ``"elu"``, ``"relu"``, ``"tanh"``, ``"silu"``.
    input_pca : rotate the standardized input onto its training principal axes
        (all of them up to numerical rank, so nothing is lost on the training
        data) before the network; much faster when d >> n.
    n_threads : torch threads used while fitting and predicting.
    const_tol : features whose standard deviation is at most this times the
        largest are dropped (see :func:`feature_scale`).
    lr_decay : multiply the learning rate by this after ``patience // 3``
        epochs without improvement (1.0 = constant learning rate); lets a fit
        settle into its minimum before early stopping ends it.

    Attributes after ``fit``: ``scaler_mean_``, ``scaler_scale_`` (d,),
    ``components_`` (r, d) or None, ``n_features_in_``, ``fit_info_`` (dict:
    epochs run, best epoch, losses, seconds), ``net_`` (the torch module).
    """

    def __init__(self, latent_dim: int = 2, hidden=(128, 64), lr: float = 3e-3,
                 max_epochs: int = 200, batch_size: int = 64, patience: int = 20,
                 val_fraction: float = 0.1, seed: int = 0, variational: bool = False,
                 beta: float = 1.0, weight_decay: float = 0.0, activation: str = "elu",
                 input_pca: bool = True, n_threads: int = 1, lr_decay: float = 0.3,
                 const_tol: float = 1e-6):
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.lr = lr
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.patience = patience
        self.val_fraction = val_fraction
        self.seed = seed
        self.variational = variational
        self.beta = beta
        self.weight_decay = weight_decay
        self.activation = activation
        self.input_pca = input_pca
        self.n_threads = n_threads
        self.lr_decay = lr_decay
        self.const_tol = const_tol

    # ------------------------------------------------------------------ checks
    def _check_params(self):
        if int(self.latent_dim) < 1:
            raise ValueError("latent_dim must be >= 1")
        if any(int(h) < 1 for h in self.hidden):
            raise ValueError("hidden sizes must be >= 1")
        if self.activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {_ACTIVATIONS}")
        if not 0.0 < float(self.lr_decay) <= 1.0:
            raise ValueError("lr_decay must be in (0, 1]")
        if not 0.0 <= float(self.val_fraction) < 1.0:
            raise ValueError("val_fraction must be in [0, 1)")
        if int(self.max_epochs) < 1 or int(self.batch_size) < 1 or int(self.patience) < 1:
            raise ValueError("max_epochs, batch_size and patience must be >= 1")

    def _check_fitted(self):
        if not hasattr(self, "net_"):
            raise RuntimeError("this Autoencoder is not fitted yet: call fit() first")

    # ---------------------------------------------------------- preprocessing
    def _standardize(self, X):
        return (X - self.scaler_mean_) / self.scaler_scale_

    def _to_network_space(self, X) -> np.ndarray:
        Z = self._standardize(X)
        return Z @ self.components_.T if self.components_ is not None else Z

    def _from_network_space(self, Y) -> np.ndarray:
        Z = Y @ self.components_ if self.components_ is not None else Y
        return unstandardize(Z, self.scaler_mean_, self.scaler_scale_)

    # -------------------------------------------------------------------- fit
    def fit(self, X, y=None, preprocessing: tuple | None = None):
        """Fit on ``X`` (n, d) raw descriptors. ``y`` is ignored.

        ``preprocessing``: ``(mean, scale, components or None)`` to use instead
        of X's own (:func:`fit_preprocessing`), e.g. one set shared by the models
        of a width sweep.  Sets ``fit_info_`` (epochs, best epoch, per-epoch
        training and monitored losses, the train/validation split sizes, seconds).
        """
        self._check_params()
        X = check_matrix(X)
        if X.shape[0] < 2:
            raise ValueError("need at least 2 structures to fit")
        if preprocessing is None:
            from threadpoolctl import threadpool_limits  # noqa: PLC0415  (sklearn dependency)

            with threadpool_limits(limits=int(self.n_threads)):  # BLAS threads for the SVD, as torch's
                preprocessing = fit_preprocessing(X, bool(self.input_pca), float(self.const_tol))
        return self._fit_network(X, *preprocessing)

    def _fit_network(self, X, mean, scale, comps):
        torch = _torch()
        t0 = time.perf_counter()
        self.scaler_mean_, self.scaler_scale_, self.components_ = mean, scale, comps
        self.n_features_in_ = X.shape[1]
        Y = self._to_network_space(X).astype(np.float32)
        n = Y.shape[0]

        rng = np.random.default_rng(self.seed)
        perm = rng.permutation(n)
        n_val = max(2, int(round(float(self.val_fraction) * n))) if self.val_fraction > 0 else 0
        if n - n_val < 6:
            n_val = 0
        val_idx, tr_idx = np.sort(perm[:n_val]), np.sort(perm[n_val:])
        y_tr = torch.from_numpy(Y[tr_idx])
        y_monitor = torch.from_numpy(Y[val_idx]) if n_val else y_tr

        def batches(gen):
            return _minibatches(torch, y_tr, int(self.batch_size), gen)

        def monitor(net, gen):
            return float(self._loss(torch, net, y_monitor, gen, sample=False))

        info = self._optimise(Y.shape[1], batches, monitor, len(tr_idx), "val" if n_val else "train")
        info.update(n_train=int(len(tr_idx)), n_val=int(n_val), input_dim=int(Y.shape[1]),
                    seconds=time.perf_counter() - t0)
        self.fit_info_ = info
        return self

    def fit_stream(self, rows, preprocessing: tuple, chunk_rows: int = 256, buffer_rows: int = 4096,
                   cache_dir=None):
        """Fit on more rows than memory holds, read ``chunk_rows`` consecutive rows at a time.

        ``rows``: a sized source of raw descriptor rows, ``rows.read(index)`` -> (len(index), d)
        (e.g. :class:`latentcsp.analysis.rows.GroupRows`); ``preprocessing``: ``(mean, scale,
        components or None)`` fitted on a subsample (:func:`fit_preprocessing`).  One pass
        standardizes and projects each chunk and writes it (float32, network space: r
        columns) to a temporary file in ``cache_dir`` (default: the system's), which the
        epochs read back: the projection, d x r multiply-adds per row, is paid once, not
        once per epoch.  The chunks are split (seeded) into ``val_fraction`` for early
        stopping and the rest for training; each epoch is one pass over the training chunks in
        a random order, ``buffer_rows // chunk_rows`` of them at a time shuffled together and
        cut into minibatches of ``batch_size``, by the same training loop as :meth:`fit`.
        Memory holds one buffer of rows in network space and one chunk of raw rows, whatever
        ``len(rows)``; the temporary file holds 4 r bytes per row.  The monitored loss is the
        row-weighted mean of the chunks' losses (for the plain autoencoder, the mean squared
        error of all monitored rows).
        """
        import tempfile  # noqa: PLC0415

        torch = _torch()
        self._check_params()
        t0 = time.perf_counter()
        mean, scale, comps = preprocessing
        self.scaler_mean_, self.scaler_scale_, self.components_ = mean, scale, comps
        self.n_features_in_ = d = len(mean)
        r = comps.shape[0] if comps is not None else d
        n = len(rows)
        if n < 2:
            raise ValueError("need at least 2 structures to fit")
        chunks = [np.arange(lo, min(lo + int(chunk_rows), n)) for lo in range(0, n, int(chunk_rows))]
        perm = np.random.default_rng(self.seed).permutation(len(chunks))
        n_val = min(int(round(float(self.val_fraction) * len(chunks))), len(chunks) - 1)
        val_chunks, tr_chunks = np.sort(perm[:n_val]), np.sort(perm[n_val:])
        n_train = sum(len(chunks[c]) for c in tr_chunks)
        per_buffer = max(1, int(buffer_rows) // int(chunk_rows))
        at = np.r_[0, np.cumsum([len(c) for c in chunks])] * (4 * r)  # byte offset of each chunk in the cache

        with tempfile.TemporaryFile(prefix="latentcsp-network-rows-", dir=cache_dir) as cache:
            for chunk in chunks:
                cache.write(self._to_network_space(check_matrix(rows.read(chunk), d)).astype(np.float32).tobytes())
            cache.flush()

            def network_rows(c):
                out = np.empty((len(chunks[c]), r), dtype=np.float32)
                cache.seek(int(at[c]))
                cache.readinto(memoryview(out).cast("B"))
                return torch.from_numpy(out)

            def batches(gen):
                order = tr_chunks[torch.randperm(len(tr_chunks), generator=gen).numpy()]
                for lo in range(0, len(order), per_buffer):
                    buffer = torch.cat([network_rows(c) for c in order[lo:lo + per_buffer]])
                    yield from _minibatches(torch, buffer, int(self.batch_size), gen)

            def monitor(net, gen):
                watched = val_chunks if n_val else tr_chunks
                losses = [(float(self._loss(torch, net, network_rows(c), gen, sample=False)), len(chunks[c]))
                          for c in watched]
                return sum(loss * k for loss, k in losses) / sum(k for _, k in losses)

            info = self._optimise(r, batches, monitor, n_train, "val" if n_val else "train")
        info.update(n_train=int(n_train), n_val=int(n - n_train), input_dim=int(r), seconds=time.perf_counter() - t0,
                    streamed={"chunk_rows": int(chunk_rows), "buffer_rows": per_buffer * int(chunk_rows),
                              "chunks": len(chunks)})
        self.fit_info_ = info
        return self

    def _optimise(self, n_in: int, batches, monitor, n_train: int, monitored: str) -> dict:
        """Build the network (seeded) and train it, the one training loop of :meth:`fit` and
        :meth:`fit_stream`: ``batches(gen)`` yields one epoch's minibatches (tensors in network
        space), ``monitor(net, gen)`` is the loss early stopping watches (``monitored``: its name)."""
        torch = _torch()
        old_threads = torch.get_num_threads()
        torch.set_num_threads(int(self.n_threads))
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(self.seed))
                gen = torch.Generator().manual_seed(int(self.seed))
                net = _build_network(n_in, tuple(int(h) for h in self.hidden),
                                     int(self.latent_dim), bool(self.variational), self.activation)
                info = self._train(torch, net, batches, monitor, n_train, monitored, gen)
        finally:
            torch.set_num_threads(old_threads)
        net.eval()
        self.net_ = net
        return info

    def _loss(self, torch, net, y, gen, sample: bool):
        mu, logvar = net.encode(y)
        if not self.variational:
            return torch.mean((net.decode(mu) - y) ** 2)
        z = mu
        if sample:
            eps = torch.randn(mu.shape, generator=gen, dtype=mu.dtype)
            z = mu + torch.exp(0.5 * logvar) * eps
        mse = torch.mean((net.decode(z) - y) ** 2)
        recon = 0.5 * y.shape[1] * torch.log(mse + 1e-12)
        kl = 0.5 * torch.mean(torch.sum(mu ** 2 + torch.exp(logvar) - 1.0 - logvar, dim=1))
        return recon + float(self.beta) * kl

    def _train(self, torch, net, batches, monitor, n_train: int, monitored_name: str, gen) -> dict:
        # foreach: one vectorised update for all parameters (~2x faster than the
        # per-tensor loop for these small networks, same numbers up to rounding)
        opt = torch.optim.Adam(net.parameters(), lr=float(self.lr),
                               weight_decay=float(self.weight_decay), foreach=True)
        best, best_epoch, best_state, wait, since_decay, n_decays = np.inf, 0, None, 0, 0, 0
        decay_after = max(1, int(self.patience) // 3)
        train_hist, val_hist = [], []
        epoch = 0
        for epoch in range(1, int(self.max_epochs) + 1):
            net.train()
            total = 0.0
            for y in batches(gen):
                loss = self._loss(torch, net, y, gen, sample=True)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += float(loss.detach()) * y.shape[0]
            train_hist.append(total / n_train)
            net.eval()
            with torch.no_grad():
                monitored = monitor(net, gen)
            val_hist.append(monitored)
            improved = (not np.isfinite(best)) or monitored < best - 1e-7 * abs(best)
            if improved:
                best, best_epoch, wait, since_decay = monitored, epoch, 0, 0
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            else:
                wait += 1
                since_decay += 1
                if wait >= int(self.patience):
                    break
                if self.lr_decay < 1.0 and since_decay >= decay_after:
                    for group in opt.param_groups:
                        group["lr"] *= float(self.lr_decay)
                    since_decay = 0
                    n_decays += 1
        if best_state is not None:
            net.load_state_dict(best_state)
        return {"epochs": int(epoch), "best_epoch": int(best_epoch),
                "best_loss": float(best), "lr_decays": int(n_decays), "monitor": monitored_name,
                "train_loss": [float(v) for v in train_hist],
                "monitored_loss": [float(v) for v in val_hist]}

    # ---------------------------------------------------------------- predict
    def _run(self, fn, arr: np.ndarray) -> np.ndarray:
        torch = _torch()
        old = torch.get_num_threads()
        torch.set_num_threads(int(self.n_threads))
        try:
            with torch.no_grad():
                out = fn(torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32)))
        finally:
            torch.set_num_threads(old)
        return out.numpy().astype(np.float64)

    def transform(self, X) -> np.ndarray:
        """Latent coordinates (n, latent_dim); the posterior mean for a VAE."""
        self._check_fitted()
        X = check_matrix(X, self.n_features_in_)
        return self._run(lambda t: self.net_.encode(t)[0], self._to_network_space(X))

    def inverse_transform(self, Z) -> np.ndarray:
        """Decode latent points (m, latent_dim) to descriptor vectors (m, d) in the input units."""
        self._check_fitted()
        Z = np.asarray(Z, dtype=np.float64)
        if Z.ndim != 2 or Z.shape[1] != int(self.latent_dim):
            raise ValueError(f"expected latent points of shape (m, {self.latent_dim}), got {Z.shape}")
        return self._from_network_space(self._run(self.net_.decode, Z))

    def reconstruct(self, X) -> np.ndarray:
        """``inverse_transform(transform(X))``."""
        return self.inverse_transform(self.transform(X))

    def reconstruction_error(self, X, per_structure: bool = False):
        """Mean squared reconstruction error per feature, in standardized units.

        ``per_structure=True`` returns one value per row of ``X``.
        """
        X = check_matrix(X, getattr(self, "n_features_in_", None))
        err = (self._standardize(X) - self._standardize(self.reconstruct(X))) ** 2
        return err.mean(axis=1) if per_structure else float(err.mean())

    def score(self, X, y=None) -> float:
        """Reconstruction MSE (standardized units). Lower is better, unlike sklearn's convention."""
        return self.reconstruction_error(X)

    def sample(self, n: int, random_state=None, return_latent: bool = False):
        """Decode ``n`` draws from the N(0, I) prior (VAE only) to descriptor vectors (n, d).

        For a plain autoencoder use :func:`latentcsp.latent.sampling.sample_latent`,
        which fits a density to the encoded landscape.
        """
        self._check_fitted()
        if not self.variational:
            raise ValueError("sample() needs variational=True; for a plain autoencoder use "
                             "latentcsp.latent.sampling.sample_latent(model, X, n)")
        rng = np.random.default_rng(self.seed if random_state is None else random_state)
        Z = rng.standard_normal((int(n), int(self.latent_dim)))
        Xs = self.inverse_transform(Z)
        return (Xs, Z) if return_latent else Xs

    # ------------------------------------------------------------- save/load
    def save(self, path) -> Path:
        """Write the fitted model to ``path`` (.npz: weights as arrays, params as JSON; no pickle)."""
        self._check_fitted()
        path = Path(path)
        params = self.get_params()
        params["hidden"] = [int(h) for h in params["hidden"]]
        info = {k: v for k, v in self.fit_info_.items()}
        arrays = {
            "format": np.array(FORMAT),
            "params_json": np.array(json.dumps(params)),
            "fit_info_json": np.array(json.dumps(info)),
            "scaler_mean": self.scaler_mean_,
            "scaler_scale": self.scaler_scale_,
            "has_components": np.array(self.components_ is not None),
            "components": self.components_ if self.components_ is not None else np.zeros((0, 0)),
        }
        for name, tensor in self.net_.state_dict().items():
            arrays["w__" + name] = tensor.detach().cpu().numpy()
        with open(path, "wb") as fh:  # keep the exact name (np.savez would append .npz)
            np.savez(fh, **arrays)
        return path

    @classmethod
    def load(cls, path) -> "Autoencoder":
        """Read a model written by :meth:`save` (``allow_pickle=False``: safe on untrusted files)."""
        torch = _torch()
        with np.load(path, allow_pickle=False) as f:
            if "format" not in f.files or str(f["format"]) != FORMAT:
                raise ValueError(f"{path} is not a {FORMAT} file")
            params = json.loads(str(f["params_json"]))
            params["hidden"] = tuple(params["hidden"])
            model = cls(**params)
            model._check_params()
            model.fit_info_ = json.loads(str(f["fit_info_json"]))
            model.scaler_mean_ = f["scaler_mean"].astype(np.float64)
            model.scaler_scale_ = f["scaler_scale"].astype(np.float64)
            model.components_ = f["components"].astype(np.float64) if bool(f["has_components"]) else None
            state = {k[3:]: torch.from_numpy(f[k].copy()) for k in f.files if k.startswith("w__")}
        model.n_features_in_ = model.scaler_mean_.shape[0]
        n_in = model.components_.shape[0] if model.components_ is not None else model.n_features_in_
        with torch.random.fork_rng(devices=[]):  # the throw-away initialisation must not move the caller's RNG
            net = _build_network(n_in, model.hidden, int(model.latent_dim), bool(model.variational),
                                 model.activation)
        net.load_state_dict(state)  # strict: shapes and names must match
        net.eval()
        model.net_ = net
        return model

