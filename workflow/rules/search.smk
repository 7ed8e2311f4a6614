# From the latent space back to crystals: one job per generated landscape x space group
# (decoded crystals and the search-efficiency test), then one table. Landscapes that the
# generator did not make (ROY: a flexible molecule) and trial landscapes get no job
# (latentcsp.workflow.Plan decides which).


rule search:
    input:
        structures=ancient("results/{landscape}/structures.h5"),
        manifest=ancient("results/{landscape}/manifest.csv"),
        descriptors=PLAN.search_descriptors,
        molecule=PLAN.search_molecule,
        dimensions=PLAN.search_dimensions,
    output:
        json="results/{landscape}/search/{group}/search.json",
        decoded=directory("results/{landscape}/search/{group}/decoded"),
        table="results/{landscape}/search/{group}/decoded.csv",
        efficiency="results/{landscape}/search/{group}/efficiency.csv",
        figure=report(
            "results/{landscape}/search/{group}/search.png",
            caption="../report/search.rst",
            category="Decoded crystals",
            subcategory="{landscape}",
            labels={"group": "{group}"},
        ),
    params:
        settings=PLAN.search_settings(),
        set_name=PLAN.search_set,
        dset=PLAN.search_descriptor_set(),
        dimensions=lambda wc, input: f"--dimensions {input.dimensions}" if input.dimensions else "",
        seed=config["synth"]["seed"],
    threads: 1
    conda:
        "../../envs/latentcsp.yaml"
    log:
        "logs/{landscape}/search/{group}.log",
    shell:
        "latentcsp search --structures {input.structures} --manifest {input.manifest} "
        "--descriptors {input.descriptors} --set-name {params.set_name} --set {params.dset} --group {wildcards.group} "
        "--landscape {wildcards.landscape} --molecule {input.molecule} {params.dimensions} "
        "--synth-seed {params.seed} --settings {params.settings} "
        "--outdir results/{wildcards.landscape}/search/{wildcards.group} 2> {log}"


rule search_summary:
    input:
        searches=PLAN.all_searches,
        curves=PLAN.all_search_curves,
    output:
        table="results/search/summary.csv",
        markdown=report("results/search/summary.md", caption="../report/search.rst", category="Decoded crystals"),
        pooled="results/search/efficiency.csv",
        figure=report("results/search/efficiency.png", caption="../report/search.rst", category="Decoded crystals"),
    conda:
        "../../envs/latentcsp.yaml"
    log:
        "logs/search_summary.log",
    shell:
        "latentcsp search-summary --inputs {input.searches} --out results/search 2> {log}"
