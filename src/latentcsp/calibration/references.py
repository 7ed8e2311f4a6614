"""Reference landscapes of known dimension for one analysed group.

The reference molecule is the landscape's own: the molecule of its lowest-energy
structure as ingested, atoms in the canonical order (so its descriptors line up with
the landscape's), held rigid. In the group's space group (Z' = 1, general position) the
*base* is the group's own lowest-energy structure where its DoF vector can be recovered
(:func:`latentcsp.synth.recover.recover`: a rigid molecule, Z' = 1), else a dense packing
the generator (:mod:`latentcsp.synth`) builds; the DoF an ensemble holds fixed keep the
base's values, so they are the landscape's own. The generator then makes a ladder of
ensembles (:class:`latentcsp.synth.ensembles.Ensemble`) that vary d of the DoF for
d = 1 .. DoF: for each d, ``patterns`` subsets of the DoF, each sampled over the full
range and locally around the base at several amplitudes (one isotropic, one smaller,
one with a different amplitude per kind of DoF), since real landscapes are neither
uniform nor local. The ensembles are drawn with pseudo-random numbers, as a search fills a
landscape: a quasi-random (Sobol) sample is more evenly spread than any landscape, and
the nearest-neighbour estimators read it higher (a uniform 7-cube of 1 096 points: MLE
6.3 from Sobol points, 6.0 from random ones), so Sobol references calibrate landscapes
too low. The subsets are stratified by how many of their DoF are *cyclic*
(rotations and centroid positions, which wrap around): sampled over the full range,
these fold the crystals' manifold much more than lattice DoF do (aspirin in P-1,
n = 1000: with a, b, gamma, y and the three rotations, d = 7, MLE reads 12.0; with
the six lattice DoF and x, 8.1), so a ladder that left out either kind would not
cover landscapes that vary it. Every ensemble has the group's size, so the estimators see
what they see on the data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from ..store import StructureSet
from ..synth.ensembles import LOCAL_STEP, Ensemble, dof_kind
from ..synth.minimise import dense_packing
from ..synth.model import CrystalModel
from ..synth.molecule import Molecule

KINDS = tuple(LOCAL_STEP)
#: Kinds of DoF that wrap around over their full range (orientation, centroid position).
CYCLIC = ("rotation", "position")
#: Mixed schemes: these kinds of DoF over the full range, the others local (one step).
MIXED = {"mixed-rotations": ("rotation", "position"), "mixed-lattice": ("length", "angle")}
#: Proposals per crystal an ensemble may use (0.1 % acceptance); sampled over the full range
#: with the lattice of a dense packing frozen, most orientations clash, and such an
#: ensemble is left out rather than sampled for minutes.
MAX_PROPOSALS = 1000


@dataclass(frozen=True)
class LadderDesign:
    """How many reference ensembles, and which (the ``calibration:`` config section).

    ``patterns``: DoF subsets per dimension d, their numbers of cyclic DoF (rotations
    and positions, :data:`CYCLIC`) spread evenly from the most to the fewest possible
    (one pattern: the most); the DoF within each kind drawn at random. ``schemes``: for each subset,
    ``full`` (the generator's ranges), ``local`` (base +- one step of every
    DoF, :data:`~latentcsp.synth.ensembles.LOCAL_STEP`), ``local-small`` (0.3 steps) and
    ``local-anisotropic`` (per kind of DoF, an amplitude log-uniform in 0.2-3 steps);
    also ``local-gaussian`` (normal around the base, 0.5 steps standard deviation) and the
    :data:`MIXED` schemes (some kinds of DoF over the full range, the rest +- one step).
    ``sequence``: the numbers the ensembles are drawn from, ``random`` (pseudo-random, as a
    landscape's search draws them) or ``sobol`` (quasi-random; reads higher, see the module
    docstring). ``seed`` fixes every random choice.
    """

    patterns: int = 6
    schemes: tuple[str, ...] = ("full", "local", "local-small", "local-anisotropic")
    seed: int = 0
    sequence: str = "random"

    def ensembles(self, names: list[str]) -> list[Ensemble]:
        """The ladder for a group whose DoF are ``names``: d = 1 .. len(names)."""
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, len(names)]))
        cyclic = [n for n in names if dof_kind(n) in CYCLIC]
        other = [n for n in names if dof_kind(n) not in CYCLIC]
        out = []
        for d in range(1, len(names) + 1):
            most, fewest = min(d, len(cyclic)), max(0, d - len(other))
            seen: set[tuple[str, ...]] = set()
            for k in range(self.patterns):
                share = k / (self.patterns - 1) if self.patterns > 1 else 0.0
                c = int(round(most - share * (most - fewest)))
                picked = [*rng.choice(cyclic, c, replace=False), *rng.choice(other, d - c, replace=False)]
                free = tuple(sorted(picked, key=names.index))
                if free in seen:  # d = n_dof has one subset only
                    continue
                seen.add(free)
                made = (self._ensemble(free, scheme, rng) for scheme in self.schemes)
                out += [replace(e, sequence=self.sequence) for e in made if e is not None]
        return out

    @staticmethod
    def _ensemble(free: tuple[str, ...], scheme: str, rng) -> Ensemble | None:
        """The ensemble of one scheme, or None where a mixed scheme would repeat ``full`` or
        ``local`` (the subset has DoF of only one side)."""
        if scheme in MIXED:
            wide = MIXED[scheme]
            kinds = {dof_kind(n) for n in free}
            return Ensemble(free, "local", 1.0, full_kinds=wide) if kinds & set(wide) and kinds - set(wide) else None
        if scheme == "full":
            return Ensemble(free, "full")
        if scheme == "local":
            return Ensemble(free, "local", 1.0)
        if scheme == "local-small":
            return Ensemble(free, "local", 0.3)
        if scheme == "local-gaussian":
            return Ensemble(free, "gaussian", 0.5)
        if scheme == "local-anisotropic":
            amp = np.exp(rng.uniform(np.log(0.2), np.log(3.0), len(KINDS))).round(3)
            return Ensemble(free, "local", dict(zip(KINDS, amp.tolist())))
        raise ValueError(f"unknown calibration scheme {scheme!r}")


def reference_molecule(structures: StructureSet, name: str = "reference") -> Molecule:
    """The rigid molecule of the first structure (the store keeps the lowest energy first):
    its first symmetry-independent molecule, atoms in canonical order, in its principal-axes
    frame (:func:`latentcsp.synth.recover.reference_molecule`)."""
    from ..synth.recover import reference_molecule as of_crystal

    part = structures.atoms_of(0)
    return of_crystal(structures.positions[part], structures.numbers[part], structures.mol_id[part],
                      structures.canonical[part], name)


def landscape_packing(structures: StructureSet, index: int, model: CrystalModel) -> np.ndarray:
    """The DoF vector (n_dof,) of structure ``index`` in ``model``'s space group; raises
    :class:`~latentcsp.synth.recover.NotRecoverable` with the reason where it has none (another
    group, a flexible molecule: fit RMSD above ``MAX_FIT_RMSD`` Å, Z' != 1)."""
    from ..synth.recover import MAX_FIT_RMSD, NotRecoverable, recover

    part = structures.atoms_of(index)
    found = recover(structures.cell[index], structures.positions[part], structures.numbers[part],
                    structures.mol_id[part], structures.canonical[part], model.molecule)
    if found.spacegroup.number != model.sg.number:
        raise NotRecoverable(f"its space group is {found.spacegroup.symbol}, not {model.sg.symbol}")
    if found.rmsd > MAX_FIT_RMSD:
        raise NotRecoverable(f"its molecule fits the rigid reference to {found.rmsd:.2f} Å only")
    return found.theta


def as_structures(model: CrystalModel, thetas: np.ndarray, orbits: np.ndarray, prefix: str = "ref") -> StructureSet:
    """Crystals (in memory) of DoF vectors (B, n_dof), laid out as the store lays out an
    ingested landscape: molecule 0 is the symmetry-independent one, its atoms in the
    reference molecule's (canonical) order with the landscape's automorphism ``orbits``
    (n0,) (:func:`latentcsp.descriptors.stage.reference_orbits`)."""
    batch = model.build_batch(thetas)
    b, n_atoms = len(thetas), model.n0 * model.sg.z
    canonical = np.full(n_atoms, -1, dtype=np.int64)
    canonical[: model.n0] = np.arange(model.n0)
    orbit = np.full(n_atoms, -1, dtype=np.int64)
    orbit[: model.n0] = orbits
    ids = np.array([f"{prefix}{k:05d}" for k in range(b)])
    return StructureSet(
        ids=ids, hashes=ids.copy(), cell=batch["cell"], atom_offsets=np.arange(b + 1) * n_atoms,
        numbers=np.tile(model.molecule.numbers, model.sg.z * b), positions=batch["x"].reshape(-1, 3),
        mol_id=np.tile(np.repeat(np.arange(model.sg.z), model.n0), b), canonical=np.tile(canonical, b),
        orbit=np.tile(orbit, b),
    )


def spacegroup_sizes(groups: "pd.DataFrame", min_size: int) -> dict[int, int]:
    """Largest number of structures of each space group over its windows (groups.csv rows),
    for the space groups that reach ``min_size`` in some window."""
    sub = groups[groups.group != "all"]
    counts = sub.groupby(["spacegroup_number", "window"]).size()
    largest = counts.groupby(level=0).max()
    return {int(number): int(n) for number, n in largest.items() if n >= min_size}


def generate(structures: StructureSet, sizes: dict[int, int], design: LadderDesign, log=print,
             lowest: dict[int, int] | None = None) -> list[dict]:
    """The reference ensembles of every space group in ``sizes`` (number -> structures):
    the landscape's rigid molecule, a base packing (the group's lowest-energy structure,
    index ``lowest[number]`` in ``structures``, where its DoF vector can be recovered, else
    :func:`~latentcsp.synth.minimise.dense_packing`), and the ladder's DoF vectors, as
    :func:`latentcsp.store.write_references` stores them. An ensemble that finds fewer
    clash-free crystals than asked keeps what it found (the calibration leaves it out);
    a space group whose crystals the generator cannot build is left out with a message."""
    import time

    from ..synth.ensembles import sample
    from ..synth.recover import NotRecoverable

    lowest = lowest or {}
    molecule = reference_molecule(structures)
    out = []
    for number, n in sorted(sizes.items()):
        start = time.perf_counter()
        try:
            model = CrystalModel(molecule, number)
            try:
                base, origin = landscape_packing(structures, lowest[number], model), "its lowest-energy structure"
            except (KeyError, NotRecoverable) as exc:
                why = f" ({exc})" if str(exc) and not isinstance(exc, KeyError) else ""
                base, origin = dense_packing(model, design.seed), f"a generated dense packing{why}"
        except ValueError as exc:
            log(f"references: space group {number}: none ({exc})")
            continue
        ladder = design.ensembles(list(model.names))
        thetas = [sample(model, ens, base, n, seed=design.seed + k, max_attempts=MAX_PROPOSALS * n)[0]
                  for k, ens in enumerate(ladder)]
        out.append({"spacegroup": number, "names": list(model.names), "base": base, "base_origin": origin,
                    "ensembles": [asdict(e) for e in ladder], "thetas": thetas})
        log(f"references: {model.sg.symbol}: {len(ladder)} ensembles of {n} crystals, "
            f"base {origin}, {time.perf_counter() - start:.0f} s")
    return out
