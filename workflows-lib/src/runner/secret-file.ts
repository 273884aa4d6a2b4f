// Secrets that tools read from files (kubeconfig, SSH key, known_hosts) are written with mode
// 0600 into a private directory under RUNNER_TEMP, and removed when the action ends.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

export class SecretFiles {
  private readonly dir: string

  constructor(prefix = 'zk-rollout-') {
    this.dir = mkdtempSync(path.join(process.env.RUNNER_TEMP || os.tmpdir(), prefix))
  }

  write(name: string, content: string): string {
    const file = path.join(this.dir, name)
    writeFileSync(file, content.endsWith('\n') ? content : `${content}\n`, { mode: 0o600 })
    return file
  }

  /** The private directory itself (mode 0700), e.g. for an ssh ControlPath socket. */
  get directory(): string {
    return this.dir
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/** Runs `fn` with a SecretFiles that is removed afterwards, whatever happens. */
export async function withSecretFiles<T>(fn: (files: SecretFiles) => Promise<T>): Promise<T> {
  const files = new SecretFiles()
  try {
    return await fn(files)
  } finally {
    files.remove()
  }
}
