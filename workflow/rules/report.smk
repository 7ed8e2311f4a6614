# Stage 5: the summary tables and figures of every analysed group and calibration.


rule summary:
    input:
        groups=expand("results/{landscape}/groups.csv", landscape=PLAN.landscapes),
        pca=PLAN.all_analyses,
        calibrations=PLAN.all_calibrations,
        latent=PLAN.all_latents,
    output:
        table1="results/summary/table1_counts.csv",
        table2="results/summary/table2_dof.csv",
        table3="results/summary/table3_dimensions.csv",
        dimensions="results/summary/dimensions.csv",
        markdown=report("results/summary/summary.md", caption="../report/summary.rst", category="Tables"),
        figures=report(
            directory("results/summary/figures"),
            patterns=["{name}.png"],
            caption="../report/figures.rst",
            category="Spectra and dimensions",
        ),
    params:
        estimators=" ".join(config["analysis"]["estimators"]),
        sets=" ".join(PLAN.sets),
    conda:
        "../../envs/latentcsp.yaml"
    log:
        "logs/summary.log",
    shell:
        "latentcsp summary --results results --pca {input.pca} --estimators {params.estimators} "
        "--calibrations {input.calibrations} --sets {params.sets} --out results/summary 2> {log}"
