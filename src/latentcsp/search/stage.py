"""``latentcsp search``: from the latent space back to crystals, for one space group of a
landscape of a rigid molecule.

1. The group's structures are recovered as canonical DoF vectors
   (:func:`latentcsp.synth.recover.recover_landscape`; flexible molecules, Z' != 1 and
   special positions are listed and skipped). The rigid molecule is the generator's
   (``molecule_xyz``, atoms put in the landscape's canonical order) or, without it, the
   landscape's lowest-energy molecule.
2. A generative model (:class:`.model.CrystalGenerator`) is fitted to their descriptors
   (the group's descriptor file) and DoF vectors; its latent width is the group's
   calibrated dimension where the calibration resolved one (``dimensions.csv``, the widest
   resolved window), else the group's rigid-body degrees of freedom.
3. ``n_samples`` clash-free samples are decoded to crystals (validity: the share of samples
   that are clash-free), minimised with the generator's force field, deduplicated and
   matched against the whole landscape (:func:`.match.match_landscape`; energies compared
   only when the landscape was made by the same force field, i.e. with ``molecule_xyz``).
4. With ``molecule_xyz``, the search-efficiency test (:mod:`.efficiency`).

Writes into ``outdir``: ``search.json`` (everything measured; ``status`` and ``reason``
when the group is skipped), ``decoded/<id>.res`` (the distinct relaxed decoded crystals,
CSPy-style .res files the ingest reads), ``decoded.csv`` (one row each: energy, density,
the landscape structure it matches, latent coordinates), ``efficiency.csv`` (new
low-energy minima against minimisations, per seed and method), ``search.png``/``.svg``
and ``chemiscope.json.gz`` (the group's structures and the decoded ones on the latent map).
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import pandas as pd

from ..analysis.rows import load_rows
from ..descriptors.stage import DescriptorSet, describe, reference_orbits
from ..select import slug
from ..store import StructureSet, read_manifest, read_structures, write_csv, write_json
from ..synth.minimise import MinimiseOptions
from ..synth.model import CrystalModel
from ..synth.molecule import Molecule, read_xyz
from ..synth.recover import canonicalise, recover_landscape, reference_molecule, relabelled, theta_of
from ..synth.res import write_res
from ..synth.sampling import SamplingOptions, accept
from .efficiency import EfficiencySettings, compare, run_seed
from .encoding import DofEncoding
from .match import MatchTolerances, match_landscape
from .minima import relax
from .model import CrystalGenerator, GeneratorSettings

DECODED_COLUMNS = ["id", "minimisations", "energy", "rel_energy", "density", "match", "emd", "candidates", "new"]


@dataclass
class SearchSettings:
    """The ``search`` config section (config/README.md). width: ``calibrated`` or a number;
    n_samples: decoded samples minimised; min_structures: recovered structures a group needs;
    seed: of the model and its samples."""

    width: int | str = "calibrated"
    n_samples: int = 30
    min_structures: int = 5
    seed: int = 0
    model: GeneratorSettings = field(default_factory=GeneratorSettings)
    match: MatchTolerances = field(default_factory=MatchTolerances)
    efficiency: EfficiencySettings = field(default_factory=EfficiencySettings)

    @classmethod
    def from_config(cls, cfg: dict | None) -> "SearchSettings":
        cfg = dict(cfg or {})
        known = {f.name for f in fields(cls)}
        unknown = set(cfg) - known - {"set"}
        if unknown:
            raise ValueError(f"unknown search settings {sorted(unknown)}; known: {sorted(known)}")
        return cls(width=cfg.get("width", "calibrated"), n_samples=int(cfg.get("n_samples", 30)),
                   min_structures=int(cfg.get("min_structures", 5)), seed=int(cfg.get("seed", 0)),
                   model=GeneratorSettings.from_config(cfg.get("model")),
                   match=MatchTolerances(**(cfg.get("match") or {})),
                   efficiency=EfficiencySettings(**(cfg.get("efficiency") or {})))

    def to_dict(self) -> dict:
        return {"width": self.width, "n_samples": self.n_samples, "min_structures": self.min_structures,
                "seed": self.seed, "model": self.model.to_dict(), "match": self.match.to_dict(),
                "efficiency": self.efficiency.to_dict()}


def latent_width(setting, dimensions_csv, group: str, dof: int) -> tuple[int, str]:
    """(width, where it came from): ``setting`` when it is a number; else the group's
    calibrated dimension (rounded, at least 1) in the widest window where ``dimensions_csv``
    says resolved; else the group's rigid-body degrees of freedom ``dof``."""
    if setting != "calibrated":
        return int(setting), "search.width"
    if dimensions_csv is None or not Path(dimensions_csv).is_file():
        return dof, f"default: the group's {dof} degrees of freedom (no calibration table)"
    table = pd.read_csv(dimensions_csv, dtype={"group": str, "window": str})
    mine = table[table.group == group]
    resolved = mine[mine.resolved.fillna(False).astype(bool) & mine.calibrated.notna()]
    if not len(resolved):
        why = "; ".join(sorted(set(mine.reason.dropna().astype(str)))) if "reason" in mine else ""
        return dof, (f"default: the group's {dof} degrees of freedom (calibration did not resolve {group}"
                     + (f": {why}" if why else "") + ")")
    best = resolved.iloc[int(np.argmax(resolved.window.astype(float).to_numpy()))]
    return max(1, int(round(float(best.calibrated)))), (f"calibrated: {float(best.calibrated):.2f} in window "
                                                       f"{best.window} ({Path(dimensions_csv).name})")


def rigid_molecule(structures: StructureSet, molecule_xyz=None) -> Molecule:
    """The landscape's lowest-energy molecule, or the generator's (``molecule_xyz``) with its
    atoms in the landscape's canonical order."""
    part = structures.atoms_of(0)
    reference = reference_molecule(structures.positions[part], structures.numbers[part], structures.mol_id[part],
                                   structures.canonical[part], name="landscape")
    return reference if molecule_xyz is None else relabelled(read_xyz(molecule_xyz), reference)


def _reason_counts(reasons: pd.Series) -> dict:
    """How many structures were not recovered, per kind of reason (the text before ':' or '(')."""
    kinds = reasons.map(lambda r: re.split(r"[:(]", str(r))[0].strip())
    return {k: int(n) for k, n in kinds.value_counts().items()}


def run(structures_h5, manifest_csv, descriptors_h5, dset: DescriptorSet, group: str, outdir,
        settings: SearchSettings | None = None, landscape: str = "", molecule_xyz=None, dimensions_csv=None,
        synth_seed: int = 0, log=None) -> dict:
    """The search stage of one group; returns search.json's content."""
    log = log or (lambda text: print(text, file=sys.stderr, flush=True))
    settings = settings or SearchSettings()
    start = time.perf_counter()
    outdir = Path(outdir)
    (outdir / "decoded").mkdir(parents=True, exist_ok=True)
    structures, manifest = read_structures(structures_h5), read_manifest(manifest_csv)
    mine = manifest[manifest.spacegroup.map(slug) == group]
    result = {"landscape": landscape, "group": group, "set": dset.name, "status": "skipped",
              "settings": settings.to_dict(), "structures": len(mine)}
    if not len(mine):
        return _finish(result, f"no structure of the landscape is in {group}", outdir, start)
    molecule = rigid_molecule(structures, molecule_xyz)
    model = CrystalModel(molecule, int(mine.spacegroup_number.iloc[0]))
    table = recover_landscape(structures, mine, molecule)
    ok = table[(table.status == "ok") & (table.number == model.sg.number)]
    result.update(spacegroup=model.sg.symbol, recovered=len(ok),
                  not_recovered=_reason_counts(table.reason[table.status != "ok"]))
    if len(ok) < settings.min_structures:
        return _finish(result, f"{len(ok)} of {len(mine)} structures recovered as rigid Z' = 1 crystals in "
                               f"{model.sg.symbol}, {settings.min_structures} needed", outdir, start)
    width, source = latent_width(settings.width, dimensions_csv, group, model.n_dof)
    result.update(latent_width=width, latent_width_source=source, dof=model.n_dof)
    log(f"search {landscape} {group}: {len(ok)} of {len(mine)} structures recovered, latent width {width} ({source})")

    orbits = reference_orbits(structures)
    encoding = DofEncoding(model)

    def train(thetas, energies) -> CrystalGenerator:
        descriptors = describe(_as_structures(model, thetas, orbits), dset)
        return CrystalGenerator(encoding, width, settings.model, settings.seed).fit(descriptors, thetas, energies)

    thetas = np.array([theta_of(model, row) for _, row in ok.iterrows()])
    X, _ = load_rows([descriptors_h5], list(ok.id))
    energy_by_id = dict(zip(manifest.id, manifest.energy))
    generator = CrystalGenerator(encoding, width, settings.model, settings.seed).fit(
        X, thetas, np.array([energy_by_id[i] for i in ok.id]))
    result["model"] = {"training_structures": len(ok), "width_fitted": generator.width_fitted_,
                       "density_structures": generator.n_density_, "noise_sd": float(generator.noise_),
                       "explained_variance": float(generator.pca_.explained_variance_ratio_.sum())}

    same_force_field = molecule_xyz is not None
    decoded, decoded_thetas, relaxed_energies, samples = _decode(
        model, generator, structures, manifest, mine.energy.to_numpy(float), settings, same_force_field, orbits, dset,
        landscape, outdir)
    result.update(samples)
    result["status"] = "ok"

    curves = pd.DataFrame(columns=["seed", "method", "minimisations", "found"])
    eff = settings.efficiency
    if molecule_xyz is None or eff.seeds < 1:
        result["efficiency"] = "not run: needs the generator's molecule (a generated landscape) and seeds >= 1"
    else:
        try:
            runs = [run_seed(model, train, eff.n_trials, synth_seed + k, log=log) for k in range(eff.seeds)]
            summary, curves = compare(runs, eff.window)
            result.update(summary, efficiency="ok")
        except ValueError as exc:  # too few distinct minima in a first quarter, nothing converged
            result["efficiency"] = f"not run: {exc}"
    write_csv(curves, outdir / "efficiency.csv")

    from ..report.figures import save
    from .figures import search_figure

    e0 = float(manifest.energy.min())
    title = f"{landscape} {model.sg.symbol}: decoded crystals and search efficiency"
    save(search_figure(mine.energy.to_numpy(float) - e0, relaxed_energies - e0 if same_force_field else [],
                       curves, title, eff.window), outdir / "search")
    _write_chemiscope(outdir / "chemiscope.json.gz", structures, ok, generator.encode(X, thetas), decoded,
                      [model.atoms(t) for t in decoded_thetas], manifest,
                      f"{landscape} {model.sg.symbol}: landscape and decoded crystals")
    return _finish(result, None, outdir, start)


def _as_structures(model: CrystalModel, thetas, orbits) -> StructureSet:
    from ..calibration.references import as_structures

    return as_structures(model, np.asarray(thetas), orbits, prefix="decoded")


def _decode(model, generator, structures, manifest, group_energies, settings, same_force_field, orbits, dset,
            landscape, outdir) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, dict]:
    """Decoded samples -> relaxed, distinct, matched crystals; writes decoded/ and decoded.csv.
    Returns the decoded.csv table, the canonical DoF vectors of its crystals, the energies of
    every good relaxation and the numbers for search.json (energies relative to the
    landscape's lowest; ``group_energies``: the group's own structures', for comparison)."""
    sampling, rng = SamplingOptions(), np.random.default_rng(settings.seed)
    n = settings.n_samples

    def propose(size: int):
        return generator.sample(size, rng)[0], np.ones(size, bool)

    starts, attempts = accept(model, propose, n, sampling.clash, sampling.max_attempts_per_trial * max(n, 1))
    relaxed = relax(model, starts, MinimiseOptions())
    distinct = relaxed.unique()
    thetas = np.array([canonicalise(model, t) for t in relaxed.thetas[distinct]]).reshape(-1, model.n_dof)
    crystals = [(b["cell"], b["x"], np.tile(model.molecule.numbers, model.sg.z))
                for b in (model.build(t) for t in thetas)]
    energies = relaxed.energy[distinct]
    landscape_energies = manifest.energy.to_numpy(float) if same_force_field else np.full(len(manifest), np.nan)
    matched = match_landscape(crystals, energies, relaxed.density[distinct], structures,
                              manifest.assign(energy=landscape_energies), settings.match)
    reached = relaxed.same_as(relaxed.take(distinct))  # (samples, distinct)
    e0 = float(manifest.energy.min())
    ids = [f"{landscape or 'decoded'}-{model.sg.tag}-d{i:05d}" for i in distinct]
    decoded = pd.DataFrame({"id": ids, "minimisations": reached.sum(axis=0), "energy": energies,
                            "rel_energy": energies - e0 if same_force_field else np.nan,
                            "density": relaxed.density[distinct], **matched, "new": matched.match == ""})
    if len(thetas):
        latent = generator.encode(describe(_as_structures(model, thetas, orbits), dset), thetas)
        for k in range(latent.shape[1]):
            decoded[f"latent_{k + 1}"] = latent[:, k]
    for ident, theta, energy in zip(ids, thetas, energies):
        write_res(outdir / "decoded" / f"{ident}.res", model, theta, ident, float(energy))
    write_csv(decoded, outdir / "decoded.csv")
    good = relaxed.ok
    to_known = reached[:, (decoded.match != "").to_numpy()].any(axis=1)
    window = settings.efficiency.window
    samples = {
        "samples": int(attempts), "validity": len(starts) / attempts if attempts else 0.0,
        "minimised": len(relaxed), "converged": int(good.sum()), "distinct": len(distinct),
        "relaxed_to_known": float(to_known[good].mean()) if good.any() else None,
        "distinct_known": int((decoded.match != "").sum()), "new_minima": int(decoded.new.sum()),
        "new_low_energy_minima": int((decoded.new & (decoded.rel_energy <= window)).sum()) if same_force_field
        else None,
        "match_tolerances": settings.match.to_dict(),
        "energy_relaxed": _quantiles(relaxed.energy[good] - e0) if same_force_field else None,
        "energy_landscape": _quantiles(group_energies - e0),
    }
    return decoded, thetas, relaxed.energy[good], samples


def _quantiles(values) -> dict | None:
    v = np.asarray(values, dtype=float)
    if not len(v):
        return None
    return {"min": float(v.min()), "p25": float(np.percentile(v, 25)), "median": float(np.median(v)),
            "p75": float(np.percentile(v, 75)), "max": float(v.max())}


def _write_chemiscope(path, structures, ok, latent_real, decoded, decoded_atoms, manifest, title) -> None:
    """The group's recovered structures (ids ``ok.id``, latent coordinates ``latent_real``) and
    the decoded ones (decoded.csv rows, ase.Atoms), on the model's latent map."""
    import chemiscope
    from ase import Atoms

    real = structures.subset(list(ok.id))
    frames = [Atoms(numbers=real.numbers[real.atoms_of(s)], positions=real.positions[real.atoms_of(s)],
                    cell=real.cell[s], pbc=True) for s in range(len(real))] + list(decoded_atoms)
    energy = dict(zip(manifest.id, manifest.energy))
    props = {"source": ["landscape"] * len(real) + ["decoded"] * len(decoded),
             "energy": [float(energy[i]) for i in ok.id] + decoded.energy.astype(float).tolist(),
             "density": ok.id.map(dict(zip(manifest.id, manifest.density))).astype(float).tolist()
             + decoded.density.astype(float).tolist()}
    width = latent_real.shape[1]
    for k in range(width):
        col = f"latent_{k + 1}"
        props[col] = latent_real[:, k].tolist() + (decoded[col].tolist() if col in decoded else [])
    properties = {name: {"target": "structure", "values": values} for name, values in props.items()}
    x, y = ("latent_1", "latent_2") if width >= 2 else ("latent_1", "energy")
    settings = {"map": {"x": {"property": x}, "y": {"property": y}, "color": {"property": "energy"}}}
    chemiscope.write_input(str(path), structures=frames, properties=properties,
                           metadata={"name": title, "description": "latentcsp search: landscape and decoded crystals "
                                                                   "on the generative model's latent map"},
                           settings=settings)


def _finish(result: dict, reason: str | None, outdir: Path, start: float) -> dict:
    if reason is not None:
        result["reason"] = reason
        write_csv(pd.DataFrame(columns=DECODED_COLUMNS), outdir / "decoded.csv")
        write_csv(pd.DataFrame(columns=["seed", "method", "minimisations", "found"]), outdir / "efficiency.csv")
        from ..report.figures import save
        from .figures import search_figure

        fig = search_figure([], [], pd.DataFrame(), f"{result['landscape']} {result['group']}: skipped", None)
        save(fig, outdir / "search")
    result["seconds"] = time.perf_counter() - start
    write_json(result, outdir / "search.json")
    return result
