// Which helm commands are retried on a transient API error. The `helm` here is a tiny shell
// script, not the real helm: this tests our retry policy (which commands go through
// retryTransient), not helm or the API server, so a scripted binary that fails on cue is
// acceptable. It is still a real executable run through runCommand (@actions/exec), so the
// error text reaches isTransient exactly as a real helm's stderr would.
import { afterAll, beforeEach, describe, expect, it } from '@jest/globals'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { CommandError } from '../../workflows-lib/src/kube/command.js'
import { Helm, type UpgradeRequest } from '../../workflows-lib/src/kube/helm.js'
import { isTransient } from '../../workflows-lib/src/kube/transient.js'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zk-helm-retry-'))
const calls = path.join(dir, 'calls')
const helmBinary = path.join(dir, 'helm')
const transient = 'Error: the server is currently unable to handle the request'

const releaseJson = JSON.stringify({
  name: 'zk',
  namespace: 'zk',
  version: 4,
  info: { status: 'pending-upgrade' },
  chart: { metadata: { version: '1.2.3' } },
  manifest: ''
})

// Each invocation appends its subcommand to `calls`. upgrade and rollback always fail with a
// transient-looking error; `get metadata` and the server-side dry run fail that way on their
// first call only.
fs.writeFileSync(
  helmBinary,
  `#!/bin/sh
calls='${calls}'
[ "$1" = --kubeconfig ] && shift 2
case "$1 $2" in
  "version "*) echo "$1" >> "$calls"; printf 'v3.18.0'; exit 0 ;;
  "upgrade "*|"rollback "*)
    case " $* " in
      *" --dry-run=server "*)
        echo "dry-run" >> "$calls"
        if [ "$(grep -c '^dry-run$' "$calls")" -eq 1 ]; then echo '${transient}' >&2; exit 1; fi
        printf '%s' '${releaseJson}'
        exit 0 ;;
    esac
    echo "$1" >> "$calls"
    echo '${transient}' >&2
    exit 1 ;;
  "get metadata")
    echo "get metadata" >> "$calls"
    if [ "$3" = missing ]; then echo 'Error: release: not found' >&2; exit 1; fi
    if [ "$(grep -c '^get metadata$' "$calls")" -eq 1 ]; then echo '${transient}' >&2; exit 1; fi
    printf '{"name":"zk","namespace":"zk","revision":3,"status":"deployed","version":"1.2.3"}'
    exit 0 ;;
  "get manifest")
    echo "get manifest" >> "$calls"
    printf 'kind: ConfigMap\\nmetadata:\\n  name: x\\n'
    exit 0 ;;
esac
echo "unexpected helm arguments: $*" >&2
exit 2
`,
  { mode: 0o755 }
)

const helm = new Helm(helmBinary, path.join(dir, 'kubeconfig'))
const request: UpgradeRequest = {
  release: 'zk',
  namespace: 'zk',
  chart: './chart',
  chartFlags: [],
  valuesFile: path.join(dir, 'values.yaml'),
  set: {}
}

function invocations(subcommand: string): number {
  if (!fs.existsSync(calls)) return 0
  return fs
    .readFileSync(calls, 'utf8')
    .split('\n')
    .filter(line => line === subcommand).length
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a failure')
    },
    (e: unknown) => e
  )
}

beforeEach(() => fs.rmSync(calls, { force: true }))

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

describe('helm retry policy', () => {
  it('runs upgrade exactly once, even when its failure looks transient', async () => {
    const error = await failure(helm.upgrade(request))
    // The error is one retryTransient would retry: only the policy keeps it from doing so.
    expect(error).toBeInstanceOf(CommandError)
    expect(isTransient(error)).toBe(true)
    expect((error as Error).message).toContain(transient)
    expect(invocations('upgrade')).toBe(1)
  })

  it('runs rollback exactly once, even when its failure looks transient', async () => {
    const error = await failure(helm.rollback('zk', 'zk', 2))
    expect(isTransient(error)).toBe(true)
    expect(invocations('rollback')).toBe(1)
  })

  it('retries a read (get metadata) after a transient failure', async () => {
    const release = await helm.status('zk', 'zk')
    expect(release).toEqual({
      name: 'zk',
      namespace: 'zk',
      revision: 3,
      status: 'deployed',
      chartVersion: '1.2.3',
      manifest: expect.stringContaining('ConfigMap')
    })
    expect(invocations('get metadata')).toBe(2)
    expect(invocations('get manifest')).toBe(1)
  })

  it('reads a release that was never installed as undefined, without retrying', async () => {
    expect(await helm.status('missing', 'zk')).toBeUndefined()
    expect(invocations('get metadata')).toBe(1)
  })

  it('retries the server-side dry run after a transient failure', async () => {
    const release = await helm.dryRun(request)
    expect(release).toMatchObject({ name: 'zk', revision: 4, chartVersion: '1.2.3' })
    expect(invocations('dry-run')).toBe(2)
    expect(invocations('upgrade')).toBe(0)
  })
})
