# Stage 3b: calibrated dimensions, one job per landscape x descriptor set.


rule calibrate:
    input:
        structures=ancient("results/{landscape}/structures.h5"),
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
        "latentcsp calibrate --structures {input.structures} --analyses {params.analyses} "
        "--set-name {wildcards.dset} --set {params.dset} --analysis {params.analysis} "
        "--calibration {params.calibration} --outdir results/{wildcards.landscape}/calibration/{wildcards.dset} "
        "2> {log}"
