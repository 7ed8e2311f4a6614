# Stage 4: autoencoder width sweep, neighbourhood preservation and sampling per group.


rule latent:
    input:
        descriptors=PLAN.group_descriptors,
        scores="results/{landscape}/analysis/{dset}/{window}/{group}/scores.csv",
        pca="results/{landscape}/analysis/{dset}/{window}/{group}/pca.json",
        structures=ancient("results/{landscape}/structures.h5"),
    output:
        metrics="results/{landscape}/latent/{dset}/{window}/{group}/metrics.json",
        sweep="results/{landscape}/latent/{dset}/{window}/{group}/sweep.csv",
        coordinates="results/{landscape}/latent/{dset}/{window}/{group}/coordinates.csv",
        figure=report(
            "results/{landscape}/latent/{dset}/{window}/{group}/sweep.svg",
            caption="../report/latent.rst",
            category="Latent space",
            subcategory="{landscape} {dset} L{window}",
            labels={"group": "{group}", "figure": "width sweep"},
        ),
        map=report(
            "results/{landscape}/latent/{dset}/{window}/{group}/map.svg",
            caption="../report/latent.rst",
            category="Latent space",
            subcategory="{landscape} {dset} L{window}",
            labels={"group": "{group}", "figure": "2-d maps"},
        ),
    params:
        settings=shell_json(config["latent"]["settings"]),
    threads: 1
    conda:
        "../../envs/latentcsp.yaml"
    log:
        "logs/{landscape}/latent/{dset}/{window}/{group}.log",
    shell:
        "latentcsp latent --descriptors {input.descriptors} --scores {input.scores} --pca {input.pca} "
        "--structures {input.structures} --settings {params.settings} "
        "--outdir results/{wildcards.landscape}/latent/{wildcards.dset}/{wildcards.window}/{wildcards.group} 2> {log}"
