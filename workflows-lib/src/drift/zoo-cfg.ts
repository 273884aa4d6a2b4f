// Reading an observer's live zoo.cfg for drift: which address it lists for each server, and the
// lines that differ from the one we would render. Order and blank lines in zoo.cfg carry no
// meaning, so lines are compared as sets, comments ignored.

/** server.<id> -> the host it lists (IPv6 without brackets); the observer's own line included. */
export function serverHosts(zooCfg: string): Map<number, string> {
  const out = new Map<number, string>()
  for (const line of zooCfg.split('\n')) {
    const m = /^\s*server\.(\d+)\s*=\s*(\S+)\s*$/.exec(line)
    if (!m) continue
    const value = m[2].split(';')[0]
    const host = value.startsWith('[') ? value.slice(1, value.indexOf(']')) : value.split(':')[0]
    out.set(Number(m[1]), host)
  }
  return out
}

const meaningful = (text: string): string[] =>
  text
    .split('\n')
    .map(l => l.trimEnd())
    .filter(l => l.trim() !== '' && !l.trimStart().startsWith('#'))

/**
 * A line found on the host is shown by its key only: a hand edit is where people put passwords
 * (a superDigest, JVMFLAGS, registry credentials), and the report goes into the job log and an
 * issue. Git's lines are shown whole: they are in the repository already.
 */
export function redactHostLine(line: string): string {
  const m = /^(\s*-?\s*[^=:\s]+\s*[=:])/.exec(line)
  return m ? `${m[1]} (value on the host not shown)` : '(a line on the host, not shown)'
}

/** Lines ours has that the host's lacks ("- "), and lines the host's has that ours lacks ("+ ", redacted). */
export function differingLines(expected: string, live: string): string[] {
  const want = meaningful(expected)
  const have = meaningful(live)
  const haveSet = new Set(have)
  const wantSet = new Set(want)
  return [...want.filter(l => !haveSet.has(l)).map(l => `- ${l}`), ...have.filter(l => !wantSet.has(l)).map(l => `+ ${redactHostLine(l)}`)]
}
