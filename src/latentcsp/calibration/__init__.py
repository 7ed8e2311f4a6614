"""Calibrated dimensions: raw intrinsic-dimension estimates of a group mapped to a
dimension with reference landscapes of known dimension, made by the generator with the
landscape's own molecule, space group, size, descriptors and estimators.

* :mod:`.references` — the reference molecule, a base packing and the ladder of
  ensembles of known dimension;
* :mod:`.curves` — calibration curves (estimate against true dimension), the combined
  reading of all estimators, and the calibrated dimension with an interval, or
  "unresolved" and why;
* :mod:`.stage` — the ``latentcsp calibrate`` stage for one landscape and descriptor set.
"""
