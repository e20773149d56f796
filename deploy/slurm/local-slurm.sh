#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for trying deploy/slurm/sweep.sbatch and for the
# ignored test tests/slurm_sweep.rs. Debian or Ubuntu, run as root (SlurmUser=root).
#
#   deploy/slurm/local-slurm.sh start    install slurm-wlm and munge if missing, write the config,
#                                        start munged, slurmctld and slurmd, wait until the node
#                                        is idle (at most LOCAL_SLURM_WAIT_S, default 60 s)
#   deploy/slurm/local-slurm.sh stop     stop the three daemons (by their pid files)
#   deploy/slurm/local-slurm.sh status   which daemons run, and sinfo
#
# start is idempotent: daemons already running are left as they are. The node has this machine's
# CPUs and a bit less than its memory, one partition `local` (the default), select/cons_tres
# (so array tasks share the node by CPUs), proctrack/linuxproc and task/none (no cgroups), and
# no accounting. State, spool and logs live under /var/spool/slurm-local and /var/log/slurm-local.
set -euo pipefail

CONF_DIR=/etc/slurm
CONF=$CONF_DIR/slurm.conf
STATE=/var/spool/slurm-local
LOGS=/var/log/slurm-local
RUN=/run/slurm-local
MUNGE_KEY=/etc/munge/munge.key
MUNGE_PID=/run/munge/munged.pid
CTLD_PID=$RUN/slurmctld.pid
SLURMD_PID=$RUN/slurmd.pid
WAIT_S=${LOCAL_SLURM_WAIT_S:-60}

die() {
  echo "local-slurm: $*" >&2
  exit 1
}

# True when the pid file names a live process.
running() {
  local pid
  [ -s "$1" ] || return 1
  pid=$(cat "$1")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

install_packages() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null &&
    command -v sbatch >/dev/null && command -v munged >/dev/null; then
    return
  fi
  echo "local-slurm: installing slurm-wlm and munge"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
}

munge_key() {
  [ -s "$MUNGE_KEY" ] && return
  echo "local-slurm: creating $MUNGE_KEY"
  mkdir -p "$(dirname "$MUNGE_KEY")"
  if command -v mungekey >/dev/null; then
    mungekey --create --keyfile="$MUNGE_KEY"
  else
    dd if=/dev/urandom of="$MUNGE_KEY" bs=1024 count=1 status=none
  fi
  chown munge:munge "$MUNGE_KEY"
  chmod 0400 "$MUNGE_KEY"
}

write_config() {
  local host cpus mem_mb
  host=$(hostname -s)
  cpus=$(nproc)
  # RealMemory above what slurmd finds drains the node: take 90% of the total.
  mem_mb=$(free -m | awk '/^Mem:/ { print int($2 * 0.9) }')
  mkdir -p "$CONF_DIR" "$STATE/ctld" "$STATE/d" "$LOGS" "$RUN"
  cat >"$CONF.tmp" <<EOF
# Written by deploy/slurm/local-slurm.sh: a single-node cluster on this machine.
ClusterName=local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
SwitchType=switch/none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MailProg=/bin/true
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  mv "$CONF.tmp" "$CONF"
}

start() {
  [ "$(id -u)" -eq 0 ] || die "start needs root (SlurmUser=root)"
  install_packages
  munge_key
  write_config
  if ! running "$MUNGE_PID"; then
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    runuser -u munge -- munged
  fi
  running "$CTLD_PID" || slurmctld
  running "$SLURMD_PID" || slurmd
  # The node counts as up when sinfo says so and both daemons are alive (slurmctld restores
  # the node's last state from its state files, so sinfo alone could say idle for a dead slurmd).
  local waited=0 state=""
  while [ "$waited" -lt "$WAIT_S" ]; do
    state=$(sinfo -h -o %t 2>/dev/null || true)
    if { [ "$state" = idle ] || [ "$state" = mix ] || [ "$state" = alloc ]; } &&
      running "$CTLD_PID" && running "$SLURMD_PID"; then
      echo "local-slurm: node $(hostname -s) is $state (after ${waited} s)"
      return
    fi
    sleep 1
    waited=$((waited + 1))
  done
  echo "local-slurm: the node is not idle after ${WAIT_S} s (sinfo state: '${state}')" >&2
  tail -n 20 "$LOGS/slurmctld.log" "$LOGS/slurmd.log" >&2 || true
  exit 1
}

# Sends TERM to the process of a pid file and waits (at most 20 s) until it has gone.
stop_pid() {
  local name=$1 file=$2 pid i
  if ! running "$file"; then
    echo "local-slurm: $name is not running"
    return
  fi
  pid=$(cat "$file")
  kill "$pid"
  for i in $(seq 1 200); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    die "$name (pid $pid) is still running 20 s after TERM"
  fi
  echo "local-slurm: stopped $name (pid $pid)"
}

stop() {
  stop_pid slurmd "$SLURMD_PID"
  stop_pid slurmctld "$CTLD_PID"
  stop_pid munged "$MUNGE_PID"
}

status() {
  local name file code=0
  for name in munged slurmctld slurmd; do
    case $name in
      munged) file=$MUNGE_PID ;;
      slurmctld) file=$CTLD_PID ;;
      slurmd) file=$SLURMD_PID ;;
    esac
    if running "$file"; then
      echo "$name: running (pid $(cat "$file"))"
    else
      echo "$name: stopped"
      code=1
    fi
  done
  if [ "$code" -eq 0 ]; then
    sinfo
  fi
  return "$code"
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: $0 start|stop|status" ;;
esac
