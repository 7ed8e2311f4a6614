# What every rule shares: wildcard patterns and the rules that run on the submit host
# (latentcsp.workflow.Plan decides the rest).


wildcard_constraints:
    landscape="|".join(PLAN.landscapes),
    dset="[^/]+",
    window="[^/]+",
    group="[^/]+",
    spacegroup="[^/]+",


localrules:
    all,
    fetch_roy,
    sources,
