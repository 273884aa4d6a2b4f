#!/usr/bin/env bash
# The orphan reaper of one test run (global-setup.mjs starts it). Its stdin is a pipe whose other
# end only the run's main process holds, so the read below returns when that process has exited,
# however it ended: a clean finish, Ctrl-C, a timeout or SIGKILL. Then every process that still
# carries the run's marker in its environment (etcd, kube-apiserver, ZooKeeper JVMs, sshd and the
# observers under it) is killed, until two scans in a row find none: a process being killed may
# still fork. sshd re-executes itself with an empty environment, so the process groups the run
# registered (spawnTracked appends "<pgid> <leader start time>" to the groups file) are killed too,
# each only while its leader is the process that was registered, never one that reused the PID.
# Usage: reap.sh <marker value> <log file> <groups file>
set -u
marker="ZK_ROLLOUT_TEST_OWNER=$1"
log=$2
groups=$3
cat >/dev/null

start_time() { # field 22 of /proc/<pid>/stat; the command name before it may hold spaces
  local stat rest
  read -r stat <"/proc/$1/stat" 2>/dev/null || return 1
  rest=${stat##*) }
  read -ra fields <<<"$rest"
  echo "${fields[19]}"
}

if [[ -f $groups ]]; then
  while read -r pgid started; do
    if [[ $(start_time "$pgid") == "$started" ]]; then
      echo "$(date -u +%FT%TZ) killed group $pgid $(tr '\0' ' ' </proc/"$pgid"/cmdline 2>/dev/null | cut -c1-200)" >>"$log"
      kill -KILL -- "-$pgid" 2>/dev/null
    fi
  done <"$groups"
fi
empty=0
while ((empty < 2)); do
  # /proc/<pid>/environ is the environment a process started with, NUL-separated.
  mapfile -t pids < <(grep -lzxF -- "$marker" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3)
  if ((${#pids[@]} == 0)); then
    empty=$((empty + 1))
    sleep 0.05
    continue
  fi
  empty=0
  for pid in "${pids[@]}"; do
    echo "$(date -u +%FT%TZ) killed $pid $(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null | cut -c1-200)" >>"$log"
    kill -KILL "$pid" 2>/dev/null
  done
  sleep 0.05
done
rm -f -- "$groups"
