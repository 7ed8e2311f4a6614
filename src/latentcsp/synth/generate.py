"""``generate``: quasi-random trial structures and their minimised landscape for one
molecule in one space group, written as CSPy-style .res files with a DoF table;
``write_ensemble``: a landscape of known dimension (some DoF frozen), written as P1 CIFs
with an energy table, for testing the dimension estimates as a user would."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from .ensembles import Ensemble, check_free, sample
from .minimise import MinimiseOptions, centroid_fingerprint, deduplicate, dense_packing
from .minimise import minimise as minimise_structure
from .model import CrystalModel
from .molecule import read_xyz
from .res import write_res
from .sampling import SamplingOptions, sample_trials

#: Columns of every dof table (the same for all groups, so tables concatenate): the six
#: lattice parameters (Å, degrees), the rotation vector (radians) of the orientation
#: relative to the molecule's reference frame, the centroid's fractional coordinates.
#: ``free`` names the columns that are degrees of freedom of the group (';'-separated).
DOF_COLUMNS = ["a", "b", "c", "alpha", "beta", "gamma", "rot_x", "rot_y", "rot_z", "x", "y", "z"]


def true_dof(spacegroup) -> int:
    """Degrees of freedom of a rigid molecule in a general position, Z' = 1
    (:func:`latentcsp.structure.symmetry.degrees_of_freedom`)."""
    from latentcsp.structure.symmetry import degrees_of_freedom

    return int(degrees_of_freedom(spacegroup))


def dof_row(model: CrystalModel, theta) -> dict:
    s = model.build(theta)
    p6 = s["p6"]
    _, w, phi = model.split(theta)
    vals = list(p6[:3]) + list(np.degrees(p6[3:])) + list(w) + list(phi)
    return dict(zip(DOF_COLUMNS, (float(v) for v in vals)))


def detected_number(model: CrystalModel, theta, symprec: float = 1e-3) -> int:
    """Space-group number spglib finds for the built crystal (0 if it finds none)."""
    import spglib

    atoms = model.atoms(theta)
    data = spglib.get_symmetry_dataset((atoms.cell[:], atoms.get_scaled_positions(), atoms.numbers), symprec=symprec)
    return int(data.number) if data is not None else 0


def _stats(values) -> dict:
    v = np.asarray(values, dtype=float)
    if not len(v):
        return {}
    return {"min": float(v.min()), "median": float(np.median(v)), "max": float(v.max())}


def generate(molecule_xyz, spacegroup, n_trials: int = 60, seed: int = 0, minimise: bool = True,
             out_dir=".", name: str | None = None, cutoff: float = 15.0,
             sampling: SamplingOptions | dict | None = None,
             minimisation: MinimiseOptions | dict | None = None) -> dict:
    """Generate a quasi-random landscape of one rigid molecule in one space group.

    Writes, under ``out_dir`` (the molecule's folder; several groups may share it):

    * ``trial/<id>.res``  the clash-free quasi-random trial structures, unrelaxed;
    * ``minima/<id>.res`` the unique minima after rigid-body minimisation (``minimise``);
    * ``trial/dof_<SG>.csv`` and ``minima/dof_<SG>.csv``: id, spacegroup, the DoF
      columns (:data:`DOF_COLUMNS`), ``free``, energy (kJ/mol per molecule), density
      (g/cm^3), true_dof, detected (the number spglib finds at symprec 1e-3; a minimum
      may gain symmetry) — where ``<SG>`` is the file-safe symbol (``P21c``);
    * ``summary_<SG>.json``: the returned summary.

    Ids are ``<molecule>-<SG>-t<NNNNN>`` (trials) and ``-m<NNNNN>`` (minima, numbered
    by the trial they came from). Returns the summary dict.
    """
    t_start = time.perf_counter()
    mol = read_xyz(molecule_xyz, name=name)
    model = CrystalModel(mol, spacegroup, cutoff=cutoff)
    sg = model.sg
    sopts = sampling if isinstance(sampling, SamplingOptions) else SamplingOptions(**(sampling or {}))
    mopts = minimisation if isinstance(minimisation, MinimiseOptions) else MinimiseOptions(**(minimisation or {}))
    out = Path(out_dir)
    tdir, mdir = out / "trial", out / "minima"
    tdir.mkdir(parents=True, exist_ok=True)
    truth = true_dof(sg.number)
    if truth != model.n_dof:  # the parametrisation must have exactly the true DoF
        raise RuntimeError(f"{sg.symbol}: {model.n_dof} sampled DoF but symmetry says {truth}")
    free = ";".join(model.names)
    cols = ["id", "spacegroup", *DOF_COLUMNS, "free", "energy", "density", "true_dof", "detected"]

    trials, attempts = sample_trials(model, n_trials, seed, sopts)
    t_trials = time.perf_counter() - t_start
    rows = []
    for i, theta in enumerate(trials):
        ident = f"{mol.name}-{sg.tag}-t{i:05d}"
        e = model.energy(theta)
        write_res(tdir / f"{ident}.res", model, theta, ident, e)
        rows.append(dict(id=ident, spacegroup=sg.symbol, **dof_row(model, theta), free=free, energy=e,
                         density=model.density(theta), true_dof=truth, detected=detected_number(model, theta)))
    pd.DataFrame(rows, columns=cols).to_csv(tdir / f"dof_{sg.tag}.csv", index=False)

    summary = dict(molecule=mol.name, formula=mol.formula(), spacegroup=sg.symbol, number=sg.number, z=sg.z,
                   true_dof=truth, dof_names=model.names, seed=seed, n_trials_requested=n_trials,
                   n_trials=len(trials), sobol_points=attempts,
                   acceptance=len(trials) / attempts if attempts else 0.0,
                   molecular_volume=mol.volume, cutoff=cutoff, sampling=asdict(sopts),
                   n_trials_detected_as_requested=sum(r["detected"] == sg.number for r in rows),
                   trial_energy=_stats([r["energy"] for r in rows]),
                   trial_density=_stats([r["density"] for r in rows]), seconds_trials=t_trials)

    if minimise:
        mdir.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        results = [(i, minimise_structure(model, th, mopts)) for i, th in enumerate(trials)]
        t_min = time.perf_counter() - t0
        good = [(i, r) for i, r in results if r.converged and r.min_contact >= mopts.collapse]
        energies = np.array([r.energy for _, r in good])
        dens = np.array([model.density(r.theta) for _, r in good])
        fps = [centroid_fingerprint(model, r.theta) for _, r in good]
        keep = deduplicate(energies, dens, fps) if good else []
        mrows = []
        for k in keep:
            i, r = good[k]
            ident = f"{mol.name}-{sg.tag}-m{i:05d}"
            write_res(mdir / f"{ident}.res", model, r.theta, ident, r.energy)
            mrows.append(dict(id=ident, spacegroup=sg.symbol, **dof_row(model, r.theta), free=free,
                              energy=r.energy, density=float(dens[k]), true_dof=truth,
                              detected=detected_number(model, r.theta)))
        pd.DataFrame(mrows, columns=cols).to_csv(mdir / f"dof_{sg.tag}.csv", index=False)
        n_eval = sum(r.n_eval for _, r in results)
        summary.update(
            n_minimised=len(results),
            n_converged=sum(r.converged for _, r in results),
            n_collapsed=sum(r.converged and r.min_contact < mopts.collapse for _, r in results),
            n_unique_minima=len(keep),
            n_minima_detected_as_requested=sum(r["detected"] == sg.number for r in mrows),
            minima_energy=_stats([r["energy"] for r in mrows]),
            minima_density=_stats([r["density"] for r in mrows]),
            energy_evaluations=n_eval,
            seconds_minimisation=t_min,
            minimisation=asdict(mopts),
        )
    summary["seconds_total"] = time.perf_counter() - t_start
    (out / f"summary_{sg.tag}.json").write_text(json.dumps(summary, indent=1))
    return summary


def merge_dof_tables(folder) -> pd.DataFrame:
    """Concatenate a folder's ``dof_<SG>.csv`` tables into ``dof.csv`` (returned too)."""
    folder = Path(folder)
    parts = [pd.read_csv(p) for p in sorted(folder.glob("dof_*.csv"))]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    table.to_csv(folder / "dof.csv", index=False)
    return table


def write_ensemble(molecule_xyz, spacegroup, ensemble: Ensemble, n: int, out_dir, seed: int = 0,
                   name: str | None = None) -> dict:
    """A landscape of known dimension ``ensemble.dimension``: ``n`` clash-free crystals of
    ``ensemble`` (:func:`~latentcsp.synth.ensembles.sample`) around a dense packing
    (:func:`~latentcsp.synth.minimise.dense_packing`), the DoF not in ``ensemble.free`` held
    at the packing's values. Writes under ``out_dir``:

    * ``cif/<id>.cif``: the crystals as P1 CIFs, as a CSP code would hand them over;
    * ``energies.csv``: id, energy (exp-6 lattice energy, kJ/mol per molecule), unless the
      force field has no parameters for the molecule;
    * ``dof.csv``: id and the DoF vector (:data:`DOF_COLUMNS`);
    * ``truth.json``: the dimension ``d``, the free DoF, the sampling, the base packing.

    Returns truth.json's content. ValueError when fewer than ``n`` clash-free crystals are
    found (a frozen lattice too tight for the free rotations, say).
    """
    from ase.io import write

    mol = read_xyz(molecule_xyz, name=name)
    model = CrystalModel(mol, spacegroup)
    check_free(model, ensemble)  # before the packing's minimisations
    base = dense_packing(model, seed)
    thetas, proposals = sample(model, ensemble, base, n, seed=seed)
    if len(thetas) < n:
        raise ValueError(f"{mol.name} in {model.sg.symbol}: only {len(thetas)} of {n} clash-free crystals of "
                         f"{ensemble.label()} in {proposals} proposals")
    out = Path(out_dir)
    (out / "cif").mkdir(parents=True, exist_ok=True)
    ids = [f"s{k:05d}" for k in range(n)]
    for ident, theta in zip(ids, thetas):
        write(out / "cif" / f"{ident}.cif", model.atoms(theta), format="cif")
    pd.DataFrame([{"id": i, **dof_row(model, t)} for i, t in zip(ids, thetas)]).to_csv(out / "dof.csv", index=False)
    try:
        energies = [model.energy(t) for t in thetas]
        pd.DataFrame({"id": ids, "energy": energies}).to_csv(out / "energies.csv", index=False)
    except ValueError:  # no exp-6 parameters for an element of the molecule
        energies = None
    truth = {"d": ensemble.dimension, "free": list(ensemble.free), "sampling": ensemble.sampling,
             "ensemble": asdict(ensemble), "molecule": mol.name,
             "spacegroup": model.sg.symbol, "dof": model.n_dof, "n": n, "proposals": int(proposals),
             "seed": seed, "energies": energies is not None, "base": dof_row(model, base)}
    (out / "truth.json").write_text(json.dumps(truth, indent=1))
    return truth
