/** The answer to `mntr`: one `key<TAB>value` per line (numbers stay text; callers pick what they read). */
export function parseMntr(text: string): Map<string, string> {
  const fields = new Map<string, string>()
  for (const line of text.split('\n')) {
    const tab = line.indexOf('\t')
    if (tab > 0) fields.set(line.slice(0, tab).trim(), line.slice(tab + 1).trim())
  }
  if (!fields.has('zk_version') && !fields.has('zk_server_state'))
    throw new Error(`Not a ZooKeeper mntr answer (no zk_version line): ${JSON.stringify(text.slice(0, 200))}`)
  return fields
}

/** An integer field of a mntr answer, or undefined when the server does not report it. */
export function mntrNumber(fields: Map<string, string>, key: string): number | undefined {
  const v = fields.get(key)
  return v !== undefined && /^-?\d+$/.test(v) ? Number(v) : undefined
}
