"""Imports every reader module so that each registers itself in READERS."""

from . import extxyz  # noqa: F401
