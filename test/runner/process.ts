// Runs a step's process: stdout and stderr are read line by line as they arrive (every line of
// either goes through the workflow-command processor first, as on the runner), and a timeout
// kills the whole process group. As actions/runner's ProcessInvoker does, when the step's process
// has exited but something it started still holds stdout/stderr open, the runner waits 5s and
// then kills that process tree. Processes that let go of the output (`server >log 2>&1 &`) live
// on until the job ends: then, like the runner's "Cleaning up orphan processes", every process
// whose environment carries the job's RUNNER_TRACKING_ID is killed.
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

export interface ProcessResult {
  exitCode: number
  timedOut: boolean
  signal?: string
}

export interface ProcessOptions {
  cwd: string
  env: Record<string, string>
  timeoutMs?: number
  onLine: (stream: 'stdout' | 'stderr', line: string) => void
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    // already gone
  }
}

function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

/** Kills every process whose environment has RUNNER_TRACKING_ID=<trackingId> (Linux /proc), and waits (up to 5s) until they are dead. */
export async function killOrphans(trackingId: string): Promise<number> {
  const marker = Buffer.from(`RUNNER_TRACKING_ID=${trackingId}\0`)
  const killed: number[] = []
  let entries: string[]
  try {
    entries = readdirSync('/proc')
  } catch {
    return 0
  }
  for (const entry of entries) {
    const pid = Number(entry)
    if (!/^\d+$/.test(entry) || pid === process.pid) continue
    try {
      if (!readFileSync(`/proc/${entry}/environ`).includes(marker)) continue
      process.kill(pid, 'SIGKILL')
      killed.push(pid)
    } catch {
      // gone, or not ours to read
    }
  }
  const deadline = Date.now() + 5000
  while (killed.some(running) && Date.now() < deadline) await new Promise(r => setTimeout(r, 20))
  return killed.length
}

export function runProcess(command: string, args: string[], opts: ProcessOptions): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    const partial = { stdout: '', stderr: '' }
    let timedOut = false
    let timer: NodeJS.Timeout | undefined
    const feed = (stream: 'stdout' | 'stderr', chunk: string): void => {
      const text = partial[stream] + chunk
      const lines = text.split('\n')
      partial[stream] = lines.pop() ?? ''
      for (const line of lines) opts.onLine(stream, line.endsWith('\r') ? line.slice(0, -1) : line)
    }
    child.stdout.setEncoding('utf8')
    child.stderr.setEncoding('utf8')
    child.stdout.on('data', (c: string) => feed('stdout', c))
    child.stderr.on('data', (c: string) => feed('stderr', c))
    child.on('error', e => {
      if (timer) clearTimeout(timer)
      reject(e)
    })
    if (opts.timeoutMs !== undefined && opts.timeoutMs > 0) {
      timer = setTimeout(() => {
        timedOut = true
        if (child.pid) killGroup(child.pid)
      }, opts.timeoutMs)
    }
    let done = false
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (done) return
      done = true
      if (timer) clearTimeout(timer)
      for (const stream of ['stdout', 'stderr'] as const) if (partial[stream]) opts.onLine(stream, partial[stream])
      resolve({ exitCode: code ?? (signal ? 128 : 1), timedOut, signal: signal ?? undefined })
    }
    child.on('exit', (code, signal) => {
      const drain = setTimeout(() => {
        if (child.pid) killGroup(child.pid)
        child.stdout.destroy()
        child.stderr.destroy()
        finish(code, signal)
      }, 5000)
      child.on('close', () => {
        clearTimeout(drain)
        finish(code, signal)
      })
    })
  })
}
