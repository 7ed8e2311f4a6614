# Stage 3b: calibrated dimensions, one job per landscape x descriptor set.


rule calibrate:
    input:
        structures=ancient("results/{landscape}/structures.h5"),
        pca=lambda wc: analyses_of(wc.landscape, wc.dset),
    output:
        dimensions="results/{landscape}/calibration/{dset}/dimensions.csv",
        references="results/{landscape}/calibration/{dset}/references.csv",
        curves="results/{landscape}/calibration/{dset}/curves.csv",
        held_out="results/{landscape}/calibration/{dset}/held_out.csv",
    params:
        analyses=lambda wc, input: " ".join(str(Path(p).parent) for p in input.pca),
        dset=lambda wc: as_json(DESCRIPTOR_SETS[wc.dset]),
        analysis=as_json(config["analysis"]),
        calibration=as_json(config["calibration"]),
    threads: 1
    conda:
        "../../envs/latentcsp.yaml"
    log:
        "logs/{landscape}/calibration/{dset}.log",
    shell:
        "latentcsp calibrate --landscape {wildcards.landscape} --structures {input.structures} --analyses {params.analyses} "
        "--set-name {wildcards.dset} --set {params.dset} --analysis {params.analysis} "
        "--calibration {params.calibration} --outdir results/{wildcards.landscape}/calibration/{wildcards.dset} "
        "2> {log}"
