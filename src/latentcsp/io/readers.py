"""Imports every reader module so that each registers itself in READERS."""

from . import asedb, chemiscope, cif, extxyz, res  # noqa: F401
