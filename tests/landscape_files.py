"""Structure files of every format written by the tests from ASE crystals (P1, the whole cell written out)."""

from __future__ import annotations

import json

import numpy as np
from ase import Atoms


def _labels(atoms: Atoms) -> list[str]:
    return [f"{s}{k + 1}" for k, s in enumerate(atoms.get_chemical_symbols())]


def res_text(atoms: Atoms, name: str, energy: float | None) -> str:
    """A SHELX .res record in P1 (LATT -1, no SYMM): ``TITL <name> [<energy>]``."""
    a, b, c, al, be, ga = atoms.cell.cellpar()
    species = list(dict.fromkeys(atoms.get_chemical_symbols()))
    lines = [f"TITL {name}" + ("" if energy is None else f" {energy:.6f}"),
             f"CELL 0.71073 {a:.6f} {b:.6f} {c:.6f} {al:.6f} {be:.6f} {ga:.6f}", "LATT -1",
             "SFAC " + " ".join(species)]
    for label, el, x in zip(_labels(atoms), atoms.get_chemical_symbols(), atoms.get_scaled_positions(wrap=False)):
        lines.append(f"{label} {species.index(el) + 1} {x[0]:.6f} {x[1]:.6f} {x[2]:.6f} 11.00000 0.05")
    return "\n".join(lines + ["END"]) + "\n"


def cif_block(atoms: Atoms, name: str, energy: float | None) -> str:
    """A CIF data block in P1 with ``_csp_energy`` and every atom as a site."""
    a, b, c, al, be, ga = atoms.cell.cellpar()
    lines = [f"data_{name}", "_symmetry_space_group_name_H-M 'P 1'"]
    lines += [f"_cell_length_{k} {v:.6f}" for k, v in zip("abc", (a, b, c))]
    lines += [f"_cell_angle_{k} {v:.6f}" for k, v in zip(("alpha", "beta", "gamma"), (al, be, ga))]
    if energy is not None:
        lines.append(f"_csp_energy {energy:.6f}")
    lines += ["loop_", "_symmetry_equiv_pos_as_xyz", "'x, y, z'", "loop_", "_atom_site_label",
              "_atom_site_type_symbol", "_atom_site_fract_x", "_atom_site_fract_y", "_atom_site_fract_z"]
    for label, el, x in zip(_labels(atoms), atoms.get_chemical_symbols(), atoms.get_scaled_positions(wrap=False)):
        lines.append(f"{label} {el} {x[0]:.6f} {x[1]:.6f} {x[2]:.6f}")
    return "\n".join(lines) + "\n"


def extxyz_frame(atoms: Atoms, name: str, energy: float | None) -> str:
    """One extended-XYZ frame (Lattice, Properties, name, energy)."""
    lattice = " ".join(f"{v:.8f}" for v in atoms.cell[:].ravel())
    info = f'Lattice="{lattice}" Properties=species:S:1:pos:R:3 name={name}'
    if energy is not None:
        info += f" energy={energy:.6f}"
    info += ' pbc="T T T"'
    rows = [f"{s} {p[0]:.8f} {p[1]:.8f} {p[2]:.8f}" for s, p in zip(atoms.get_chemical_symbols(), atoms.positions)]
    return "\n".join([str(len(atoms)), info] + rows) + "\n"


def chemiscope_dataset(structures: list[Atoms], names: list[str], energies: list, units: str | None = None) -> dict:
    """A chemiscope dataset with inline structures and structure properties ``name`` and ``energy``."""
    energy = {"target": "structure", "values": energies}
    if units is not None:
        energy["units"] = units
    return {"meta": {"name": "tests"},
            "properties": {"name": {"target": "structure", "values": names}, "energy": energy},
            "structures": [chemiscope_structure(a) for a in structures]}


def chemiscope_structure(atoms: Atoms) -> dict:
    return {"size": len(atoms), "names": atoms.get_chemical_symbols(), "x": atoms.positions[:, 0].tolist(),
            "y": atoms.positions[:, 1].tolist(), "z": atoms.positions[:, 2].tolist(),
            "cell": atoms.cell[:].ravel().tolist()}


def write_asedb(path, rows: list[tuple[Atoms, dict]]) -> None:
    """An ASE SQLite database, one row per (atoms, key-value pairs)."""
    import ase.db

    with ase.db.connect(str(path), append=False) as db:
        for atoms, kvp in rows:
            db.write(atoms, **kvp)


def write_json(path, data) -> None:
    path.write_text(json.dumps(data))


def jitter(atoms: Atoms, seed: int, scale: float = 0.02) -> Atoms:
    """A copy with every atom moved by up to ``scale`` Å (a different but equally good structure)."""
    out = atoms.copy()
    out.positions += np.random.default_rng(seed).uniform(-scale, scale, out.positions.shape)
    return out
