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
//            recreate again; without a complete previous set (a first deploy, or only some of
//            the files were there), stop the observer (never `down -v`) and put each file back
//            as it was: its previous version where it had one, no file where it had none.
//   start    files unchanged but the observer is not serving: `up -d` and wait.
//   discard  remove <dir>/.staged/ (a host whose turn never came).
//   inspect  read-only (drift detection): each file's state against ours by sha256, the content
//            of each file that differs (base64, at most 64 KiB), and srvr once. Writes nothing.
// Results are lines starting with "@" on stdout; progress for the job log goes to stderr. What
// either claims is checked first: a file put back is compared by sha256 with the one that was
// there when apply started, and a step that failed is reported as such, with what to do by hand.
//
// The srvr probe uses bash's /dev/tcp: bash is on every mainstream Docker host, while nc comes
// in several incompatible flavours (OpenBSD, traditional, ncat, busybox) with different
// end-of-input and timeout flags, and is missing from many minimal images. The probe goes to the
// address the SSH session arrived on (SSH_CONNECTION): always an address of the VM itself, where
// Docker publishes the client port.
import { createHash } from 'node:crypto'
import { OBSERVER_FILE_NAMES, type ObserverFiles } from '../render/observer-files.js'
import { shellQuote } from '../ssh/quote.js'

export type RemoteCommand = 'stage' | 'apply' | 'start' | 'discard' | 'inspect'

// Per-file values are numbered in the order of OBSERVER_FILE_NAMES, the one list of the files:
// H_<i> the wanted sha256, C_<i> the content (stage only), WAS_<i> the hash apply started from.
const perFile = (fn: string, prefix: string, format: string): string =>
  [`${fn}() {`, '  case $1 in', ...OBSERVER_FILE_NAMES.map((name, i) => `    ${name}) printf '${format}' "$${prefix}_${i}" ;;`), '  esac', '}'].join(
    '\n'
  )

export const REMOTE_SCRIPT = String.raw`
umask 022
FILES=${shellQuote(OBSERVER_FILE_NAMES.join(' '))}

emit() { printf '@%s\n' "$*"; }
say() { printf '%s\n' "$*" >&2; }
die() { emit "error $*"; exit 1; }
oneline() { printf '%s' "$*" | tr '\n' ' '; }

${perFile('want_hash', 'H', '%s\\n')}
${perFile('content', 'C', '%s')}
hash_of() {
  if [ -f "$1" ]; then sha256sum < "$1" | cut -c1-64; else echo missing; fi
}
# The host's file against ours: same, new (not on the host) or changed.
file_state() {
  have=$(hash_of "$DIR/$1")
  if [ "$have" = "$(want_hash "$1")" ]; then
    echo same
  elif [ "$have" = missing ]; then
    echo new
  else
    echo changed
  fi
}
# The sha256 each file had when apply started ("missing": there was no such file), set by cmd_apply.
${perFile('was_hash', 'WAS', '%s\\n')}
# existed yes: the files there when apply started, as "a, b" ('' on a first deploy); no: the others.
existed() {
  list=''
  for name in $FILES; do
    if [ "$(was_hash "$name")" = missing ]; then has=no; else has=yes; fi
    [ "$has" = "$1" ] || continue
    if [ -n "$list" ]; then list="$list, $name"; else list=$name; fi
  done
  printf '%s\n' "$list"
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

# Puts one file back as it was when apply started: its copy in .previous/ where it had one, no
# file where it had none; succeeds only when the result is checked to be so.
restore_file() {
  was=$(was_hash "$1")
  if [ "$was" = missing ]; then
    rm -f -- "$1" && [ ! -e "$1" ] && [ ! -L "$1" ]
    return
  fi
  if link_or_copy ".previous/$1" ".$1.restore" && mv -f ".$1.restore" "$1"; then
    [ "$(hash_of "$1")" = "$was" ] && return 0
    echo "its content after the copy differs from the previous version"
  fi
  rm -f -- ".$1.restore"
  return 1
}
# restore FILE...: every one is tried; false when any was not put back. NOT_RESTORED then names
# each with what to do by hand and why it failed.
restore() {
  NOT_RESTORED=''
  for name in "$@"; do
    why=$(restore_file "$name" 2>&1) && continue
    if [ "$(was_hash "$name")" = missing ]; then
      entry="$name (remove it: it did not exist before"
    else
      entry="$name (copy it back from $DIR/.previous/$name"
    fi
    if [ -n "$why" ]; then entry="$entry; $(oneline "$why"))"; else entry="$entry)"; fi
    if [ -n "$NOT_RESTORED" ]; then NOT_RESTORED="$NOT_RESTORED, $entry"; else NOT_RESTORED=$entry; fi
  done
  [ -z "$NOT_RESTORED" ]
}
keep_failed() {
  rm -rf .failed && mkdir .failed || return 1
  for name in $FILES; do
    link_or_copy "$name" ".failed/$name" && [ "$(hash_of ".failed/$name")" = "$(want_hash "$name")" ] || return 1
  done
}
roll_back() {
  emit not-verified
  if why=$(keep_failed 2>&1); then
    emit failed-kept
    kept=" (the failed ones are kept in $DIR/.failed)"
  else
    kept=''
    say "could not keep a copy of the failed files in $DIR/.failed: $(oneline "$why")"
  fi
  if [ "$PREVIOUS" = yes ]; then
    if ! restore $FILES; then
      emit restore-failed
      die "rollback failed: not all of the previous files could be put back: $NOT_RESTORED; put them back by hand as listed and run $COMPOSE up -d --force-recreate in $DIR"
    fi
    emit rolled-back
    say "restored the previous files from $DIR/.previous, checked by their sha256$kept"
    if up_and_wait --force-recreate; then emit rollback-verified; else emit rollback-not-verified; fi
    return
  fi
  before=$(existed yes)
  if [ -n "$before" ]; then
    emit partial-previous
    what="only $before existed before, not a complete set"
  else
    what='first deploy'
  fi
  say "no complete previous set of files to roll back to ($what): stopping the observer ($COMPOSE down, volumes kept)"
  if ! compose down; then
    die "the observer did not come up as an observer and $COMPOSE down failed too (its output is in the log), so it may still be running: the new files are left in place in $DIR; run $COMPOSE down there by hand, then remove them$([ -z "$before" ] || echo " and copy back $before from $DIR/.previous")"
  fi
  emit stopped
  if ! restore $FILES; then
    emit restore-failed
    die "the observer was stopped, but putting the files back as they were before this deploy failed: $NOT_RESTORED; put them back by hand as listed, or the next deploy will take the new ones for current"
  fi
  emit removed
  if [ -n "$before" ]; then
    say "put back $before from $DIR/.previous and removed $(existed no), checked by their sha256$kept"
  else
    say "removed the new files$kept"
  fi
}

cmd_stage() {
  need sha256sum 'install coreutils'
  need timeout 'install coreutils'
  changed=0
  for f in $FILES; do
    state=$(file_state "$f")
    [ "$state" = same ] || changed=$((changed + 1))
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
  for f in $FILES; do
    # mv onto a directory would move the file into it.
    if { [ -e "$f" ] || [ -L "$f" ]; } && [ ! -f "$f" ]; then
      die "$DIR/$f is not a regular file; nothing was changed: remove it or move it away, then run the deploy again"
    fi
  done
  need bash 'it is needed to ask ZooKeeper for srvr on the client port'
  find_compose
  # Whatever is there is kept, and put back file by file if need be; only a complete set is a
  # generation to roll back to and restart on.
${OBSERVER_FILE_NAMES.map((name, i) => `  WAS_${i}=$(hash_of ${name})`).join('\n')}
  PREVIOUS=no
  [ -z "$(existed no)" ] && PREVIOUS=yes
  if [ -n "$(existed yes)" ]; then
    err=$( {
      rm -rf .previous.new && mkdir .previous.new || exit 1
      for f in $FILES; do
        [ "$(was_hash "$f")" != missing ] || continue
        link_or_copy "$f" ".previous.new/$f" || exit 1
        [ "$(hash_of ".previous.new/$f")" = "$(was_hash "$f")" ] || { echo "the copy of $f differs from it"; exit 1; }
      done
      rm -rf .previous && mv .previous.new .previous
    } 2>&1) || die "cannot keep the previous files in $DIR/.previous: $(oneline "$err"); the files in $DIR were not changed"
  fi
  moved=''
  for f in $FILES; do
    if ! err=$(mv -f ".staged/$f" "$f" 2>&1); then
      err=$(oneline "$err")
      if restore $moved; then
        die "cannot replace $f in $DIR: $err; nothing was changed: the files moved in before it are back as they were (checked by their sha256), and the observer was not restarted"
      fi
      emit restore-failed
      die "cannot replace $f in $DIR: $err; putting back the files moved in before it failed too: $NOT_RESTORED. The observer was not restarted: put those files back by hand as listed, then run the deploy again"
    fi
    moved="$moved $f"
  done
  rmdir .staged 2>/dev/null
  emit replaced
  if [ "$PREVIOUS" = yes ]; then
    say "new files in place in $DIR (the previous ones are kept in $DIR/.previous)"
  elif [ -n "$(existed yes)" ]; then
    say "files in place in $DIR (before, only $(existed yes) existed: kept in $DIR/.previous)"
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
  err=$(rm -rf -- "$DIR/.staged" 2>&1) && [ ! -e "$DIR/.staged" ] || die "could not remove $DIR/.staged: $(oneline "$err")"
  emit discarded
}

cmd_inspect() {
  need sha256sum 'install coreutils'
  need timeout 'install coreutils'
  need base64 'install coreutils'
  for f in $FILES; do
    state=$(file_state "$f")
    emit "file $f $state"
    [ "$state" = changed ] && emit "content $f $(head -c 65536 -- "$DIR/$f" | base64 | tr -d '\n')"
  done
  if command -v bash >/dev/null 2>&1; then report_srvr "$(probe)"; fi
}

main() {
  PROBE=$(probe_address)
  case $1 in
    stage | apply | start | discard | inspect) "cmd_$1" ;;
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
    ...Object.fromEntries(OBSERVER_FILE_NAMES.map((name, i) => [`H_${i}`, sha256(files[name])])),
    // Only the upload carries the files themselves.
    ...Object.fromEntries(OBSERVER_FILE_NAMES.map((name, i) => [`C_${i}`, command === 'stage' ? files[name] : '']))
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
  /** inspect: the host's content of each file that differs from ours. */
  contents: Partial<Record<keyof ObserverFiles, string>>
  /** What the observer looked like each time a wait gave up (the deploy's, then the rollback's). */
  waitStates: string[]
  error?: string
  /** The script ran to its end (false: it died or the connection was cut). */
  done: boolean
}

export function parseRemoteOutput(stdout: string): RemoteReport {
  const report: RemoteReport = { events: [], files: {}, contents: {}, waitStates: [], done: false }
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
      case 'content':
        report.contents[rest[0] as keyof ObserverFiles] = Buffer.from(rest[1] ?? '', 'base64').toString('utf8')
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
