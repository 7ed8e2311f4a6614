# Stage 2: one job per landscape x descriptor set x space group; vectors cached by content.

from latentcsp.descriptors.stage import DESCRIPTORS_LAYOUT

# Job sizes (MPI ranks, memory, wall time) from the group sizes.
include: "resources.smk"


rule descriptors:
    input:
        # new data reruns ingest and select, but only groups whose stamp changed rerun here
        structures=ancient("results/{landscape}/structures.h5"),
        groups=ancient("results/{landscape}/groups.csv"),
        stamp=descriptor_stamp,
    output:
        "results/{landscape}/descriptors/{dset}/{spacegroup}.h5",
    params:
        dset=lambda wc: as_json(DESCRIPTOR_SETS[wc.dset]),
        cache=f"--cache-dir {config['descriptors']['cache']}" if config["descriptors"]["cache"] else "",
        chunk=config["descriptors"]["chunk"],
        layout=DESCRIPTORS_LAYOUT,  # a new pooling reruns the job (its inputs say nothing of code)
    # Sized from the group (workflow/rules/resources.smk): a group of at least
    # cluster.mpi_min_structures runs on `tasks` MPI ranks (srun under SLURM).
    threads: descriptor_threads
    resources:
        tasks=descriptor_tasks,
        mpi=descriptor_mpi,
        launch=descriptor_launch,
        mpi_flag=descriptor_mpi_flag,
        cpus_per_task=config["descriptors"]["threads"],
        mem_mb=descriptor_mem_mb,
        mem_mb_per_cpu=descriptor_mem_mb_per_cpu,
        runtime=descriptor_runtime,
    conda:
        "../../envs/latentcsp.yaml"
    log:
        "logs/{landscape}/descriptors/{dset}/{spacegroup}.log",
    shell:
        "{resources.launch}latentcsp descriptors --structures {input.structures} --groups {input.groups} "
        "--group {wildcards.spacegroup} --set-name {wildcards.dset} --set {params.dset} "
        "{params.cache} --chunk {params.chunk} --threads {resources.cpus_per_task} {resources.mpi_flag} "
        "--out {output} 2> {log}"
