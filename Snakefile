# latentcsp: how many dimensions does a crystal structure prediction landscape have?
# Thin rules; all logic is in src/latentcsp and reached through the `latentcsp` CLI. What runs,
# and how big each job is, is decided by latentcsp.workflow.Plan (the plan is complete when the
# DAG is built: `snakemake -n` lists every job; see README, "Inspecting a run before it runs").

from snakemake.utils import min_version, validate
from latentcsp.workflow import Plan, shell_json

min_version("8.0")


# The embedded default, unless `--configfile` names another set of landscapes.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")

PLAN = Plan(
    config,
    selection=lambda landscape: checkpoints.select.get(landscape=landscape).output.selection,
    executor=lambda: workflow.executor_plugin,
)


include: "workflow/rules/common.smk"
include: "workflow/rules/ingest.smk"
include: "workflow/rules/synth.smk"
include: "workflow/rules/descriptors.smk"
include: "workflow/rules/analysis.smk"
include: "workflow/rules/calibration.smk"
include: "workflow/rules/latent.smk"
include: "workflow/rules/search.smk"
include: "workflow/rules/report.smk"


report: "workflow/report/workflow.rst"


rule all:
    input:
        PLAN.targets,
