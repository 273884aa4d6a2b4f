// Where the sandbox's binaries live. test/setup/kubernetes.sh and helm-kubectl.sh build or fetch
// them into the cache outside the work tree; etcd is Debian's etcd-server (test/setup/apt.sh).
import { accessSync, constants } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'

export const KUBERNETES_VERSION = '1.20.2'

export interface SandboxTools {
  kubeApiserver: string
  kubeControllerManager: string
  etcd: string
  /** helm v3.18.0 */
  helm3: string
  /** helm v4.1.4 */
  helm4: string
  /** kubectl 1.35.2 */
  kubectl: string
  /** kubectl 1.33.0 */
  kubectl133: string
}

/** The cache directory the setup scripts fill: ZK_ROLLOUT_CACHE or ~/.cache/zk-rollout. */
export function rolloutCacheDir(): string {
  return process.env.ZK_ROLLOUT_CACHE || join(homedir(), '.cache', 'zk-rollout')
}

/** Absolute paths of the sandbox's binaries; throws naming every missing one. */
export function sandboxTools(): SandboxTools {
  const cache = rolloutCacheDir()
  const kubeBin = join(cache, `kubernetes-${KUBERNETES_VERSION}`, 'bin')
  const tools: SandboxTools = {
    kubeApiserver: join(kubeBin, 'kube-apiserver'),
    kubeControllerManager: join(kubeBin, 'kube-controller-manager'),
    etcd: '/usr/bin/etcd',
    helm3: join(cache, 'tools', 'helm-v3.18.0', 'helm'),
    helm4: join(cache, 'tools', 'helm-v4.1.4', 'helm'),
    kubectl: join(cache, 'tools', 'kubectl-1.35.2', 'kubectl'),
    kubectl133: join(cache, 'tools', 'kubectl-1.33.0', 'kubectl')
  }
  const missing = Object.values(tools).filter(path => !isExecutable(path))
  if (missing.length > 0) {
    throw new Error(`Sandbox tools missing or not executable: ${missing.join(', ')}. Run test/setup/ensure.sh to build and fetch them.`)
  }
  return tools
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}
