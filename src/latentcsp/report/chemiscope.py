"""Interactive maps: a group's PCA and latent coordinates with its crystals as a chemiscope dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..store import StructureSet


def write_dataset(path: str | Path, structures: StructureSet, coords: pd.DataFrame, scores: pd.DataFrame,
                  title: str) -> Path:
    """Write ``path`` (.json.gz) that opens in the chemiscope viewer.

    structures: the group's crystals in ``coords`` order; coords: latent
    coordinates (coordinates.csv); scores: PC1/PC2 and local ID (scores.csv).
    """
    import chemiscope
    from ase import Atoms

    frames = [Atoms(numbers=structures.numbers[structures.atoms_of(s)],
                    positions=structures.positions[structures.atoms_of(s)], cell=structures.cell[s], pbc=True)
              for s in range(len(structures))]
    merged = coords.merge(scores[["id", "PC1", "PC2", "local_id", "spacegroup"]], on="id", how="left")
    properties = {}
    for col in merged.columns:
        if col == "id":
            continue
        values = merged[col].to_numpy()
        if col == "spacegroup":
            properties[col] = {"target": "structure", "values": [str(v) for v in values]}
        elif np.issubdtype(values.dtype, np.number) and np.isfinite(values.astype(float)).any():
            unit = {"rel_energy": "kJ/mol", "density": "g/cm^3"}.get(col, "")
            properties[col] = {"target": "structure", "values": values.astype(float).tolist(), "units": unit}
    x, y = ("ae_2d_1", "ae_2d_2") if "ae_2d_1" in merged else ("PC1", "PC2")
    settings = {"map": {"x": {"property": x}, "y": {"property": y}, "color": {"property": "rel_energy"}}}
    chemiscope.write_input(str(path), structures=frames, properties=properties,
                           metadata={"name": title, "description": "latentcsp: PCA and autoencoder coordinates"},
                           settings=settings)
    return Path(path)
