// Asking a server pod its state from a runner outside the cluster: `kubectl exec` into the
// ZooKeeper container, where a four-letter word goes to 127.0.0.1:<clientPort> over bash's
// /dev/tcp (the official image has bash and coreutils). It needs RBAC `create` on pods/exec in
// the namespace, and nothing reachable from the runner but the API server. The word and the port
// are positional arguments, never spliced into the script.
import type { Environment } from '../environment/types.js'
import { CommandError } from '../kube/command.js'
import type { Kubectl } from '../kube/kubectl.js'
import type { FourLetterWord } from '../zookeeper/four-letter.js'

/** Sends a four-letter word to one server pod and returns its answer. */
export type PodQuery = (pod: string, word: FourLetterWord) => Promise<string>

const SCRIPT = 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf %s "$2" >&3 && timeout 5 cat <&3'

// The script itself gives up after 5 s; the rest is kubectl and the API server's exec stream.
const EXEC_TIMEOUT_MS = 30_000

export interface ExecQueryOptions {
  namespace: string
  /** Undefined: the pod's default container (its kubectl.kubernetes.io/default-container, else the first). */
  container?: string
  clientPort?: number
}

export function execPodQuery(kubectl: Kubectl, opts: ExecQueryOptions): PodQuery {
  return async (pod, word) => {
    const { stdout } = await kubectl
      .run(
        [
          'exec',
          pod,
          '-n',
          opts.namespace,
          ...(opts.container ? ['-c', opts.container] : []),
          '--',
          'bash',
          '-c',
          SCRIPT,
          'zk-rollout',
          String(opts.clientPort ?? 2181),
          word
        ],
        { timeoutMs: EXEC_TIMEOUT_MS }
      )
      .catch((e: unknown) => {
        // The whole command line says nothing new here: what the container or kubectl said does.
        if (!(e instanceof CommandError)) throw e
        const said = (e.result.stderr.trim() || e.result.stdout.trim()).split('\n').at(-1) || `exit ${e.result.exitCode}`
        throw new Error(`'${word}' through kubectl exec into ${pod} failed: ${said}`, { cause: e })
      })
    if (stdout.trim() === '')
      throw new Error(`'${word}' through kubectl exec into ${pod}: no answer (is ZooKeeper listening on 127.0.0.1:${opts.clientPort ?? 2181}?)`)
    return stdout
  }
}

/** The query into an environment's server pods: the bundled chart's `zookeeper` container, another chart's default one. */
export function serverPodQuery(kubectl: Kubectl, env: Environment): PodQuery {
  return execPodQuery(kubectl, { namespace: env.kubernetes.namespace, ...(env.chart.source.kind === 'bundled' ? { container: 'zookeeper' } : {}) })
}
