"""Content-addressed cache of per-molecule AEV rows, kept outside Snakemake's outputs.

Layout: ``{root}/{set_key}/{part}.h5``, each part holding ``keys`` (M,) and
``rows`` (M, n_atoms, n_features) float64, a molecule's rows as the stage
pools them (canonical order, sorted within the orbits; the pooling itself
runs after every lookup).  The key (``stage.geometry_key``) hashes the
geometry, the labels and the orbits, so rows made under other orbits, or
before orbits were stored, are never found.  A job never rewrites a part: it
adds a new one (temporary file + rename), so concurrent jobs of different
space groups share the cache without locks, and a killed job leaves nothing
half-written.  Snakemake deletes a job's outputs before it runs, which is why
the cache cannot live among them.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import h5py
import numpy as np

from ..store import atomic_path


class DescriptorCache:
    """Rows keyed by geometry key, for one descriptor-set key."""

    def __init__(self, root: str | Path, set_key: str):
        self.dir = Path(root) / set_key
        self.dir.mkdir(parents=True, exist_ok=True)
        self._index: dict[str, tuple[Path, int]] | None = None

    def _load_index(self) -> dict[str, tuple[Path, int]]:
        if self._index is None:
            self._index = {}
            for part in sorted(self.dir.glob("*.h5")):
                try:
                    with h5py.File(part, "r") as h5:
                        for row, key in enumerate(h5["keys"].asstr()[:]):
                            self._index.setdefault(key, (part, row))
                except OSError:  # unreadable part (foreign or damaged): ignore it
                    continue
        return self._index

    def __len__(self) -> int:
        return len(self._load_index())

    def lookup(self, keys: list[str]) -> dict[str, np.ndarray]:
        """Cached rows for the keys present; reads only what is asked."""
        index = self._load_index()
        by_part: dict[Path, list[tuple[str, int]]] = {}
        for key in dict.fromkeys(keys):
            if key in index:
                part, row = index[key]
                by_part.setdefault(part, []).append((key, row))
        found = {}
        for part, items in by_part.items():
            with h5py.File(part, "r") as h5:
                rows = h5["rows"]
                order = sorted(items, key=lambda kr: kr[1])
                block = rows[[r for _, r in order]]
                found.update({k: block[i] for i, (k, _) in enumerate(order)})
        return found

    def add(self, keys: list[str], rows: np.ndarray) -> None:
        """Store rows (M, n_atoms, n_features) under keys, as a new part."""
        if not len(keys):
            return
        name = f"{uuid.uuid4().hex}.h5"
        with atomic_path(self.dir / name) as tmp, h5py.File(tmp, "w") as h5:  # a .tmp name: not a part
            h5["keys"] = np.array(keys, dtype=object).astype(h5py.string_dtype())
            h5["rows"] = rows
        if self._index is not None:
            for row, key in enumerate(keys):
                self._index.setdefault(key, (self.dir / name, row))
