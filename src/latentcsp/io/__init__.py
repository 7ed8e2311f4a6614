"""Readers of CSP landscape files, one per format, behind one registry.

A reader is a function ``read_<format>(path) -> Iterator[RawStructure | Rejected]``.
It yields one :class:`RawStructure` per crystal it can parse and one
:class:`Rejected` per crystal (or whole file) it cannot, with the reason; it
never raises for bad content, and after a bad record it goes on with the
next one.  Text formats read their files with :func:`read_text`
(decompressed by content, binary data refused with a reason).  Every file a
source names gives at least one record (:func:`read_source`), so each is in
the manifest or the quarantine.  Everything format-independent (molecules,
symmetry, energies, validation) happens later in :mod:`latentcsp.structure.crystal`.
"""

from __future__ import annotations

import bz2
import codecs
import glob
import gzip
import lzma
import os
from pathlib import Path
from typing import Callable, Iterator

from ..structure.raw import RawStructure, Rejected


Reader = Callable[[str], Iterator["RawStructure | Rejected"]]

READERS: dict[str, Reader] = {}

#: File-name endings (lower case) and the format they imply; each may be followed by one of COMPRESSIONS.
EXTENSIONS: list[tuple[str, str]] = [
    (".extxyz", "extxyz"),
    (".xyz", "extxyz"),
    (".res", "res"),
    (".cif", "cif"),
    (".db", "ase-db"),
    (".json", "chemiscope"),
]
#: Compression endings; text files are decompressed by their content (gzip, bzip2, xz), whatever their name.
COMPRESSIONS = (".gz", ".bz2", ".xz")
_MAGIC = {b"\x1f\x8b": ("gzip", gzip.decompress), b"BZh": ("bzip2", bz2.decompress),
          b"\xfd7zXZ\x00": ("xz", lzma.decompress)}
#: Fraction of control (or non-UTF-8) bytes above which a file is binary data, not text.
BINARY_FRACTION = 0.05
_CONTROL_BYTES = bytes([*range(0, 9), *range(14, 32), 127])  # not in text (tab, newlines, form feed are)


class UnreadableFile(ValueError):
    """A file whose bytes are not text a reader can parse; the message says why, in plain words."""


def read_text(path: str | os.PathLike) -> str:
    """The text of a structure file: decompressed (gzip, bzip2, xz, by content), UTF-8 or UTF-16 with a BOM.

    Raises :class:`UnreadableFile` for an unreadable or damaged file, and
    for binary data: more than :data:`BINARY_FRACTION` of control bytes or
    of bytes that are not UTF-8.  A text file with a few stray bytes is still
    text (a Latin-1 comment, a damaged record: its reader rejects only what
    they break); line endings are left to ``splitlines``.
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise UnreadableFile(f"cannot open the file: {exc.strerror or exc}") from None
    for magic, (kind, decompress) in _MAGIC.items():
        if data.startswith(magic):
            try:
                data = decompress(data)
            except (OSError, EOFError, ValueError, lzma.LZMAError) as exc:
                raise UnreadableFile(f"damaged {kind}-compressed file (truncated download?): {exc}") from None
            break
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    control = len(data) - len(data.translate(None, _CONTROL_BYTES))
    if control > BINARY_FRACTION * len(data):
        raise UnreadableFile("binary data, not a text file (a file of another kind, or compressed in a way "
                             "latentcsp does not read)")
    text = data.decode("utf-8", errors="replace")
    if text.count("\ufffd") > BINARY_FRACTION * len(text):
        raise UnreadableFile(f"not text: more than {BINARY_FRACTION:.0%} of its bytes are not UTF-8 characters")
    return text.removeprefix("\ufeff")


def register(name: str) -> Callable[[Reader], Reader]:
    """Decorator adding a reader to :data:`READERS` under ``name``."""

    def wrap(func: Reader) -> Reader:
        READERS[name] = func
        return func

    return wrap


def format_of(path: str) -> str | None:
    """The format implied by a file name (after removing one compression ending), or None."""
    low = str(path).lower()
    for ending in COMPRESSIONS:
        low = low.removesuffix(ending)
    for ending, fmt in EXTENSIONS:
        if low.endswith(ending):
            return fmt
    return None


def file_stem(path: str | os.PathLike) -> str:
    """A file's name without its compression and format endings ('a/x.res.gz' -> 'x'): the id of a one-structure file."""
    name = os.path.basename(path)
    for ending in COMPRESSIONS:
        if name.lower().endswith(ending):
            name = name[: -len(ending)]
            break
    for ending, _ in EXTENSIONS:
        if name.lower().endswith(ending):
            return name[: -len(ending)]
    return name


def expand_source(source: str | os.PathLike, fmt: str = "auto") -> list[str]:
    """Files named by ``source``: a file, a directory (searched recursively) or a glob, sorted.

    A file, and every file a glob matches, is returned whatever its name
    (:func:`read_source` quarantines one that no reader takes).  A
    directory gives the files whose ending, compressed or not, is ``fmt``'s
    (any known format's for ``auto``): notes, tables and licences beside
    the structures are not structure files.
    """
    source = str(source)
    if os.path.isfile(source):
        return [source]
    if os.path.isdir(source):
        found = [str(p) for p in Path(source).rglob("*") if p.is_file()]
        return sorted(p for p in found if format_of(p) is not None and fmt in ("auto", format_of(p)))
    return sorted(p for p in glob.glob(source, recursive=True) if os.path.isfile(p))


def read_source(source: str | os.PathLike, fmt: str = "auto") -> Iterator[RawStructure | Rejected]:
    """Read every structure named by ``source`` with the right reader.

    Every file of :func:`expand_source` gives at least one record: a file
    that no reader takes, that holds no structure, or whose reader fails
    outright becomes one :class:`Rejected` record, so every file is either
    read or quarantined, and a bad file never stops a landscape.
    """
    _load_readers()
    files = expand_source(source, fmt)
    if not files:
        raise FileNotFoundError(f"no structure files found at {source!r} (format {fmt})")
    known = ", ".join(sorted({e for e, _ in EXTENSIONS}))
    for path in files:
        name = format_of(path) if fmt == "auto" else fmt
        reader = READERS.get(name or "")
        if reader is None:
            what = f"format {name!r}" if name else f"a file named {Path(path).name!r}"
            yield Rejected(path, None, f"not a structure file: no reader for {what} (known endings: {known}, "
                                       f"optionally {', '.join(COMPRESSIONS)})")
            continue
        count = 0
        try:
            for rec in reader(path):
                count += 1
                yield rec
        except Exception as exc:  # a reader bug: keep going with the next file
            count += 1
            yield Rejected(path, None, f"the {name} reader failed on this file ({type(exc).__name__}: {exc})")
        if not count:
            yield Rejected(path, None, f"no structures in this {name} file")


def _load_readers() -> None:
    """Import the reader modules (they register themselves); cheap after the first call."""
    from . import readers  # noqa: F401
