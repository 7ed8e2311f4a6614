# Helpers of the search rules (workflow/rules/search.smk): which landscapes and groups,
# the config section as the CLI takes it.

import copy

SEARCH = config.get("search") or {}
SEARCH_SET = SEARCH.get("set") or next(iter(DESCRIPTOR_SETS))
if SEARCH_SET not in DESCRIPTOR_SETS:
    raise ValueError(f"search.set {SEARCH_SET!r} is not a descriptor set ({', '.join(DESCRIPTOR_SETS)})")


def search_landscapes():
    """Generated minima landscapes: `synth: <molecule>` and not the generator's trial folder."""
    return [
        name
        for name, entry in config["landscapes"].items()
        if entry.get("synth") in SYNTH_MOLECULES and Path(entry["source"]).name != "trial"
    ]


def all_searches(wildcards):
    """search.json of every space group of every generated landscape."""
    return [f"results/{landscape}/search/{group}/search.json" for landscape in search_landscapes()
            for group in spacegroups_of(landscape)]


def all_search_curves(wildcards):
    """efficiency.csv beside every search.json (the summary adds them up per landscape)."""
    return [str(Path(path).with_name("efficiency.csv")) for path in all_searches(wildcards)]


def search_targets():
    return ["results/search/summary.md"] if search_landscapes() else []


def search_settings():
    """The search section for the CLI; the efficiency test's trials default to the generator's."""
    settings = copy.deepcopy(SEARCH)
    settings.pop("set", None)
    settings.setdefault("efficiency", {}).setdefault("n_trials", SYNTH.get("n_trials", 60))
    return as_json(settings)


def search_dimensions(wildcards):
    """The calibration's table when the latent width is calibrated."""
    if SEARCH.get("width", "calibrated") != "calibrated":
        return []
    return [f"results/{wildcards.landscape}/calibration/{SEARCH_SET}/dimensions.csv"]
