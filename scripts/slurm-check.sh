#!/usr/bin/env bash
# Issue 19's `srun` check: starts a one-node Slurm on this machine (munge, slurmctld and slurmd as root,
# their state in a temporary folder, stopped at exit), then runs the same SFT and the same DPO with
# ZeRO-1 under `srun --mpi=pmix -n 2` and under `mpirun -np 2`: the models must be byte-identical and
# the logged losses equal (same world size, same reduction order). Prints one line per check and
# "slurm-check: passed" at the end; exits 1 on any difference or failed run, 77 (SKIPPED, with the
# reason) where this machine cannot run the daemons (not root, packages not installable, node not up).
#   sudo scripts/slurm-check.sh [BUILD_DIR]      # default build; installs slurmd slurmctld slurm-client munge
# Needs root (the daemons) and the Debian packages above (installed when missing, as scripts/setup.sh does).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}
tt=$PWD/$BUILD_DIR/tinythink
fixtures=$PWD/tests/fixtures
skip() { echo "slurm-check: SKIPPED: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "not root (it starts slurmctld, slurmd and munged)"
[ -x "$tt" ] || { echo "slurm-check: $tt not built" >&2; exit 2; }
missing=()
for p in slurmd slurmctld slurm-client munge openmpi-bin; do
  dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; } > /dev/null ||
    skip "cannot install ${missing[*]}"
fi

work=$(mktemp -d /tmp/tinythink-slurm.XXXXXX)
cleanup() {
  local pids=()
  for pid in "$work"/slurmd.pid "$work"/slurmctld.pid "$work"/munged.pid; do
    [ -f "$pid" ] && pids+=("$(cat "$pid")") && kill "${pids[-1]}" 2> /dev/null || true
  done
  # slurmctld saves its state into $work/state as it stops: wait for every daemon to exit before removing
  # the folder (an rm racing that save failed with "Directory not empty" and failed the whole check)
  for _ in $(seq 100); do
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2> /dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  rm -rf "$work" 2> /dev/null || { sleep 1; rm -rf "$work" || true; }
}
trap cleanup EXIT
host=$(hostname -s)
memory_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
mkdir -p "$work/state" "$work/spool"
cat > "$work/slurm.conf" <<CONF
ClusterName=tinythink-check
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
SlurmctldPort=$(( 20000 + RANDOM % 20000 ))
SlurmdPort=$(( 40000 + RANDOM % 20000 ))
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
NodeName=$host CPUs=$(nproc) RealMemory=$memory_mb State=UNKNOWN
PartitionName=check Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF
export SLURM_CONF=$work/slurm.conf
if ! munge -n > /dev/null 2>&1; then
  [ -s /etc/munge/munge.key ] || mungekey --create > /dev/null
  mkdir -p /run/munge && chown munge:munge /run/munge 2> /dev/null || true
  munged --force --pid-file="$work/munged.pid" 2> /dev/null || true  # ours: stopped at exit
fi
munge -n > /dev/null 2>&1 || skip "munged is not running and could not be started"
slurmctld -f "$SLURM_CONF" || skip "slurmctld did not start"
slurmd -f "$SLURM_CONF" || skip "slurmd did not start"
for _ in $(seq 30); do sinfo -h -o %T 2> /dev/null | grep -q idle && break; sleep 1; done
sinfo -h -o %T 2> /dev/null | grep -q idle || { tail -5 "$work"/slurm*.log; skip "the node did not come up (logs above)"; }

config() {  # name, dataset, trainer lines
  printf 'model_name: %s/parity/tiny_llama4\ndataset:\n  path: %s/%s\ntrainer:\n  per_device_train_batch_size: 1\n  gradient_accumulation_steps: 2\n  learning_rate: 1e-3\n  logging_steps: 1\n  output_dir: %s/unused\n%s' \
    "$fixtures" "$fixtures" "$2" "$work" "$3" > "$work/$1.yaml"
  echo "$work/$1.yaml"
}
sft=$(config sft sft/nll/examples.jsonl $'  num_train_epochs: 2\n  neftune_noise_alpha: 5\n  max_grad_norm: 1.0\n  lr_scheduler_type: cosine\n  seed: 11\n')
dpo=$(config dpo dpo/ipo/pairs.jsonl $'  max_steps: 3\n  loss_type: sigmoid\n  beta: 0.5\n  max_length: 128\n  max_prompt_length: 64\n  per_device_eval_batch_size: 2\n  zero_stage: 1\n  seed: 5\n')

losses() { /usr/bin/python3 -c 'import json,sys; print([json.loads(l).get("loss") for l in open(sys.argv[1]) if "loss" in l])' "$1"; }
failed=0
for job in "sft $sft" "dpo $dpo"; do
  set -- $job
  verb=$1 cfg=$2
  srun --mpi=pmix -n 2 -c 1 env OMP_NUM_THREADS=1 "$tt" "$verb" "$cfg" --set trainer.output_dir="$work/$verb-srun" > "$work/$verb-srun.log" 2>&1 ||
    { echo "slurm-check: srun $verb failed:" >&2; tail -5 "$work/$verb-srun.log" >&2; exit 1; }
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --oversubscribe -np 2 -x OMP_NUM_THREADS=1 \
    "$tt" "$verb" "$cfg" --set trainer.output_dir="$work/$verb-mpirun" > "$work/$verb-mpirun.log" 2>&1 ||
    { echo "slurm-check: mpirun $verb failed:" >&2; tail -5 "$work/$verb-mpirun.log" >&2; exit 1; }
  grep -q "2 ranks" "$work/$verb-srun.log" || { echo "slurm-check: srun $verb did not run as 2 ranks:" >&2; tail -3 "$work/$verb-srun.log" >&2; failed=1; }
  if cmp -s "$work/$verb-srun/model.safetensors" "$work/$verb-mpirun/model.safetensors" &&
     [ "$(losses "$work/$verb-srun/metrics.jsonl")" = "$(losses "$work/$verb-mpirun/metrics.jsonl")" ]; then
    echo "slurm-check: $verb under srun --mpi=pmix -n 2 = under mpirun -np 2 (model bytes, losses $(losses "$work/$verb-srun/metrics.jsonl"))"
  else
    echo "slurm-check: $verb differs between srun and mpirun" >&2
    failed=1
  fi
done
[ $failed -eq 0 ] && echo "slurm-check: passed ($(srun --version), $(mpirun --version | head -1))"
exit $failed
