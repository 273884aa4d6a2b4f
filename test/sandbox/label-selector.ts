// Which pods a selector picks: the kubectl syntax for process mode, label maps for Services.
export type LabelSelector = string | Record<string, string>

/** A matcher for kubectl-style selectors: `a=b,c!=d,e,!f,g in (h,i),j notin (k)` or a label map. */
export function labelMatcher(selector: LabelSelector): (labels: Record<string, string> | undefined) => boolean {
  if (typeof selector !== 'string') {
    const entries = Object.entries(selector)
    return labels => entries.every(([k, v]) => labels?.[k] === v)
  }
  const tests: ((labels: Record<string, string>) => boolean)[] = []
  const re = /\s*(!?)([\w./-]+)\s*(?:(==|=|!=)\s*([\w.-]*)|\s+(in|notin)\s*\(([^)]*)\))?\s*(?:,|$)/y
  let m: RegExpExecArray | null
  while (re.lastIndex < selector.length && (m = re.exec(selector))) {
    const [, not, key, op, value, setOp, set] = m
    if (not) tests.push(l => !(key in l))
    else if (op === '!=') tests.push(l => l[key] !== value)
    else if (op) tests.push(l => l[key] === value)
    else if (setOp) {
      const values = set.split(',').map(s => s.trim())
      tests.push(setOp === 'in' ? l => values.includes(l[key]) : l => !values.includes(l[key]))
    } else tests.push(l => key in l)
  }
  if (re.lastIndex !== selector.length && selector.trim() !== '') {
    throw new Error(`label selector "${selector}" is not understood near position ${re.lastIndex}`)
  }
  return labels => tests.every(t => t(labels ?? {}))
}
