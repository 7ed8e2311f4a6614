# Landscapes with known dimensionality: quasi-random rigid-molecule CSP (config `synth:`).
# One job per molecule x space group, then one merge per molecule; landscapes whose
# entry says `synth: <molecule>` read the generated .res files.

from latentcsp.symmetry import spacegroup_number
from latentcsp.synth.spacegroup import get_spacegroup

SYNTH = config.get("synth") or {}
SYNTH_MOLECULES = SYNTH.get("molecules", {})
SYNTH_TAGS = {
    get_spacegroup(spacegroup_number(sg)).tag: spacegroup_number(sg)
    for sg in (TOP10 if SYNTH.get("spacegroups", "top10") == "top10" else SYNTH.get("spacegroups", []))
}


rule synth:
    input:
        molecule=lambda wc: SYNTH_MOLECULES[wc.molecule],
    output:
        "results/synth/{molecule}/summary_{tag}.json",
    params:
        number=lambda wc: SYNTH_TAGS[wc.tag],
        n_trials=SYNTH.get("n_trials", 60),
        seed=SYNTH.get("seed", 0),
        minimise="" if SYNTH.get("minimise", True) else "--no-minimise",
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
        expand("results/synth/{{molecule}}/summary_{tag}.json", tag=SYNTH_TAGS),
    output:
        trial="results/synth/{molecule}/trial/dof.csv",
        minima="results/synth/{molecule}/minima/dof.csv",
    conda:
        "../../envs/latentcsp.yaml"
    log:
        "logs/synth/{molecule}/merge.log",
    shell:
        "latentcsp synth-merge results/synth/{wildcards.molecule} 2> {log}"
