// runCommand's wall-clock limit (RunOptions.timeoutMs): what bounds a `kubectl exec` whose
// protocol upgrade never completes. Real processes (sleep, cat), nothing scripted.
import { describe, expect, it } from '@jest/globals'
import { CommandError, runCommand } from '../../workflows-lib/src/kube/command.js'
import { isTransient } from '../../workflows-lib/src/kube/transient.js'

describe('runCommand with timeoutMs', () => {
  it('stops a command that outlives it: exit 124, a stderr that says so, not a transient error', async () => {
    const started = Date.now()
    const error = await runCommand('sleep', ['30'], 'sleep 30', { timeoutMs: 300 }).then(
      () => undefined,
      (e: unknown) => e
    )
    expect(error).toBeInstanceOf(CommandError)
    expect((error as CommandError).result.exitCode).toBe(124)
    expect((error as CommandError).message).toBe('sleep 30 failed (exit 124):\nno answer within 0.3 s: stopped')
    expect(isTransient(error)).toBe(false)
    // Stopped, not waited out.
    expect(Date.now() - started).toBeLessThan(20_000)
  })

  it('passes input and output through, and real exit codes, when the command ends in time', async () => {
    await expect(runCommand('cat', [], 'cat', { timeoutMs: 10_000, input: 'a\nb\n' })).resolves.toEqual({ exitCode: 0, stdout: 'a\nb\n', stderr: '' })
    const failed = await runCommand('sh', ['-c', 'echo why >&2; exit 3'], 'sh', { timeoutMs: 10_000 }).catch((e: CommandError) => e)
    expect((failed as CommandError).result).toEqual({ exitCode: 3, stdout: '', stderr: 'why\n' })
    await expect(runCommand('sh', ['-c', 'exit 1'], 'sh', { timeoutMs: 10_000, allowExitCodes: [1] })).resolves.toMatchObject({ exitCode: 1 })
  })
})
