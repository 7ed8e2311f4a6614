#!/usr/bin/env bash
# A real single-node SLURM cluster on this machine, the pipeline run through it, and its
# outputs compared with a local run.  See tests/cluster/README.md.
#
#   tests/cluster/run_slurm_pipeline.sh            # from the repository root, as root
#
# Installs Debian's slurm-wlm and munge (apt-get) unless present, starts munged, slurmctld
# and slurmd on localhost (accounting off), runs the embedded ROY pipeline restricted to a
# few groups twice, in two scratch copies of the repository:
#   1. locally:   snakemake --cores 2
#   2. on SLURM:  snakemake --profile profiles/slurm   (real sbatch jobs; the P2_1/c
#                 descriptor job is made an MPI job, 2 ranks under srun, by lowering
#                 cluster.mpi_min_structures in the test config)
# then checks that jobs went through sbatch, that one descriptor job ran on 2 MPI ranks,
# and that every output file matches (HDF5 arrays, CSV and JSON tables numerically;
# figures by name), and stops the daemons it started.  Exits 0 with "SKIP: ..." where the
# machine cannot run it (not root, no apt-get, packages not installable).
#
# Environment: KEEP=1 keeps the scratch folder; LATENTCSP_SLURM_SCRATCH sets it;
# PYTHON_BIN names the folder holding snakemake/latentcsp (default: the repo's .venv/bin).
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$REPO/tests/cluster"
BIN="${PYTHON_BIN:-$REPO/.venv/bin}"
SCRATCH="${LATENTCSP_SLURM_SCRATCH:-$(mktemp -d /tmp/latentcsp-slurm.XXXXXX)}"
mkdir -p "$SCRATCH"
CONF_DIR=/etc/slurm
CONF="$CONF_DIR/slurm.conf"
MARK="# written by latentcsp tests/cluster/run_slurm_pipeline.sh"
STARTED=()          # pid files of the daemons this script started
CONF_BACKUP=""
T0=$SECONDS

say()  { printf '[slurm-test %4ds] %s\n' "$((SECONDS - T0))" "$*"; }
skip() { say "SKIP: $*"; cleanup; exit 0; }
fail() { say "FAIL: $*"; dump_logs; cleanup; exit 1; }

dump_logs() {
    for f in /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log; do
        [ -f "$f" ] && { say "--- tail $f"; tail -n 20 "$f"; }
    done
}

stop_daemons() {
    local pidfile pid
    for pidfile in "${STARTED[@]}"; do
        [ -f "$pidfile" ] || continue
        pid="$(cat "$pidfile")"
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            say "stopping $(basename "$pidfile" .pid) (pid $pid)"
            kill "$pid" 2>/dev/null
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
            kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
        fi
    done
    STARTED=()
}

cleanup() {
    # jobs of this test still queued (a failed run): cancel them by the names the plugin gave
    if [ -n "${RUN_STARTED:-}" ] && command -v squeue >/dev/null; then
        local ids
        ids="$(squeue --noheader --format=%i 2>/dev/null | tr '\n' ' ')"
        [ -n "${ids// /}" ] && scancel $ids 2>/dev/null
    fi
    stop_daemons
    if [ -n "$CONF_BACKUP" ]; then
        mv -f "$CONF_BACKUP" "$CONF"
    elif [ -f "$CONF" ] && head -n1 "$CONF" | grep -qF "$MARK"; then
        rm -f "$CONF"
    fi
    if [ -z "${KEEP:-}" ] && [ -d "$SCRATCH" ]; then rm -rf "$SCRATCH"; else say "scratch kept: $SCRATCH"; fi
}
trap 'say "interrupted"; cleanup; exit 130' INT TERM

# ---------------------------------------------------------------- preconditions
[ "$(id -u)" = 0 ] || skip "needs root to install and start SLURM (run as root, or in the CI container)"
[ -x "$BIN/snakemake" ] && [ -x "$BIN/latentcsp" ] || skip "no snakemake/latentcsp in $BIN (make venv first)"
"$BIN/python" -c "import snakemake_executor_plugin_slurm" 2>/dev/null \
    || skip "snakemake-executor-plugin-slurm not installed (pip install -e '.[slurm]')"

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
    command -v apt-get >/dev/null || skip "apt-get not available: cannot install slurm-wlm and munge"
    say "installing slurm-wlm and munge with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends slurm-wlm munge >"$SCRATCH/apt.log" 2>&1; then
        apt-get update >>"$SCRATCH/apt.log" 2>&1
        apt-get install -y --no-install-recommends slurm-wlm munge >>"$SCRATCH/apt.log" 2>&1 \
            || { tail -n 5 "$SCRATCH/apt.log"; skip "apt-get could not install slurm-wlm and munge"; }
    fi
fi
if pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null; then
    skip "a slurmctld/slurmd is already running on this machine; not touching it"
fi

# ---------------------------------------------------------------- start the cluster
HOST="$(hostname -s)"
getent hosts "$HOST" >/dev/null || skip "host name $HOST does not resolve"
NODE="$(slurmd -C | head -n1)"
case "$NODE" in NodeName=*) ;; *) skip "slurmd -C gave no node line" ;; esac
NODE="NodeName=$HOST ${NODE#NodeName=* }"
[ -f /etc/munge/munge.key ] || { mkdir -p /etc/munge; dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null; }
chown munge:munge /etc/munge/munge.key 2>/dev/null; chmod 400 /etc/munge/munge.key

if [ -f "$CONF" ] && ! head -n1 "$CONF" | grep -qF "$MARK"; then
    CONF_BACKUP="$CONF.latentcsp-backup.$$"
    cp -p "$CONF" "$CONF_BACKUP"
fi
mkdir -p "$CONF_DIR" /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
chown slurm:slurm /var/spool/slurmctld /var/log/slurm
rm -rf /var/spool/slurmctld/* /var/spool/slurmd/*   # no state from an earlier run
cat >"$CONF" <<EOF
$MARK
ClusterName=latentcsp-ci
SlurmctldHost=$HOST
SlurmUser=slurm
AuthType=auth/munge
MpiDefault=pmi2
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
ReturnToService=2
MinJobAge=600
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
$NODE State=UNKNOWN
PartitionName=ci Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF

if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    mkdir -p /run/munge && chown munge:munge /run/munge
    su -s /bin/sh munge -c /usr/sbin/munged || fail "munged did not start"
    STARTED+=(/run/munge/munged.pid)
    for _ in $(seq 20); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.5; done
fi
munge -n | unmunge >/dev/null 2>&1 || fail "munge does not work"
slurmctld || fail "slurmctld did not start"
STARTED+=(/run/slurmctld.pid)
slurmd || fail "slurmd did not start"
STARTED+=(/run/slurmd.pid)
for _ in $(seq 60); do
    state="$(sinfo --noheader --format=%t 2>/dev/null | head -n1)"
    [ "$state" = idle ] && break
    sleep 1
done
[ "$state" = idle ] || fail "node not idle after 60 s (sinfo: ${state:-nothing})"
say "cluster up: $(sinfo --noheader --format='%P %D %c %m %t' | head -n1)"

# srun must launch MPI ranks that see each other (PMI2 between slurmd and MPICH)
ranks="$(srun -n 2 --cpus-per-task 1 "$BIN/python" -c \
    'from mpi4py import MPI; c = MPI.COMM_WORLD; print(f"{c.Get_rank()}/{c.Get_size()}")' 2>&1 | sort | tr '\n' ' ')"
[ "$ranks" = "0/2 1/2 " ] || fail "srun -n 2 did not give two MPI ranks of one world: $ranks"
say "srun + mpi4py: ranks $ranks"

# ---------------------------------------------------------------- two copies, one config
copy_repo() {
    mkdir -p "$1"
    tar -C "$REPO" -cf - --exclude=./.venv --exclude=./results --exclude=./.snakemake \
        --exclude=./.latentcsp-cache --exclude=./logs --exclude=./.git . | tar -C "$1" -xf -
}
copy_repo "$SCRATCH/local"
copy_repo "$SCRATCH/slurm"
"$BIN/python" "$HERE/make_test_config.py" "$REPO/config/config.yaml" "$SCRATCH/test.yaml" || fail "test config"
export PATH="$BIN:$PATH" OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

# fetch ROY once (a local rule; compute nodes of real clusters often have no internet)
if [ ! -f "$REPO/resources/roy/beran_roy_structures.xyz.bz2" ]; then
    # the target goes first: --configfile takes every word after it
    (cd "$SCRATCH/local" && snakemake resources/roy/beran_roy_structures.xyz.bz2 --cores 1 \
        --configfile "$SCRATCH/test.yaml" >"$SCRATCH/fetch.log" 2>&1) \
        || skip "could not fetch the ROY landscape (no network?): $(tail -n 3 "$SCRATCH/fetch.log")"
    mkdir -p "$SCRATCH/slurm/resources/roy"
    cp "$SCRATCH/local/resources/roy/beran_roy_structures.xyz.bz2" "$SCRATCH/slurm/resources/roy/"
fi

say "local run (snakemake --cores 2)"
(cd "$SCRATCH/local" && snakemake --cores 2 --configfile "$SCRATCH/test.yaml" >"$SCRATCH/local.log" 2>&1) \
    || { tail -n 30 "$SCRATCH/local.log"; fail "local run failed"; }
say "local run done"

say "SLURM run (snakemake --profile profiles/slurm)"
RUN_STARTED=1
(cd "$SCRATCH/slurm" && timeout 900 snakemake --profile profiles/slurm --configfile "$SCRATCH/test.yaml" \
    --jobs 4 --slurm-no-account --slurm-init-seconds-before-status-checks 2 \
    --slurm-keep-successful-logs --latency-wait 10 >"$SCRATCH/slurm.log" 2>&1) \
    || { tail -n 40 "$SCRATCH/slurm.log"; fail "SLURM run failed"; }
say "SLURM run done"

# ---------------------------------------------------------------- checks
n_sbatch="$(grep -c 'has been submitted with SLURM jobid' "$SCRATCH/slurm.log")"
[ "$n_sbatch" -ge 5 ] || fail "only $n_sbatch sbatch submissions in the SLURM run"
say "$n_sbatch jobs submitted with sbatch"
"$BIN/python" "$HERE/check_slurm_run.py" "$SCRATCH/slurm" || fail "SLURM run checks"
"$BIN/python" "$HERE/compare_results.py" "$SCRATCH/local/results" "$SCRATCH/slurm/results" \
    || fail "SLURM outputs differ from the local run"

RUN_STARTED=""
cleanup
say "PASS: the pipeline on SLURM (sbatch + an srun MPI job) reproduces the local run"
exit 0
