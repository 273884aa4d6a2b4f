// Jest runs test files in parallel, and servers here bind fixed ports (2181/2888/3888, 22) on
// loopback addresses. Every test file that binds gets its own block, listed here, so two files
// can never collide.
export const addressBlocks = {
  /** test/integration/observer-joins.test.ts: ensemble .11-.13, observers .21-.22 */
  observerJoins: { ensemble: ['127.0.0.11', '127.0.0.12', '127.0.0.13'], observers: ['127.0.0.21', '127.0.0.22'] },
  /** test/integration/zookeeper-harness.test.ts */
  harness: { ensemble: ['127.0.0.51', '127.0.0.52', '127.0.0.53'], observers: ['127.0.0.54'] },
  /** deploy-observers tests: the "VMs" (sshd) .31-.33, their ensemble .41-.43 */
  deployObservers: { vms: ['127.0.0.31', '127.0.0.32', '127.0.0.33'], ensemble: ['127.0.0.41', '127.0.0.42', '127.0.0.43'] }
} as const
