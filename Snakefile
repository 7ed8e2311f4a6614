# latentcsp: how many dimensions does a crystal structure prediction landscape have?
# Thin rules; all logic is in src/latentcsp and reached through the `latentcsp` CLI.

from snakemake.utils import min_version, validate

min_version("8.0")


configfile: "config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/ingest.smk"
include: "workflow/rules/descriptors.smk"
include: "workflow/rules/analysis.smk"


report: "workflow/report/workflow.rst"


rule all:
    input:
        "results/summary/summary.md",
