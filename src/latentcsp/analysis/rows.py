"""The descriptor rows of one group, read from its per-space-group files in bounded blocks.

A group (a window x a space group, or ``all``) names its structures by id; their
rows lie in the descriptor files of their space groups
(``results/{landscape}/descriptors/{set}/{spacegroup}.h5``, float32).
:class:`GroupRows` reads them in the group's order without ever holding more
than one block of a file in memory: :meth:`GroupRows.blocks` for passes over
every row, :meth:`GroupRows.read` for any rows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import h5py
import numpy as np

from ..store import read_rows

BLOCK_MB = 128  # float32 rows read from a file at a time


class GroupRows:
    """Rows ``ids`` of the descriptor matrices in ``files``; use as a context manager (open files)."""

    def __init__(self, files: list[str | Path], ids: list[str], block_mb: float = BLOCK_MB):
        self.ids = list(ids)
        self._h5 = [h5py.File(path, "r") for path in files]
        where: dict[str, tuple[int, int]] = {}
        self.width, self.record = 0, {}
        for f, h5 in enumerate(self._h5):
            file_ids = h5["ids"].asstr()[:]
            if not len(file_ids):  # a space group without structures
                continue
            self.width, self.record = h5["X"].shape[1], json.loads(h5.attrs["record"])
            where.update((i, (f, r)) for r, i in enumerate(file_ids))
        missing = [i for i in self.ids if i not in where]
        if missing:
            self.close()
            raise KeyError(f"{len(missing)} structures have no descriptors, e.g. {missing[:3]}")
        located = np.array([where[i] for i in self.ids], dtype=np.int64).reshape(-1, 2)
        self.file, self.row = located[:, 0], located[:, 1]
        self.block_rows = max(1, int(block_mb * 1e6 / (4 * max(self.width, 1))))

    def __len__(self) -> int:
        return len(self.ids)

    def __enter__(self) -> "GroupRows":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for h5 in self._h5:
            h5.close()

    def read(self, index) -> np.ndarray:
        """Rows ``ids[index]`` (len(index), width) float32, in the order of ``index``."""
        index = np.asarray(index, dtype=np.int64)
        out = np.empty((len(index), self.width), dtype=np.float32)
        for f in np.unique(self.file[index]):
            at = np.flatnonzero(self.file[index] == f)
            rows = self.row[index[at]]
            order = np.argsort(rows, kind="stable")
            out[at[order]] = read_rows(self._h5[f]["X"], rows[order], self.block_rows)
        return out

    def blocks(self) -> Iterator[tuple[int, np.ndarray]]:
        """(first row, rows) of consecutive blocks covering the group in order, float32."""
        for lo in range(0, len(self), self.block_rows):
            yield lo, self.read(np.arange(lo, min(lo + self.block_rows, len(self))))

def load_rows(descriptor_files: list[str | Path], ids: list[str]) -> tuple[np.ndarray, dict]:
    """Descriptor rows (len(ids), D) float64 for ``ids``, gathered from per-space-group files."""
    with GroupRows(descriptor_files, ids) as rows:
        return rows.read(np.arange(len(rows))).astype(np.float64), rows.record
