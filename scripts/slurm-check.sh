#!/usr/bin/env bash
# Runs the Slurm array job of docs/EXPERIMENTS.md ("Spreading a sweep over machines") on a
# one-node Slurm cluster started on this machine, and checks that the merged shards equal one run.
#
#   scripts/slurm-check.sh [EXPERIMENT]        # default: convergence; needs root (apt-get, daemons)
#
# 1. installs Debian's slurm-wlm and munge when missing;
# 2. builds deq (release);
# 3. starts munged, slurmctld and slurmd with a generated slurm.conf, all in a temporary
#    folder (their own sockets, ports, state and logs; nothing in /etc is touched);
# 4. submits the documented array job for EXPERIMENT with --quick in 4 shards and waits;
# 5. runs deq merge, runs the same experiment once without shards, and compares the two folders
#    with scripts/compare-results.py (times and machine fields aside);
# 6. stops the daemons it started (trap on exit) and prints how long each step took.
set -euo pipefail

experiment=${1:-convergence}
shards=4
root=$(cd "$(dirname "$0")/.." && pwd)
t0=$(date +%s)
step() { echo "[$(( $(date +%s) - t0 )) s] $*"; }

if [ "$(id -u)" -ne 0 ]; then
    echo "error: scripts/slurm-check.sh starts munged, slurmctld and slurmd as root; run it as root (CI is root)." >&2
    exit 1
fi

missing=()
for package in slurm-wlm munge; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    step "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

step "building deq"
(cd "$root" && swift build -c release --product deq >/dev/null)
deq="$root/.build/release/deq"

work=$(mktemp -d /tmp/deq-slurm.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
    status=$?
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ $status -ne 0 ]; then
        echo "slurm-check failed; daemon logs and job output are in $work" >&2
    else
        rm -rf "$work"
    fi
    exit $status
}
trap cleanup EXIT

# munge: a fresh key, its own socket.
mkdir -p "$work/munge" "$work/state" "$work/spool" "$work/run"
chmod 711 "$work/munge"
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$work/munge/munge.key"
munged --foreground --force --key-file="$work/munge/munge.key" --socket="$work/munge/munge.socket" \
       --pid-file="$work/munge/munged.pid" --log-file="$work/munge/munged.log" --seed-file="$work/munge/munge.seed" > "$work/munge/munged.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$work/munge/munge.socket" ] && break; sleep 0.1; done
[ -S "$work/munge/munge.socket" ] || { echo "error: munged did not start (log: $work/munge/munged.log)" >&2; exit 1; }

# Free ports for the controller and the node daemon.
read -r ctld_port slurmd_port < <(python3 -c 'import socket
ports = []
for _ in range(2):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); ports.append(s.getsockname()[1]); s.close()
print(*ports)')

cpus=$(nproc)
memory=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))
export SLURM_CONF="$work/slurm.conf"
cat > "$SLURM_CONF" <<CONF
ClusterName=deqcheck
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$work/munge/munge.socket
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/run/slurmctld.pid
SlurmdPidFile=$work/run/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
NodeName=deqnode NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=check Nodes=deqnode Default=YES MaxTime=INFINITE State=UP
CONF

step "starting slurmctld and slurmd (ports $ctld_port, $slurmd_port)"
slurmctld -D -c -f "$SLURM_CONF" > "$work/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -N deqnode -f "$SLURM_CONF" > "$work/slurmd.out" 2>&1 &
pids+=($!)
for _ in $(seq 120); do
    state=$(sinfo -h -n deqnode -o %T 2>/dev/null || true)
    [ "$state" = "idle" ] && break
    sleep 0.5
done
[ "$state" = "idle" ] || { echo "error: the node did not become idle (state '$state'; logs in $work)" >&2; exit 1; }

# The documented array job, with N = 4 and --quick.
mkdir -p "$work/shards"
cat > "$work/job.sh" <<JOB
#!/bin/bash
#SBATCH --array=0-$(( shards - 1 ))
#SBATCH --cpus-per-task=1
#SBATCH --output=$work/job-%a.out
export PATH="$(dirname "$deq"):\$PATH"
deq run $experiment --quick --experiments "$root/Experiments" --shard \${SLURM_ARRAY_TASK_ID}/$shards --out shards/$experiment-\${SLURM_ARRAY_TASK_ID} --quiet --no-plots
JOB
step "submitting the array job ($shards shards of $experiment --quick)"
(cd "$work" && timeout 1800 sbatch --wait --quiet --chdir="$work" "$work/job.sh")
for i in $(seq 0 $(( shards - 1 ))); do
    [ -f "$work/shards/$experiment-$i/manifest.json" ] || { echo "error: shard $i wrote no results (see $work/job-$i.out)" >&2; exit 1; }
done
step "array job done"

"$deq" merge "$work"/shards/"$experiment"-* --out "$work/merged" --no-plots > /dev/null
step "merged; running the experiment once without shards"
(cd "$work" && "$deq" run "$experiment" --quick --experiments "$root/Experiments" --out "$work/single" --quiet --no-plots > /dev/null)
python3 "$root/scripts/compare-results.py" "$work/merged" "$work/single"
step "slurm-check passed: $shards shards merged equal one run"
