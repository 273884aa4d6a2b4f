// POSIX sh quoting. Every value that reaches a remote shell goes through shellQuote, even values
// validation already restricted: quoting is the guarantee, validation the early, readable error.

/**
 * Quotes a string as one POSIX sh word: wrapped in single quotes, inside which nothing is
 * special, and each embedded single quote written as '\'' (close, escaped quote, reopen).
 */
export function shellQuote(value: string): string {
  // A shell string cannot hold NUL: refusing beats silently truncating.
  if (value.includes('\0')) throw new Error('cannot pass a value containing a NUL byte to a shell')
  return `'${value.replaceAll("'", "'\\''")}'`
}

/** Quotes each argument and joins them into one command line. */
export function shellWords(words: readonly string[]): string {
  return words.map(shellQuote).join(' ')
}
