// Path globs for the `shared` input, with the meaning GitHub gives `paths:` filters: anchored at
// the repository root, `*` and `?` stay inside one path segment, `**` spans segments, and a
// pattern starting with "!" excludes what earlier patterns matched (the last match wins).
// Our own matcher rather than path.matchesGlob, which is experimental in Node 20: it walks
// segments with a table, so no pattern can make it backtrack exponentially.

/** A compiled list of patterns; `match` returns the pattern that decided, or undefined. */
export interface GlobList {
  patterns: string[]
  match(path: string): string | undefined
}

const segments = (value: string): string[] => value.split('/').filter(s => s !== '')

/** "./a/", "/a" and "a/" all mean the directory a: a trailing slash is everything below it. */
function normalizePattern(pattern: string): string[] {
  let p = pattern.trim()
  if (p.startsWith('./')) p = p.slice(2)
  const parts = segments(p)
  if (p.endsWith('/') && parts.length > 0) parts.push('**')
  return parts
}

/** `*` (any run of characters) and `?` (one character) within one segment; the rest is literal. */
export function matchSegment(pattern: string, text: string): boolean {
  let p = 0
  let t = 0
  let star = -1
  let resume = 0
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === '?' || (pattern[p] !== '*' && pattern[p] === text[t]))) {
      p++
      t++
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++
      resume = t
    } else if (star >= 0) {
      p = star + 1
      t = ++resume
    } else {
      return false
    }
  }
  while (pattern[p] === '*') p++
  return p === pattern.length
}

/** Whether `path` (repository-relative, "/"-separated) matches one glob. */
export function matchesGlob(pattern: string, path: string): boolean {
  const pat = normalizePattern(pattern)
  const parts = segments(path)
  if (pat.length === 0) return false
  // can[i][j]: pattern segments i.. match path segments j..
  const can: boolean[][] = Array.from({ length: pat.length + 1 }, () => new Array<boolean>(parts.length + 1).fill(false))
  can[pat.length][parts.length] = true
  for (let i = pat.length - 1; i >= 0; i--) {
    for (let j = parts.length; j >= 0; j--) {
      if (pat[i] === '**') can[i][j] = can[i + 1][j] || (j < parts.length && can[i][j + 1])
      else can[i][j] = j < parts.length && matchSegment(pat[i], parts[j]) && can[i + 1][j + 1]
    }
  }
  return can[0][0]
}

export function globList(patterns: string[]): GlobList {
  const list = patterns.map(p => p.trim()).filter(p => p !== '' && p !== '!')
  return {
    patterns: list,
    match(path) {
      let decided: string | undefined
      for (const p of list) {
        if (p.startsWith('!')) {
          if (decided !== undefined && matchesGlob(p.slice(1), path)) decided = undefined
        } else if (matchesGlob(p, path)) {
          decided = p
        }
      }
      return decided
    }
  }
}
