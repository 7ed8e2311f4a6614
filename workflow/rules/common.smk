# Helpers shared by the rules: config slices as shell-safe JSON, input lists.

import json
import shlex

from latentcsp.io import expand_source

LANDSCAPES = list(config["landscapes"])


wildcard_constraints:
    landscape="|".join(LANDSCAPES),


def as_json(obj):
    """A value as one shell-quoted JSON word."""
    return shlex.quote(json.dumps(obj))


def landscape_spec(wildcards):
    return as_json(config["landscapes"][wildcards.landscape])


def landscape_files(wildcards):
    """The files of a landscape's source: new files rerun its ingest."""
    entry = config["landscapes"][wildcards.landscape]
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


def all_analyses(wildcards):
    """pca.json of every analysed group of every landscape and descriptor set."""
    return [
        f"results/{landscape}/analysis/{dset}/{window}/{group}/pca.json"
        for landscape in LANDSCAPES
        for dset in DESCRIPTOR_SETS
        for window, group in analysed_groups(landscape)
    ]
