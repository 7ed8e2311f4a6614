# latentcsp: how many dimensions does a crystal structure prediction landscape have?
# Thin rules; all logic is in src/latentcsp and reached through the `latentcsp` CLI.

from snakemake.utils import min_version, validate

min_version("8.0")


configfile: "config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/ingest.smk"


rule all:
    input:
        expand("results/{landscape}/groups.csv", landscape=LANDSCAPES),
