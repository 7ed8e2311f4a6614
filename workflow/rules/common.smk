# What every rule shares: wildcard patterns, the rules that run on the submit host, and the two
# input lists of the summary rule (latentcsp.workflow.Plan decides all of them).


wildcard_constraints:
    landscape="|".join(PLAN.landscapes),
    dset="[^/]+",
    window="[^/]+",
    group="[^/]+",
    spacegroup="[^/]+",


localrules:
    all,
    fetch_roy,


all_analyses = PLAN.all_analyses  # pca.json of every analysed group (waits for select)
all_latents = PLAN.all_latents  # metrics.json of every analysed group of latent.sets
