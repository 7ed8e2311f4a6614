# Stage 3: one job per landscape x descriptor set x planned window x group.


rule analyse:
    input:
        descriptors=PLAN.group_descriptors,
        groups=ancient("results/{landscape}/groups.csv"),
        manifest=ancient("results/{landscape}/manifest.csv"),
        selection=ancient("results/{landscape}/selection.json"),
        stamp=PLAN.analysis_stamp,
    output:
        pca="results/{landscape}/analysis/{dset}/{window}/{group}/pca.json",
        ids="results/{landscape}/analysis/{dset}/{window}/{group}/id.json",
        scores="results/{landscape}/analysis/{dset}/{window}/{group}/scores.csv",
        pcmap=report(
            "results/{landscape}/analysis/{dset}/{window}/{group}/pcmap.svg",
            caption="../report/pcmap.rst",
            category="PC1-PC2 maps",
            subcategory="{landscape} {dset} L{window}",
            labels={"group": "{group}"},
        ),
    params:
        settings=shell_json(config["analysis"]),
    resources:
        mem_mb=lambda wc, input, attempt: PLAN.analysis_job(wc, input, attempt)["mem_mb"],
    conda:
        "../../envs/latentcsp.yaml"
    log:
        "logs/{landscape}/analysis/{dset}/{window}/{group}.log",
    shell:
        "latentcsp analyse --descriptors {input.descriptors} --groups {input.groups} --manifest {input.manifest} "
        "--selection {input.selection} --landscape {wildcards.landscape} --set-name {wildcards.dset} "
        "--window {wildcards.window} --group {wildcards.group} --settings {params.settings} "
        "--outdir results/{wildcards.landscape}/analysis/{wildcards.dset}/{wildcards.window}/{wildcards.group} 2> {log}"
