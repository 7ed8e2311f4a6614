"""A landscape of known dimension made without latentcsp: a rigid molecule in P-1 or P2_1/c,
some degrees of freedom frozen at a packing, the others sampled, written as P1 CIFs with
an energy table. Uses only numpy, scipy and ASE, and conventions that differ from
latentcsp's generator on purpose, so the dimension estimates are tested on a chart they
were not built with:

* orientation: intrinsic ZYZ Euler angles (degrees) of the molecule's ASE/G2 frame, not a
  rotation vector of its principal frame;
* position: the centre of mass (fractional), not the centroid;
* cell: ASE's ``cellpar_to_cell`` (a along x), never reduced;
* base packing: the densest of ``--tries`` random clash-free packings found by shrinking the
  cell, not latentcsp's minimised dense packing;
* clash: any intermolecular contact shorter than 0.8 x the sum of Bondi radii; ``--expand``
  scales the base packing's lengths, to leave room for DoF sampled over their full range.

Usage::

    python bench/independent_landscape.py OUT --molecule CH3CH2OH --group P-1 -n 1000 \\
        --sample a:full,b:full,phi:full,x:uniform:0.05,gamma:gauss:3

DoF names: a b c (Å) alpha beta gamma (degrees; P2_1/c has beta only) phi theta psi
(Euler, degrees) x y z (fractions). Laws: ``full`` (lengths 0.85-1.3 x base, angles
60-120 or 90-125 degrees, Euler angles over their whole range, fractions 0-1),
``uniform:H`` (base +- H), ``gauss:S`` (normal around the base, sd S). The true dimension
is the number of sampled DoF; ``truth.json`` records it with the base and the laws.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.build import molecule as g2_molecule
from ase.data.vdw import vdw_radii
from ase.geometry import cellpar_to_cell
from ase.io import write
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

#: Symmetry operations (rotation, translation) in fractional coordinates.
GROUPS = {
    "P-1": [(np.eye(3), np.zeros(3)), (-np.eye(3), np.zeros(3))],
    "P2_1/c": [(np.eye(3), np.zeros(3)),
               (np.diag([-1.0, 1.0, -1.0]), np.array([0.0, 0.5, 0.5])),
               (-np.eye(3), np.zeros(3)),
               (np.diag([1.0, -1.0, 1.0]), np.array([0.0, 0.5, 0.5]))],
}
LATTICE = {"P-1": ["a", "b", "c", "alpha", "beta", "gamma"], "P2_1/c": ["a", "b", "c", "beta"]}
PLACEMENT = ["phi", "theta", "psi", "x", "y", "z"]
CLASH = 0.8


def dof_names(group: str) -> list[str]:
    return LATTICE[group] + PLACEMENT


def cellpar(group: str, p: dict) -> list[float]:
    if group == "P-1":
        return [p["a"], p["b"], p["c"], p["alpha"], p["beta"], p["gamma"]]
    return [p["a"], p["b"], p["c"], 90.0, p["beta"], 90.0]


def build(mol: Atoms, group: str, p: dict) -> Atoms:
    """The P1 crystal of the DoF values ``p`` (Z molecules, each whole)."""
    cell = cellpar_to_cell(cellpar(group, p))
    body = mol.positions - mol.get_center_of_mass()
    rot = Rotation.from_euler("ZYZ", [p["phi"], p["theta"], p["psi"]], degrees=True).as_matrix()
    frac = (body @ rot.T) @ np.linalg.inv(cell) + np.array([p["x"], p["y"], p["z"]])
    images = []
    for r, t in GROUPS[group]:
        f = frac @ r.T + t
        images.append(f - np.floor(f.mean(axis=0)))  # centre of each molecule inside the cell
    out = Atoms(mol.get_chemical_symbols() * len(images), scaled_positions=np.vstack(images) % 1.0,
                cell=cell, pbc=True)
    out.positions = np.vstack(images) @ cell  # keep molecules whole
    return out


def rounded(crystal: Atoms, decimals: int) -> Atoms:
    """The crystal with its cell parameters and fractional coordinates rounded."""
    cell = cellpar_to_cell(np.round(crystal.cell.cellpar(), decimals))
    fractions = np.round(crystal.positions @ np.linalg.inv(crystal.cell[:]), decimals)
    return Atoms(crystal.get_chemical_symbols(), positions=fractions @ cell, cell=cell, pbc=True)


def min_contact_ratio(crystal: Atoms, n_mol_atoms: int) -> float:
    """Smallest intermolecular distance over the sum of Bondi radii (periodic images)."""
    radii = np.array([vdw_radii[z] for z in crystal.numbers])
    mol = np.arange(len(crystal)) // n_mol_atoms
    shifts = np.stack(np.meshgrid(*[np.arange(-2, 3)] * 3, indexing="ij"), -1).reshape(-1, 3)
    pts = (crystal.positions[None] + (shifts @ crystal.cell[:])[:, None]).reshape(-1, 3)
    n_mol = len(np.unique(mol))
    owner = np.tile(mol, len(shifts)) + n_mol * np.repeat(np.arange(len(shifts)), len(crystal))
    home = mol + n_mol * int(np.flatnonzero((shifts == 0).all(axis=1))[0])
    tree = cKDTree(pts)
    best = np.inf
    for i, x in enumerate(crystal.positions):
        for j in tree.query_ball_point(x, 4.0):
            if owner[j] != home[i]:
                best = min(best, np.linalg.norm(pts[j] - x) / (radii[i] + radii[j % len(crystal)]))
    return best


def shrink(mol: Atoms, group: str, p: dict, axes: tuple) -> dict:
    """``p`` with the lengths ``axes`` scaled (bisection) until the closest contact is CLASH + 0.05."""
    lo, hi = 0.2, 3.0
    for _ in range(25):
        s = 0.5 * (lo + hi)
        q = dict(p, **{k: p[k] * s for k in axes})
        lo, hi = (s, hi) if min_contact_ratio(build(mol, group, q), len(mol)) < CLASH + 0.05 else (lo, s)
    return dict(p, **{k: p[k] * hi for k in axes})


def base_packing(mol: Atoms, group: str, rng, tries: int) -> dict:
    """The densest clash-free packing of ``tries`` random ones, each shrunk until it touches."""
    best, best_volume = None, np.inf
    size = np.ptp(mol.positions, axis=0).max() + 3.0
    for _ in range(tries):
        p = dict(zip(PLACEMENT, [*rng.uniform(0, 360, 1), np.degrees(np.arccos(rng.uniform(-1, 1))),
                                 *rng.uniform(0, 360, 1), *rng.uniform(0, 1, 3)]))
        shape = rng.uniform(0.7, 1.4, 3) * size
        p.update(a=shape[0], b=shape[1], c=shape[2], beta=rng.uniform(95, 115))
        if group == "P-1":
            p.update(alpha=rng.uniform(80, 100), gamma=rng.uniform(80, 100))
        for axes in (("a", "b", "c"), ("a",), ("b",), ("c",), ("a",), ("b",), ("c",)):
            p = shrink(mol, group, p, axes)
        q = p
        volume = abs(np.linalg.det(cellpar_to_cell(cellpar(group, q))))
        if volume < best_volume:
            best, best_volume = q, volume
    return best


def draw(name: str, law: str, base: float, group: str, rng) -> float:
    kind, _, width = law.partition(":")
    if kind == "uniform":
        return base + rng.uniform(-float(width), float(width))
    if kind == "gauss":
        return base + rng.normal(0.0, float(width))
    if kind != "full":
        raise ValueError(f"unknown law {law!r}")
    if name in ("a", "b", "c"):
        return base * rng.uniform(0.85, 1.3)
    if name in ("alpha", "gamma") or (name == "beta" and group == "P-1"):
        return rng.uniform(60.0, 120.0)
    if name == "beta":
        return rng.uniform(90.0, 125.0)
    if name == "theta":
        return np.degrees(np.arccos(rng.uniform(-1.0, 1.0)))
    if name in ("phi", "psi"):
        return rng.uniform(0.0, 360.0)
    return rng.uniform(0.0, 1.0)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--molecule", required=True, help="an ASE G2 name (ase.build.molecule)")
    ap.add_argument("--group", choices=sorted(GROUPS), required=True)
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--sample", required=True, help="name:law[,name:law...]")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tries", type=int, default=20)
    ap.add_argument("--decimals", type=int, default=None,
                    help="round cell parameters and fractional coordinates to this many decimals, as a CIF "
                         "written by hand or by another program would be")
    ap.add_argument("--expand", type=float, default=1.0,
                    help="scale the base packing's lengths by this (room for full-range rotations)")
    args = ap.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    mol = g2_molecule(args.molecule)
    laws = dict(item.split(":", 1) for item in args.sample.split(","))
    unknown = set(laws) - set(dof_names(args.group))
    if unknown:
        raise SystemExit(f"not DoF of {args.group}: {sorted(unknown)}")
    base = base_packing(mol, args.group, rng, args.tries)
    base.update({k: base[k] * args.expand for k in ("a", "b", "c")})
    cif = args.out / "cif"
    cif.mkdir(parents=True, exist_ok=True)
    rows, attempts = [], 0
    while len(rows) < args.n:
        attempts += 1
        if attempts > 200 * args.n:
            raise SystemExit(f"only {len(rows)} clash-free crystals in {attempts} draws")
        p = dict(base, **{k: draw(k, law, base[k], args.group, rng) for k, law in laws.items()})
        crystal = build(mol, args.group, p)
        ratio = min_contact_ratio(crystal, len(mol))
        if ratio < CLASH:
            continue
        name = f"s{len(rows):05d}"
        if args.decimals is not None:
            crystal = rounded(crystal, args.decimals)
        write(cif / f"{name}.cif", crystal, format="cif")
        volume = crystal.get_volume() / len(GROUPS[args.group])
        rows.append((name, -1000.0 / volume - 10.0 * min(ratio, 2.0)))  # kJ/mol; any energy will do
    with open(args.out / "energies.csv", "w") as fh:
        fh.write("id,energy\n" + "".join(f"{k},{e:.6f}\n" for k, e in rows))
    truth = {"molecule": args.molecule, "group": args.group, "d": len(laws), "laws": laws, "base": base,
             "n": args.n, "attempts": attempts, "seed": args.seed}
    (args.out / "truth.json").write_text(json.dumps(truth, indent=1))
    print(f"{args.out}: {args.n} crystals ({attempts} draws), d = {len(laws)}")


if __name__ == "__main__":
    main()
