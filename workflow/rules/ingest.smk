# Stage 1: real CSP files -> structures.h5 + manifest.csv + quarantine.csv (+ ingest.json: counts,
# time, peak memory); then the groups of every planned window x space group, with what becomes
# of each (selection.json).


rule fetch_roy:
    output:
        "resources/roy/beran_roy_structures.xyz.bz2",
    conda:
        "../../envs/latentcsp.yaml"
    log:
        "logs/fetch_roy.log",
    shell:
        "latentcsp fetch-roy --out {output} 2> {log}"


# Every file of a landscape's source, listed by a job on the submit host: the ingest then has one
# input, so its messages (a failed ingest above all) do not print 10^5 paths.
rule sources:
    input:
        PLAN.landscape_files,
    output:
        "results/{landscape}/sources.csv",
    params:
        spec=PLAN.landscape_spec,
    conda:
        "../../envs/latentcsp.yaml"
    log:
        "logs/{landscape}/sources.log",
    shell:
        "latentcsp sources --name {wildcards.landscape} --spec {params.spec} --out {output} 2> {log}"


rule ingest:
    input:
        "results/{landscape}/sources.csv",
    output:
        structures="results/{landscape}/structures.h5",
        manifest="results/{landscape}/manifest.csv",
        quarantine="results/{landscape}/quarantine.csv",
        summary="results/{landscape}/ingest.json",
    params:
        spec=PLAN.landscape_spec,
        options=shell_json(config["ingest"]),
        layout=PLAN.layouts["structures"],  # a new layout of structures.h5 reruns the ingest
    conda:
        "../../envs/latentcsp.yaml"
    log:
        "logs/{landscape}/ingest.log",
    shell:
        "latentcsp ingest --name {wildcards.landscape} --spec {params.spec} "
        "--options {params.options} --outdir results/{wildcards.landscape} 2> {log}"


checkpoint select:
    input:
        "results/{landscape}/manifest.csv",
    output:
        groups="results/{landscape}/groups.csv",
        selection="results/{landscape}/selection.json",
        stamps=directory("results/{landscape}/stamps"),
    params:
        windows=PLAN.windows_arg,
        spacegroups=PLAN.spacegroups_arg(),
        min_group_size=config["min_group_size"],
    conda:
        "../../envs/latentcsp.yaml"
    log:
        "logs/{landscape}/select.log",
    shell:
        "latentcsp select --name {wildcards.landscape} --manifest {input} --windows {params.windows} "
        "--spacegroups {params.spacegroups} --min-group-size {params.min_group_size} --out {output.groups} "
        "--selection {output.selection} --stamps {output.stamps} 2> {log}"
