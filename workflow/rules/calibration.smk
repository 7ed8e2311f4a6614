# Stage 3b: calibrated dimensions. The reference ensembles of known dimension are made once
# per landscape (while the descriptors and analyses run), then calibrate each descriptor set.


rule references:
    input:
        structures=ancient("results/{landscape}/structures.h5"),
        groups="results/{landscape}/groups.csv",
    output:
        "results/{landscape}/calibration/references.h5",
    params:
        min_size=config["analysis"]["min_size"],
        calibration=shell_json(config["calibration"]),
    threads: 1
    priority: 10  # the longest single job; calibrate waits for it
    conda:
        "../../envs/latentcsp.yaml"
    log:
        "logs/{landscape}/calibration/references.log",
    shell:
        "latentcsp references --structures {input.structures} --groups {input.groups} --min-size {params.min_size} "
        "--calibration {params.calibration} --out {output} 2> {log}"


rule calibrate:
    input:
        structures=ancient("results/{landscape}/structures.h5"),
        references="results/{landscape}/calibration/references.h5",
        groups="results/{landscape}/groups.csv",
        pca=lambda wc: PLAN.analyses(wc.landscape, wc.dset),
    output:
        dimensions="results/{landscape}/calibration/{dset}/dimensions.csv",
        references="results/{landscape}/calibration/{dset}/references.csv",
        curves="results/{landscape}/calibration/{dset}/curves.csv",
        held_out="results/{landscape}/calibration/{dset}/held_out.csv",
    params:
        analyses=lambda wc, input: PLAN.folders(input.pca),
        dset=PLAN.descriptor_set,
        analysis=shell_json(config["analysis"]),
        calibration=shell_json(config["calibration"]),
    threads: 1
    conda:
        "../../envs/latentcsp.yaml"
    log:
        "logs/{landscape}/calibration/{dset}.log",
    shell:
        "latentcsp calibrate --landscape {wildcards.landscape} --structures {input.structures} "
        "--references {input.references} --groups {input.groups} --analyses {params.analyses} --set-name {wildcards.dset} "
        "--set {params.dset} --analysis {params.analysis} --calibration {params.calibration} "
        "--outdir results/{wildcards.landscape}/calibration/{wildcards.dset} 2> {log}"
