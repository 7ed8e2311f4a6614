# Helpers shared by the rules: config slices as shell-safe JSON, input lists.

import json
import shlex
from pathlib import Path

from latentcsp.io import expand_source
from latentcsp.symmetry import TOP10

LANDSCAPES = list(config["landscapes"])


wildcard_constraints:
    landscape="|".join(LANDSCAPES),


def as_json(obj):
    """A value as one shell-quoted JSON word."""
    return shlex.quote(json.dumps(obj))


def landscape_spec(wildcards):
    entry = dict(config["landscapes"][wildcards.landscape])
    entry.pop("synth", None)
    entry.pop("windows", None)
    return as_json(entry)


def landscape_windows(wildcards):
    """The landscape's own energy windows, else the global ones."""
    return " ".join(str(w) for w in config["landscapes"][wildcards.landscape].get("windows", config["windows"]))


def landscape_files(wildcards):
    """The files of a landscape's source: new files rerun its ingest.

    A generated landscape (``synth: <molecule>``) waits for its generator's
    merged table instead, since its files do not exist before the DAG runs.
    """
    entry = config["landscapes"][wildcards.landscape]
    if entry.get("synth"):
        kind = "trial" if Path(entry["source"]).name == "trial" else "minima"
        return [f"results/synth/{entry['synth']}/{kind}/dof.csv"]
    files = expand_source(entry["source"], entry.get("format", "auto")) if _exists(entry["source"]) else []
    side = [entry["energies"]] if entry.get("energies") else []
    return (files or [entry["source"]]) + side


def _exists(source):
    import glob, os
    return os.path.exists(source) or bool(glob.glob(source, recursive=True))


DESCRIPTOR_SETS = config["descriptors"]["sets"]
MIN_GROUP_SIZE = config["min_group_size"]


def _groups(landscape):
    """groups.csv of a landscape (after the select checkpoint has run)."""
    import pandas as pd

    path = checkpoints.select.get(landscape=landscape).output[0]
    return pd.read_csv(path, dtype={"id": str, "window": str, "group": str})


def spacegroups_of(landscape):
    """Space-group slugs present in the landscape's selected groups (descriptor fan-out)."""
    return sorted(set(_groups(landscape).group) - {"all"})


def analysed_groups(landscape):
    """(window, group) pairs with at least min_group_size structures (analysis fan-out)."""
    sizes = _groups(landscape).groupby(["window", "group"]).size()
    return [key for key, n in sizes.items() if n >= MIN_GROUP_SIZE]


def descriptor_files(wildcards):
    """Every per-space-group descriptor file of a landscape and set."""
    return expand(
        "results/{landscape}/descriptors/{dset}/{spacegroup}.h5",
        landscape=wildcards.landscape,
        dset=wildcards.dset,
        spacegroup=spacegroups_of(wildcards.landscape),
    )


def analyses_of(landscape, dset):
    """pca.json of every analysed group of one landscape and descriptor set."""
    return [f"results/{landscape}/analysis/{dset}/{window}/{group}/pca.json" for window, group in analysed_groups(landscape)]


def all_calibrations(wildcards):
    """dimensions.csv of every landscape and descriptor set."""
    return [f"results/{landscape}/calibration/{dset}/dimensions.csv" for landscape in LANDSCAPES for dset in DESCRIPTOR_SETS]


def all_analyses(wildcards):
    """pca.json of every analysed group of every landscape and descriptor set."""
    return [
        f"results/{landscape}/analysis/{dset}/{window}/{group}/pca.json"
        for landscape in LANDSCAPES
        for dset in DESCRIPTOR_SETS
        for window, group in analysed_groups(landscape)
    ]


LATENT_SETS = [s for s in config.get("latent", {}).get("sets", []) if s in DESCRIPTOR_SETS]


def all_latents(wildcards):
    """metrics.json of every analysed group of the descriptor sets named in latent.sets."""
    return [
        f"results/{landscape}/latent/{dset}/{window}/{group}/metrics.json"
        for landscape in LANDSCAPES
        for dset in LATENT_SETS
        for window, group in analysed_groups(landscape)
    ]


def descriptor_stamp(wildcards):
    """The content stamp of a space-group group (written by select): its descriptor job's rerun trigger."""
    checkpoints.select.get(landscape=wildcards.landscape)
    return f"results/{wildcards.landscape}/stamps/spacegroup/{wildcards.spacegroup}.sha256"


def analysis_stamp(wildcards):
    """The content stamp of a (window, group): its analysis job's rerun trigger."""
    checkpoints.select.get(landscape=wildcards.landscape)
    return f"results/{wildcards.landscape}/stamps/{wildcards.window}/{wildcards.group}.sha256"
