# Stage 4: autoencoder width sweep, neighbourhood preservation and sampling per group.


rule latent:
    input:
        descriptors=lambda wc: (
            descriptor_files(wc)
            if wc.group == "all"
            else [f"results/{wc.landscape}/descriptors/{wc.dset}/{wc.group}.h5"]
        ),
        scores="results/{landscape}/analysis/{dset}/{window}/{group}/scores.csv",
        pca="results/{landscape}/analysis/{dset}/{window}/{group}/pca.json",
        structures=ancient("results/{landscape}/structures.h5"),
    output:
        metrics="results/{landscape}/latent/{dset}/{window}/{group}/metrics.json",
        sweep="results/{landscape}/latent/{dset}/{window}/{group}/sweep.csv",
        coordinates="results/{landscape}/latent/{dset}/{window}/{group}/coordinates.csv",
        figure=report(
            "results/{landscape}/latent/{dset}/{window}/{group}/sweep.png",
            caption="../report/latent.rst",
            category="Latent space",
            subcategory="{landscape} {dset} L{window}",
            labels={"group": "{group}", "figure": "width sweep"},
        ),
        map=report(
            "results/{landscape}/latent/{dset}/{window}/{group}/map.png",
            caption="../report/latent.rst",
            category="Latent space",
            subcategory="{landscape} {dset} L{window}",
            labels={"group": "{group}", "figure": "2-d maps"},
        ),
    params:
        settings=as_json(config.get("latent", {}).get("settings", {})),
        outdir=lambda wc: f"results/{wc.landscape}/latent/{wc.dset}/{wc.window}/{wc.group}",
    threads: 1
    conda:
        "../../envs/latentcsp.yaml"
    log:
        "logs/{landscape}/latent/{dset}/{window}/{group}.log",
    shell:
        "latentcsp latent --descriptors {input.descriptors} --scores {input.scores} --pca {input.pca} "
        "--structures {input.structures} --settings {params.settings} --outdir {params.outdir} 2> {log}"
