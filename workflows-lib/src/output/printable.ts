// Output is an attack surface. The Actions runner reads every stdout line whose trimmed start is
// "::" as a workflow command (and "##[" anywhere in a line, the legacy form), so no value from a
// user may start a line or bring a newline into one. These are the two escapes everything uses.

/** Where a value is shown inside a message: JSON-quoted (control characters escaped), and cut. */
export function quoted(value: unknown, max = 120): string {
  const text = typeof value === 'string' ? value : String(value)
  const cut = text.length > max ? `${text.slice(0, max)}…` : text
  // JSON escapes control characters; oneLine also the separators JSON leaves (U+2028, U+0085).
  return `${oneLine(JSON.stringify(cut))}${text.length > max ? ` (${text.length} characters)` : ''}`
}

/** Text for one rendered line (a comment, a header): control characters shown as escapes. */
export function oneLine(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u001f\u007f\u0085\u2028\u2029]/g, c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

const LINE_BREAK = /\r\n|\r|\n/

/**
 * Text about to be printed, made inert: a line that would be a workflow command gets a space
 * between its colons, and "##[" becomes "# #[". Everything else is left as it is.
 */
export function inert(text: string): string {
  if (!text.includes('::') && !text.includes('##[')) return text
  return text
    .split(/(\r\n|\r|\n)/)
    .map(part => (LINE_BREAK.test(part) ? part : part.replace(/^(\s*):(?=:)/, '$1: ').replaceAll('##[', '# #[')))
    .join('')
}

/**
 * A value for a java.util.Properties file such as zoo.cfg: a backslash would escape or continue
 * the line (swallowing the next key), a line break would start a new key. Both are escaped the
 * way Properties reads them back, so a value can never become a second line.
 */
export function propertyValue(value: string): string {
  return oneLine(value.replaceAll('\\', '\\\\'))
}
