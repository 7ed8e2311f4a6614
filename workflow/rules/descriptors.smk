# Stage 2: one job per landscape x descriptor set x planned space group; vectors cached by content.
# Sized from the group's entry in selection.json (latentcsp.workflow.descriptor_job): a group of at
# least cluster.mpi_min_structures runs on `tasks` MPI ranks (srun under SLURM).


rule descriptors:
    input:
        # new data reruns ingest and select, but only groups whose stamp changed rerun here
        structures=ancient("results/{landscape}/structures.h5"),
        groups=ancient("results/{landscape}/groups.csv"),
        selection=ancient("results/{landscape}/selection.json"),
        stamp=PLAN.descriptor_stamp,
    output:
        "results/{landscape}/descriptors/{dset}/{spacegroup}.h5",
    params:
        dset=PLAN.descriptor_set,
        cache=PLAN.cache_flag(),
        chunk=config["descriptors"]["chunk"],
        layout=PLAN.layouts["descriptors"],  # a new pooling reruns the job (its inputs say nothing of code)
    threads: lambda wc, input: PLAN.descriptor_job(wc, input).threads
    resources:
        tasks=lambda wc, input: PLAN.descriptor_job(wc, input).tasks,
        mpi=lambda wc, input: PLAN.descriptor_job(wc, input).mpi,
        launch=lambda wc, input: PLAN.descriptor_job(wc, input).launch,
        mpi_flag=lambda wc, input: PLAN.descriptor_job(wc, input).mpi_flag,
        cpus_per_task=config["descriptors"]["threads"],
        mem_mb=lambda wc, input, attempt: PLAN.descriptor_job(wc, input, attempt).mem_mb,
        mem_mb_per_cpu=lambda wc, input, attempt: PLAN.descriptor_job(wc, input, attempt).mem_mb_per_cpu,
        runtime=lambda wc, input, attempt: PLAN.descriptor_job(wc, input, attempt).runtime,
    conda:
        "../../envs/latentcsp.yaml"
    log:
        "logs/{landscape}/descriptors/{dset}/{spacegroup}.log",
    shell:
        "{resources.launch}latentcsp descriptors --structures {input.structures} --groups {input.groups} "
        "--selection {input.selection} --group {wildcards.spacegroup} --set-name {wildcards.dset} --set {params.dset} "
        "{params.cache} --chunk {params.chunk} --threads {resources.cpus_per_task} {resources.mpi_flag} "
        "--out {output} 2> {log}"
