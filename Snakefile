# latentcsp: how many dimensions does a crystal structure prediction landscape have?
# Thin rules; all logic is in src/latentcsp and reached through the `latentcsp` CLI.

from snakemake.utils import min_version, validate

min_version("8.0")


# The embedded default, unless `--configfile` names another set of landscapes.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/ingest.smk"
include: "workflow/rules/synth.smk"
include: "workflow/rules/descriptors.smk"
include: "workflow/rules/analysis.smk"
include: "workflow/rules/calibration.smk"
include: "workflow/rules/latent.smk"
include: "workflow/rules/search_common.smk"
include: "workflow/rules/search.smk"


report: "workflow/report/workflow.rst"


rule all:
    input:
        "results/summary/summary.md",
        search_targets(),
