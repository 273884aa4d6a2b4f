#!/usr/bin/env bash
# The compose engine of the test shim (see ./docker). It runs the compose file's `zookeeper`
# service as a real ZooKeeper process on this "VM": the uploaded ./zoo.cfg (adapted by
# adapt-zoo-cfg.awk, every change printed) and ./myid, with the named volumes as directories
# under $ZK_SHIM_STATE/<project>/volumes. Like a container, the process is detached from the SSH
# session, and `up -d` without --force-recreate leaves a running one alone. Its PID (also its
# process group: it runs under setsid) is in $ZK_SHIM_STATE/<project>/zookeeper.pid, where the
# tests find it to stop it.
#
# Usage: compose.sh <v1|v2> <version|up -d [--force-recreate]|down [-v]|ps>
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
flavour=$1
shift

say() { printf '%s\n' "$*" >&2; }
fail() {
  say "compose shim: $*"
  exit 1
}

: "${ZK_SHIM_STATE:?ZK_SHIM_STATE is not set: the test sshd sets it (SetEnv) for every session}"
# JAVA, ZK_CLASSPATH, ZK_JVM_OPTS (an array) and LOG4J_CONFIG, written by shim.ts.
# shellcheck disable=SC1091
source "$ZK_SHIM_STATE/shim.env"

# Compose's default project name is the directory's base name; its containers are named after it.
project=$(basename "$PWD")
state=$ZK_SHIM_STATE/$project
container=$project-zookeeper-1
pidfile=$state/zookeeper.pid

running_pid() {
  [[ -f $pidfile ]] || return 1
  local pid
  pid=$(<"$pidfile")
  # A recycled PID is not our ZooKeeper.
  [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q QuorumPeerMain || return 1
  printf '%s\n' "$pid"
}

stop_container() {
  local pid
  if pid=$(running_pid); then
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 100); do
      kill -0 -- "-$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    say " Container $container  Stopped (pid $pid)"
  fi
  rm -f "$pidfile"
}

start_container() {
  [[ -f docker-compose.yaml ]] || fail "no docker-compose.yaml in $PWD"
  # The real docker-compose (Debian's 1.29) validates and normalises the file; it needs no engine
  # for that. Bind mounts come out as absolute paths.
  local config
  config=$(/usr/bin/docker-compose -f docker-compose.yaml config) || fail "docker-compose.yaml in $PWD is not a valid compose file"
  grep -qx '  zookeeper:' <<<"$config" || fail "docker-compose.yaml has no zookeeper service"
  grep -qF -- "- $PWD/zoo.cfg:/conf/zoo.cfg" <<<"$config" || fail "the zookeeper service does not mount ./zoo.cfg at /conf/zoo.cfg"
  grep -qF -- "- $PWD/myid:/data/myid" <<<"$config" || fail "the zookeeper service does not mount ./myid at /data/myid"
  [[ -f zoo.cfg && -f myid ]] || fail "zoo.cfg or myid is missing in $PWD (bind mounts of missing files)"
  # The VM's address: where this SSH session arrived.
  local address
  address=$(set -- ${SSH_CONNECTION:-} && printf '%s' "${3:-}")
  [[ -n $address ]] || fail "SSH_CONNECTION is not set: the shim runs only inside an SSH session"
  mkdir -p "$state/volumes/data" "$state/volumes/datalog"
  local changes
  changes=$(awk -v address="$address" -v dataDir="$state/volumes/data" -v dataLogDir="$state/volumes/datalog" \
    -f "$here/adapt-zoo-cfg.awk" zoo.cfg 2>&1 >"$state/zoo.cfg") || fail "cannot adapt zoo.cfg: $changes"
  while IFS= read -r line; do say "compose shim: zoo.cfg for this host: $line"; done <<<"$changes"
  # The image writes /data/myid from ZOO_MY_ID only when absent; the two must agree.
  grep -qx "      ZOO_MY_ID: '$(tr -d '[:space:]' <myid)'" <<<"$config" || fail "ZOO_MY_ID in docker-compose.yaml differs from ./myid"
  # ./myid is bind-mounted over /data/myid, the data volume's copy.
  cp myid "$state/volumes/data/myid"
  setsid "$JAVA" "${ZK_JVM_OPTS[@]}" "-Dlog4j.configuration=file:$LOG4J_CONFIG" -cp "$ZK_CLASSPATH" \
    org.apache.zookeeper.server.quorum.QuorumPeerMain "$state/zoo.cfg" >>"$state/zookeeper.log" 2>&1 </dev/null &
  printf '%s\n' "$!" >"$pidfile"
  say " Container $container  Started (pid $!, log $state/zookeeper.log)"
}

mkdir -p "$state"
command=${1:-}
shift || true
case $command in
  version)
    if [[ $flavour == v1 ]]; then echo 'docker-compose version 1.29.2-zk-rollout-shim'; else echo 'Docker Compose version v2.29.7-zk-rollout-shim'; fi
    ;;
  up)
    detached=no recreate=no
    for arg in "$@"; do
      case $arg in
        -d | --detach) detached=yes ;;
        --force-recreate) recreate=yes ;;
        *) fail "up: option $arg is not emulated" ;;
      esac
    done
    [[ $detached == yes ]] || fail "up without -d would attach to the container: not emulated"
    if [[ $recreate == yes ]]; then
      stop_container
      start_container
    elif pid=$(running_pid); then
      say " Container $container  Running (pid $pid)"
    else
      start_container
    fi
    ;;
  down)
    stop_container
    for arg in "$@"; do
      case $arg in
        -v | --volumes) rm -rf "$state/volumes" && say " Volumes of $project removed" ;;
        *) fail "down: option $arg is not emulated" ;;
      esac
    done
    ;;
  ps)
    if pid=$(running_pid); then echo "$container running pid $pid"; fi
    ;;
  *)
    fail "command '$command' is not emulated (version, up -d, down, ps are)"
    ;;
esac
