// The one way the library prints. Inside Actions it goes through @actions/core; in a terminal
// (the CLI) it writes plain lines, and debug lines only with --verbose: "::debug::" is a
// workflow command, noise outside a runner. Every line is made inert first (printable.ts).
import * as core from '@actions/core'
import { inert } from './printable.js'

export interface LogSink {
  info(text: string): void
  debug(text: string): void
  warning(text: string): void
}

const actionsSink: LogSink = {
  info: text => core.info(inert(text)),
  // core.debug and core.warning escape newlines themselves (%0A); inert covers the rest.
  debug: text => core.debug(inert(text)),
  warning: text => core.warning(inert(text))
}

function terminalSink(write: (text: string) => void, verbose: boolean): LogSink {
  return {
    info: text => write(`${inert(text)}\n`),
    debug: text => {
      if (verbose) write(`debug: ${inert(text)}\n`)
    },
    warning: text => write(`warning: ${inert(text)}\n`)
  }
}

// Outside a runner (a terminal, a test process) workflow commands are noise.
let sink: LogSink = process.env.GITHUB_ACTIONS === 'true' ? actionsSink : terminalSink(text => process.stdout.write(text), false)

/** For a terminal: plain lines to `write`; debug lines only when verbose. */
export function useTerminalLog(write: (text: string) => void, opts: { verbose: boolean }): void {
  sink = terminalSink(write, opts.verbose)
}

export function useActionsLog(): void {
  sink = actionsSink
}

export const info = (text: string): void => sink.info(text)
export const debug = (text: string): void => sink.debug(text)
export const warning = (text: string): void => sink.warning(text)
