#!/usr/bin/env python
"""Make the rigid molecule geometries in ``config/molecules/`` (run once; output committed).

syn-BDT  = benzo[1,2-b:5,4-b']dithiophene  (C2v, both S on the same side)
anti-BDT = benzo[1,2-b:4,5-b']dithiophene  (C2h, centrosymmetric)

Procedure (see config/molecules/README.md): SMILES -> RDKit molecule with explicit
hydrogens -> ETKDG v3 embedding (fixed random seed) -> MMFF94 optimisation to
convergence -> the atoms centred on their centroid and rotated onto their principal
axes (largest in-plane extent along x, plane normal along z) -> XYZ file with the
SMILES, the method and the versions in the comment line.

RDKit is *not* a dependency of latentcsp: run this script in a throwaway environment,
e.g.::

    python3 -m venv /tmp/rdkit && /tmp/rdkit/bin/pip install rdkit numpy
    /tmp/rdkit/bin/python scripts/make_molecules.py            # writes config/molecules/*.xyz
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

MOLECULES = {
    # benzene ring a1..a6; thiophene A fused at a1-a2 with S on a1.
    # syn: thiophene B fused at a4-a5 with S on a5 (mirror image of A through the a3-a6 axis)
    "syn-BDT": ("benzo[1,2-b:5,4-b']dithiophene", "c1cc2cc3ccsc3cc2s1"),
    # anti: thiophene B fused at a4-a5 with S on a4 (A's image through the ring centre)
    "anti-BDT": ("benzo[1,2-b:4,5-b']dithiophene", "c1cc2cc3sccc3cc2s1"),
}


def build(smiles: str, seed: int = 20210705):
    import rdkit
    from rdkit import Chem
    from rdkit.Chem import AllChem

    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    params = AllChem.ETKDGv3()
    params.randomSeed = seed
    if AllChem.EmbedMolecule(mol, params) != 0:
        raise RuntimeError(f"ETKDG embedding failed for {smiles}")
    props = AllChem.MMFFGetMoleculeProperties(mol)
    ff = AllChem.MMFFGetMoleculeForceField(mol, props)
    ff.Minimize(maxIts=10000, forceTol=1e-6, energyTol=1e-10)
    energy = ff.CalcEnergy()
    symbols = [a.GetSymbol() for a in mol.GetAtoms()]
    xyz = mol.GetConformer().GetPositions()
    return symbols, xyz, energy, rdkit.__version__


def principal_frame(xyz: np.ndarray) -> np.ndarray:
    """Centre on the centroid and rotate onto principal axes (x longest, z = plane normal)."""
    x = xyz - xyz.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    if np.linalg.det(vt) < 0:
        vt[2] *= -1
    return x @ vt.T


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "config" / "molecules"))
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, (iupac, smiles) in MOLECULES.items():
        symbols, xyz, energy, version = build(smiles)
        xyz = principal_frame(xyz)
        comment = (f"{name} {iupac} SMILES={smiles} RDKit={version} ETKDGv3(seed=20210705)+MMFF94 "
                   f"E_MMFF={energy:.4f}kcal/mol")
        lines = [str(len(symbols)), comment]
        lines += [f"{s:<2s} {p[0]:14.8f} {p[1]:14.8f} {p[2]:14.8f}" for s, p in zip(symbols, xyz)]
        (out / f"{name}.xyz").write_text("\n".join(lines) + "\n")
        print(f"wrote {out / (name + '.xyz')}: {comment}")


if __name__ == "__main__":
    main()
