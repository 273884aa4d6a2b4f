import { describe, expect, it } from '@jest/globals'
import type { Pod } from '../../workflows-lib/src/kube/types.js'
import { fastFailure, isPodReady } from '../../workflows-lib/src/steps/wait-ready.js'

const pod = (status: Pod['status'], labels: Record<string, string> = { 'controller-revision-hash': 'zk-1' }): Pod => ({
  metadata: { name: 'zk-zookeeper-0', labels },
  status
})

describe('isPodReady', () => {
  const ready = { conditions: [{ type: 'Ready', status: 'True' as const }] }
  it('needs the Ready condition, the current revision and no deletion in progress', () => {
    expect(isPodReady(pod(ready), 'zk-1')).toBe(true)
    expect(isPodReady(pod(ready), undefined)).toBe(true)
    expect(isPodReady(pod(ready), 'zk-2')).toBe(false)
    expect(isPodReady(pod({ conditions: [{ type: 'Ready', status: 'False' }] }), 'zk-1')).toBe(false)
    expect(
      isPodReady(
        { ...pod(ready), metadata: { name: 'x', deletionTimestamp: '2026-01-01T00:00:00Z', labels: { 'controller-revision-hash': 'zk-1' } } },
        'zk-1'
      )
    ).toBe(false)
    expect(isPodReady(undefined, 'zk-1')).toBe(false)
  })
})

describe('fastFailure', () => {
  it('stops at once for an unschedulable pod, naming the scheduler message', () => {
    expect(
      fastFailure(
        pod({
          conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: 3 Insufficient memory.' }]
        }),
        3
      )
    ).toBe('cannot be scheduled: 0/3 nodes are available: 3 Insufficient memory.')
  })

  it.each(['CrashLoopBackOff', 'ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'CreateContainerConfigError'])(
    'stops at once for %s',
    reason => {
      const why = fastFailure(
        pod({ containerStatuses: [{ name: 'zookeeper', ready: false, restartCount: 2, state: { waiting: { reason, message: 'details' } } }] }),
        3
      )
      expect(why).toBe(`container zookeeper is ${reason} (restarts: 2): details`)
    }
  )

  it('counts restarts of a pod that never got Ready as a crash loop', () => {
    expect(fastFailure(pod({ containerStatuses: [{ name: 'zookeeper', ready: false, restartCount: 3, state: { running: {} } }] }), 3)).toBe(
      'container zookeeper keeps restarting (restarts: 3)'
    )
  })

  it('keeps waiting for a pod that is merely slow, or Ready after old restarts', () => {
    expect(
      fastFailure(
        pod({ containerStatuses: [{ name: 'zookeeper', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }] }),
        3
      )
    ).toBeUndefined()
    expect(fastFailure(pod({ containerStatuses: [{ name: 'zookeeper', ready: true, restartCount: 7, state: { running: {} } }] }), 3)).toBeUndefined()
    expect(fastFailure(pod({ conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] }), 3)).toBeUndefined()
    expect(fastFailure(undefined, 3)).toBeUndefined()
  })
})
