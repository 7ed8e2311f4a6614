# Stage 2: one job per landscape x descriptor set x space group; vectors cached by content.


rule descriptors:
    input:
        structures="results/{landscape}/structures.h5",
        groups="results/{landscape}/groups.csv",
    output:
        "results/{landscape}/descriptors/{dset}/{spacegroup}.h5",
    params:
        dset=lambda wc: as_json(DESCRIPTOR_SETS[wc.dset]),
        cache=f"--cache-dir {config['descriptors']['cache']}" if config["descriptors"]["cache"] else "",
        chunk=config["descriptors"]["chunk"],
    threads: config["descriptors"]["threads"]
    log:
        "logs/{landscape}/descriptors/{dset}/{spacegroup}.log",
    shell:
        "latentcsp descriptors --structures {input.structures} --groups {input.groups} "
        "--group {wildcards.spacegroup} --set-name {wildcards.dset} --set {params.dset} "
        "{params.cache} --chunk {params.chunk} --threads {threads} "
        "--out {output} 2> {log}"
