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
