// The program an observer VM runs, sent as the stdin of `sh -s` (the ssh command line itself is
// constant). Values reach it only as single-quoted assignments made by shellQuote, the three
// files included, so nothing of ours is ever parsed as shell code and no here-document
// delimiter can collide with file content.
//
// Commands (one ssh session each, all on the host's one shared connection):
//   stage    compare the host's files with ours by sha256; when they differ, write ours to
//            <dir>/.staged/ (or, on a dry run, only report). Also asks the observer `srvr` once.
//   apply    keep the current files in <dir>/.previous/ (hard links), rename the staged files
//            into place (rename within one directory is atomic), recreate the container (a
//            bind-mounted file keeps its old inode in a running container), and wait for
//            `Mode: observer`. If it does not come, put the previous files back the same way and
//            recreate again; on a first deploy, stop the observer (never `down -v`).
//   start    files unchanged but the observer is not serving: `up -d` and wait.
//   discard  remove <dir>/.staged/ (a host whose turn never came).
// Results are lines starting with "@" on stdout; progress for the job log goes to stderr.
//
// The srvr probe uses bash's /dev/tcp: bash is on every mainstream Docker host, while nc comes
// in several incompatible flavours (OpenBSD, traditional, ncat, busybox) with different
// end-of-input and timeout flags, and is missing from many minimal images. The probe goes to the
// address the SSH session arrived on (SSH_CONNECTION): always an address of the VM itself, where
// Docker publishes the client port.
import { createHash } from 'node:crypto'
import type { ObserverFiles } from '../render/observer-files.js'
import { shellQuote } from '../ssh/quote.js'

export type RemoteCommand = 'stage' | 'apply' | 'start' | 'discard'

export const REMOTE_SCRIPT = String.raw`
umask 022
FILES='zoo.cfg myid docker-compose.yaml'

emit() { printf '@%s\n' "$*"; }
say() { printf '%s\n' "$*" >&2; }
die() { emit "error $*"; exit 1; }

want_hash() {
  case $1 in
    zoo.cfg) printf '%s\n' "$H_ZOO_CFG" ;;
    myid) printf '%s\n' "$H_MYID" ;;
    docker-compose.yaml) printf '%s\n' "$H_COMPOSE" ;;
  esac
}
content() {
  case $1 in
    zoo.cfg) printf '%s' "$C_ZOO_CFG" ;;
    myid) printf '%s' "$C_MYID" ;;
    docker-compose.yaml) printf '%s' "$C_COMPOSE" ;;
  esac
}
hash_of() {
  if [ -f "$1" ]; then sha256sum < "$1" | cut -c1-64; else echo missing; fi
}
link_or_copy() {
  ln -f -- "$1" "$2" 2>/dev/null || cp -p -- "$1" "$2"
}
need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is not installed on this VM: $2"
}

probe_address() {
  set -- $SSH_CONNECTION
  if [ -n "$3" ]; then printf '%s\n' "$3"; else echo 127.0.0.1; fi
}
probe() {
  timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/$2" && printf srvr >&3 && cat <&3' zk-probe "$PROBE" "$PORT" 2>/dev/null
}
is_observer() {
  case $1 in *'Mode: observer'*) case $1 in *'Zxid: 0x'*) return 0 ;; esac ;; esac
  return 1
}
describe() {
  case $1 in
    '') echo 'no answer on the client port' ;;
    *'not currently serving'*) echo 'running, not serving (not in sync with a leader)' ;;
    *'Mode: '*) printf '%s\n' "$1" | grep '^Mode: ' ;;
    *) echo 'unexpected answer to srvr' ;;
  esac
}
report_srvr() {
  emit probe
  printf '%s\n' "$1" | while IFS= read -r line; do
    [ -n "$line" ] && printf '@srvr %s\n' "$line"
  done
}
wait_observer() {
  start=$(date +%s)
  last=''
  note=0
  while :; do
    answer=$(probe)
    elapsed=$(($(date +%s) - start))
    if is_observer "$answer"; then
      report_srvr "$answer"
      say "observer on $PROBE:$PORT: Mode: observer after $elapsed s"
      return 0
    fi
    state=$(describe "$answer")
    if [ "$state" != "$last" ] || [ "$elapsed" -ge "$note" ]; then
      say "waiting for the observer on $PROBE:$PORT: $state ($elapsed s of $JOIN_SECONDS s)"
      last=$state
      note=$((elapsed + 10))
    fi
    if [ "$elapsed" -ge "$JOIN_SECONDS" ]; then
      report_srvr "$answer"
      emit "last-state $state"
      return 1
    fi
    sleep 0.25 2>/dev/null || sleep 1
  done
}

find_compose() {
  if docker compose version >/dev/null 2>&1; then
    COMPOSE='docker compose'
  elif command -v docker-compose >/dev/null 2>&1; then
    COMPOSE='docker-compose'
  else
    die 'neither "docker compose" (v2) nor "docker-compose" (v1) is installed on this VM: install the Docker Compose plugin'
  fi
  emit "compose $COMPOSE"
}
compose() {
  $COMPOSE "$@" </dev/null 1>&2
}
up_and_wait() {
  say "starting the observer: $COMPOSE up -d $*"
  if ! compose up -d "$@"; then
    emit compose-failed
    return 1
  fi
  emit restarted
  wait_observer
}

restore() {
  for f in "$@"; do
    if [ "$PREVIOUS" = yes ]; then
      link_or_copy ".previous/$f" ".$f.restore" && mv -f ".$f.restore" "$f" || return 1
    else
      rm -f -- "$f" || return 1
    fi
  done
}
roll_back() {
  emit not-verified
  { rm -rf .failed && mkdir .failed && for f in $FILES; do link_or_copy "$f" ".failed/$f"; done; } 2>/dev/null
  if [ "$PREVIOUS" = yes ]; then
    restore $FILES || die "rollback failed: could not restore the previous files from $DIR/.previous; copy them back by hand and run $COMPOSE up -d --force-recreate in $DIR"
    emit rolled-back
    say "restored the previous files from $DIR/.previous (the failed ones are in $DIR/.failed)"
    if up_and_wait --force-recreate; then emit rollback-verified; else emit rollback-not-verified; fi
  else
    say "no previous set of files to roll back to (first deploy): stopping the observer ($COMPOSE down, volumes kept)"
    compose down && emit stopped
    restore $FILES && emit removed
    say "the files that failed are kept in $DIR/.failed"
  fi
}

cmd_stage() {
  need sha256sum 'install coreutils'
  need timeout 'install coreutils'
  changed=0
  for f in $FILES; do
    have=$(hash_of "$DIR/$f")
    if [ "$have" = "$(want_hash "$f")" ]; then
      state=same
    elif [ "$have" = missing ]; then
      state=new
      changed=$((changed + 1))
    else
      state=changed
      changed=$((changed + 1))
    fi
    emit "file $f $state"
  done
  if command -v bash >/dev/null 2>&1; then report_srvr "$(probe)"; fi
  if [ "$changed" -eq 0 ]; then
    [ -d "$DIR/.staged" ] && rm -rf -- "$DIR/.staged"
    emit unchanged
    return 0
  fi
  if [ "$DRY_RUN" = yes ]; then
    emit would-change
    return 0
  fi
  err=$(mkdir -p -- "$DIR" 2>&1) || die "cannot create $DIR as user $(id -un): $err; create it on the VM, writable by that user"
  err=$( { rm -rf -- "$DIR/.staged" && mkdir -- "$DIR/.staged"; } 2>&1) ||
    die "cannot write in $DIR as user $(id -un): $err; nothing was changed"
  for f in $FILES; do
    if ! err=$(content "$f" 2>&1 >"$DIR/.staged/$f") || [ "$(hash_of "$DIR/.staged/$f")" != "$(want_hash "$f")" ]; then
      rm -rf -- "$DIR/.staged"
      die "could not write $DIR/.staged/$f: $err (disk full?); nothing was changed"
    fi
  done
  emit staged
}

cmd_apply() {
  cd -- "$DIR" 2>/dev/null || die "cannot enter $DIR"
  for f in $FILES; do
    [ "$(hash_of ".staged/$f")" = "$(want_hash "$f")" ] ||
      die "the staged $f in $DIR/.staged is missing or was altered since the upload; nothing was changed: run the deploy again"
  done
  need bash 'it is needed to ask ZooKeeper for srvr on the client port'
  find_compose
  # Whatever is there is kept; only a complete set is a generation to roll back to.
  PREVIOUS=no
  [ -f zoo.cfg ] && [ -f myid ] && [ -f docker-compose.yaml ] && PREVIOUS=yes
  if [ -f zoo.cfg ] || [ -f myid ] || [ -f docker-compose.yaml ]; then
    err=$( {
      rm -rf .previous.new && mkdir .previous.new &&
        for f in $FILES; do [ ! -f "$f" ] || link_or_copy "$f" ".previous.new/$f" || exit 1; done &&
        rm -rf .previous && mv .previous.new .previous
    } 2>&1) || die "cannot keep the previous files in $DIR/.previous: $err; nothing was changed"
  fi
  moved=''
  for f in $FILES; do
    if err=$(mv -f ".staged/$f" "$f" 2>&1); then
      moved="$moved $f"
    else
      restore $moved
      die "cannot replace $f in $DIR: $err; the previous files are back in place"
    fi
  done
  rmdir .staged 2>/dev/null
  emit replaced
  if [ "$PREVIOUS" = yes ]; then
    say "new files in place in $DIR (the previous ones are kept in $DIR/.previous)"
  else
    say "files in place in $DIR (first deploy)"
  fi
  if up_and_wait --force-recreate; then
    emit verified
  else
    roll_back
  fi
}

cmd_start() {
  cd -- "$DIR" 2>/dev/null || die "cannot enter $DIR"
  need bash 'it is needed to ask ZooKeeper for srvr on the client port'
  find_compose
  if up_and_wait; then emit verified; else emit not-verified; fi
}

cmd_discard() {
  rm -rf -- "$DIR/.staged" && emit discarded
}

main() {
  PROBE=$(probe_address)
  case $1 in
    stage | apply | start | discard) "cmd_$1" ;;
    *) die "unknown command $1" ;;
  esac
  emit done
}
`

export interface RemoteInputs {
  directory: string
  clientPort: number
  joinTimeoutMs: number
  dryRun: boolean
  files: ObserverFiles
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex')

/** The whole stdin of `sh -s` for one command: the script, the values, the call. */
export function remoteProgram(command: RemoteCommand, inputs: RemoteInputs): string {
  const { files } = inputs
  const values: Record<string, string> = {
    DIR: inputs.directory,
    PORT: String(inputs.clientPort),
    JOIN_SECONDS: String(Math.max(1, Math.ceil(inputs.joinTimeoutMs / 1000))),
    DRY_RUN: inputs.dryRun ? 'yes' : 'no',
    H_ZOO_CFG: sha256(files['zoo.cfg']),
    H_MYID: sha256(files.myid),
    H_COMPOSE: sha256(files['docker-compose.yaml']),
    // Only the upload carries the files themselves.
    C_ZOO_CFG: command === 'stage' ? files['zoo.cfg'] : '',
    C_MYID: command === 'stage' ? files.myid : '',
    C_COMPOSE: command === 'stage' ? files['docker-compose.yaml'] : ''
  }
  const assignments = Object.entries(values).map(([name, value]) => `${name}=${shellQuote(value)}`)
  // main reads nothing from stdin, which is the rest of this program.
  return `${REMOTE_SCRIPT}\n${assignments.join('\n')}\nmain ${shellQuote(command)} </dev/null\n`
}

export type FileState = 'same' | 'changed' | 'new'

export interface RemoteReport {
  /** Event words in order (staged, unchanged, replaced, restarted, verified, ...). */
  events: string[]
  files: Partial<Record<keyof ObserverFiles, FileState>>
  /** The last srvr answer the script saw ('' when nothing answered). */
  srvr?: string
  /** The compose command used on the host. */
  compose?: string
  /** What the observer looked like each time a wait gave up (the deploy's, then the rollback's). */
  waitStates: string[]
  error?: string
  /** The script ran to its end (false: it died or the connection was cut). */
  done: boolean
}

export function parseRemoteOutput(stdout: string): RemoteReport {
  const report: RemoteReport = { events: [], files: {}, waitStates: [], done: false }
  let srvr: string[] | undefined
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('@')) continue
    const [word, ...rest] = line.slice(1).split(' ')
    const value = rest.join(' ')
    switch (word) {
      case 'file':
        report.files[rest[0] as keyof ObserverFiles] = rest[1] as FileState
        break
      case 'probe':
        srvr = []
        report.srvr = ''
        break
      case 'srvr':
        srvr?.push(value)
        report.srvr = srvr?.join('\n')
        break
      case 'compose':
        report.compose = value
        break
      case 'last-state':
        report.waitStates.push(value)
        break
      case 'error':
        report.error = value
        break
      case 'done':
        report.done = true
        break
      default:
        report.events.push(word)
    }
  }
  return report
}
