"""The generator's structures as SHELX .res files (:func:`latentcsp.io.res.format_res`).

The title is ``TITL <id> <energy kJ/mol per molecule> <space group, no spaces>``;
the asymmetric unit is one whole molecule, in fractional coordinates.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..structure.crystallography import operator_string
from ..io.res import format_res
from .model import CrystalModel


def res_text(model: CrystalModel, theta, ident: str, energy: float) -> str:
    """The .res record of the crystal ``model`` builds from the DoF vector ``theta``."""
    s = model.build(theta)
    p6 = s["p6"]
    sg = model.sg
    symops = [operator_string(r, t) for r, t in zip(sg.rotations, sg.translations)]
    return format_res(ident, [*p6[:3], *np.degrees(p6[3:])], list(model.molecule.symbols), s["frac"][0], symops,
                      energy=energy, spacegroup=sg.symbol, z=sg.z)


def write_res(path: str | Path, model: CrystalModel, theta, ident: str, energy: float) -> None:
    Path(path).write_text(res_text(model, theta, ident, energy))
