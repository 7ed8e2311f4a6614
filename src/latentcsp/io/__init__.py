"""Readers of CSP landscape files, one per format, behind one registry.

A reader is a function ``read_<format>(path) -> Iterator[RawStructure | Rejected]``.
It yields one :class:`RawStructure` per crystal it can parse and one
:class:`Rejected` per crystal (or whole file) it cannot, with the reason; it
never raises for bad content.  Everything format-independent (molecules,
symmetry, energies, validation) happens later in :mod:`latentcsp.structure`.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np


@dataclass
class RawStructure:
    """One crystal as a file states it.

    cell: (3, 3) float, lattice vectors as rows, Å.
    positions: (n, 3) float, Cartesian, Å.
    numbers: (n,) int, atomic numbers.
    energy: as stated in the file, in the landscape's configured unit and basis
        (per molecule or per cell), or None.
    spacegroup: the stated space-group symbol or number as a string, or None.
    properties: other per-structure facts the file carries (name, type, ...).
    line: 1-based line of the record in the file, where known.
    labels: (n,) the file's own name of each atom (its site label; every
        symmetry copy of a site carries the site's label), or None where the
        file has none (messages then number atoms in file order).
    """

    id: str
    source: str
    cell: np.ndarray
    positions: np.ndarray
    numbers: np.ndarray
    energy: float | None = None
    spacegroup: str | None = None
    properties: dict = field(default_factory=dict)
    line: int | None = None
    labels: list[str] | None = None


@dataclass
class Rejected:
    """A crystal, or a whole file, that could not be read, and why."""

    source: str
    id: str | None
    reason: str
    line: int | None = None


Reader = Callable[[str], Iterator["RawStructure | Rejected"]]

READERS: dict[str, Reader] = {}

#: File-name endings (lower case, longest first) and the format they imply.
EXTENSIONS: list[tuple[str, str]] = [
    (".extxyz.bz2", "extxyz"),
    (".xyz.bz2", "extxyz"),
    (".json.gz", "chemiscope"),
    (".extxyz", "extxyz"),
    (".xyz", "extxyz"),
    (".res", "res"),
    (".cif", "cif"),
    (".db", "ase-db"),
    (".json", "chemiscope"),
]


def register(name: str) -> Callable[[Reader], Reader]:
    """Decorator adding a reader to :data:`READERS` under ``name``."""

    def wrap(func: Reader) -> Reader:
        READERS[name] = func
        return func

    return wrap


def format_of(path: str) -> str | None:
    """The format implied by a file name, or None."""
    low = path.lower()
    for ending, fmt in EXTENSIONS:
        if low.endswith(ending):
            return fmt
    return None


def expand_source(source: str | os.PathLike, fmt: str = "auto") -> list[str]:
    """Files named by ``source``: a file, a directory (searched recursively) or a glob.

    Directories keep only files whose ending matches ``fmt`` (or any known
    format for ``auto``); the list is sorted so runs are reproducible.
    """
    source = str(source)
    if os.path.isfile(source):
        return [source]
    if os.path.isdir(source):
        found = [str(p) for p in Path(source).rglob("*") if p.is_file()]
    else:
        found = [p for p in glob.glob(source, recursive=True) if os.path.isfile(p)]
    if fmt == "auto":
        return sorted(p for p in found if format_of(p) is not None)
    return sorted(p for p in found if format_of(p) == fmt)


def read_source(source: str | os.PathLike, fmt: str = "auto") -> Iterator[RawStructure | Rejected]:
    """Read every structure named by ``source`` with the right reader.

    A file that no reader takes, or whose reader fails outright, becomes one
    :class:`Rejected` record: a bad file never stops a landscape.
    """
    _load_readers()
    files = expand_source(source, fmt)
    if not files:
        raise FileNotFoundError(f"no structure files found at {source!r} (format {fmt})")
    for path in files:
        name = format_of(path) if fmt == "auto" else fmt
        reader = READERS.get(name or "")
        if reader is None:
            yield Rejected(path, None, f"no reader for format {name!r}")
            continue
        try:
            yield from reader(path)
        except Exception as exc:  # a reader bug or an unreadable file: keep going
            yield Rejected(path, None, f"{name} reader failed: {type(exc).__name__}: {exc}")


def _load_readers() -> None:
    """Import the reader modules (they register themselves); cheap after the first call."""
    from . import readers  # noqa: F401


def iter_good(records: Iterable[RawStructure | Rejected]) -> Iterator[RawStructure]:
    """Only the structures of a record stream."""
    return (r for r in records if isinstance(r, RawStructure))
