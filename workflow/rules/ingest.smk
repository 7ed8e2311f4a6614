# Stage 1: real CSP files -> structures.h5 + manifest.csv + quarantine.csv; groups per window.

from latentcsp.store import STRUCTURES_LAYOUT


rule fetch_roy:
    output:
        "resources/roy/beran_roy_structures.xyz.bz2",
    conda:
        "../../envs/latentcsp.yaml"
    log:
        "logs/fetch_roy.log",
    shell:
        "latentcsp fetch-roy --out {output} 2> {log}"


rule ingest:
    input:
        landscape_files,
    output:
        structures="results/{landscape}/structures.h5",
        manifest="results/{landscape}/manifest.csv",
        quarantine="results/{landscape}/quarantine.csv",
    params:
        spec=landscape_spec,
        options=as_json(config.get("ingest", {})),
        layout=STRUCTURES_LAYOUT,  # a new layout of structures.h5 reruns the ingest
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
        stamps=directory("results/{landscape}/stamps"),
    params:
        windows=landscape_windows,
        spacegroups=shlex.quote(
            config["spacegroups"] if isinstance(config["spacegroups"], str) else json.dumps(config["spacegroups"])
        ),
    conda:
        "../../envs/latentcsp.yaml"
    log:
        "logs/{landscape}/select.log",
    shell:
        "latentcsp select --manifest {input} --windows {params.windows} "
        "--spacegroups {params.spacegroups} --out {output.groups} --stamps {output.stamps} 2> {log}"
