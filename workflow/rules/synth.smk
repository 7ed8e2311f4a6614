# Landscapes with known dimensionality: quasi-random rigid-molecule CSP (config `synth:`).
# One job per molecule x space group, then one merge per molecule; landscapes whose
# entry says `synth: <molecule>` read the generated .res files.


rule synth:
    input:
        molecule=lambda wc: config["synth"]["molecules"][wc.molecule],
    output:
        "results/synth/{molecule}/summary_{tag}.json",
    params:
        number=lambda wc: PLAN.synth_tags()[wc.tag],
        n_trials=config["synth"]["n_trials"],
        seed=config["synth"]["seed"],
        minimise=PLAN.synth_minimise_flag(),
    conda:
        "../../envs/latentcsp.yaml"
    log:
        "logs/synth/{molecule}/{tag}.log",
    shell:
        "latentcsp synth --molecule {input.molecule} --name {wildcards.molecule} "
        "--spacegroup {params.number} --n-trials {params.n_trials} --seed {params.seed} "
        "{params.minimise} --out results/synth/{wildcards.molecule} 2> {log}"


rule synth_merge:
    input:
        lambda wc: PLAN.synth_summaries(wc.molecule),
    output:
        trial="results/synth/{molecule}/trial/dof.csv",
        minima="results/synth/{molecule}/minima/dof.csv",
    conda:
        "../../envs/latentcsp.yaml"
    log:
        "logs/synth/{molecule}/merge.log",
    shell:
        "latentcsp synth-merge results/synth/{wildcards.molecule} 2> {log}"
