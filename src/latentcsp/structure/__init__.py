"""The crystal record at the bottom of the package; it imports nothing else of latentcsp.

* :mod:`.raw`: :class:`~.raw.RawStructure` (one crystal as a file states it) and
  :class:`~.raw.Rejected` (what could not be read, and why);
* :mod:`.crystal`: the checked record (:class:`~.crystal.Crystal`): molecules and
  bonds, symmetry and sites (spglib); :mod:`.hashing`: the content hash;
  :mod:`.canonical`: the canonical atom order;
* :mod:`.kernels`: its numba kernels; :mod:`.pbc`: periodic neighbour search;
* :mod:`.symmetry`: space-group facts and the one space-group lookup;
* :mod:`.crystallography`: symmetry operators, cells and site expansion (readers, generator).
"""
