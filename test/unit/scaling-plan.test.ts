import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { hasQuorum, quorumProblem, restartOrder, type EnsembleState, type ServerState } from '../../workflows-lib/src/ensemble/state.js'
import { formatSizes, planScaling, ScalingRefusal, stepRestarts } from '../../workflows-lib/src/scaling/plan.js'

// Brute force, independent of the planner's reasoning: is there a majority of `a` and a majority
// of `b` that share no server? Sets are bitmasks over myids 1..9.
function disjointMajoritiesExist(a: number[], b: number[]): boolean {
  const maskA = a.reduce((m, id) => m | (1 << id), 0)
  const maskB = b.reduce((m, id) => m | (1 << id), 0)
  const count = (m: number): number => m.toString(2).replace(/0/g, '').length
  for (let q = maskA; q > 0; q = (q - 1) & maskA) {
    if (count(q) * 2 <= a.length) continue
    // The largest part of b that avoids q: a majority of b inside it is a disjoint pair.
    if (count(maskB & ~q) * 2 > b.length) return true
  }
  return false
}

const size = fc.integer({ min: 1, max: 9 })
const oddTarget = fc.integer({ min: 1, max: 4 }).map(k => 2 * k + 1)

describe('scaling planner', () => {
  it('the brute-force check itself finds the split that a two-voter jump allows', () => {
    expect(disjointMajoritiesExist([1, 2, 3], [1, 2, 3, 4, 5])).toBe(true)
    expect(disjointMajoritiesExist([1, 2, 3], [1, 2, 3, 4])).toBe(false)
  })

  it('consecutive configurations always have intersecting majorities and differ by one voter (sizes 1..9)', () => {
    fc.assert(
      fc.property(size, size, fc.boolean(), (from, to, unsafe) => {
        fc.pre(from !== to)
        let plan
        try {
          plan = planScaling({ from, to, allowUnsafeSize: unsafe })
        } catch (e) {
          // Only an unsafe target without the override is refused here.
          expect(e).toBeInstanceOf(ScalingRefusal)
          expect(unsafe).toBe(false)
          expect(to % 2 === 0 || to < 3).toBe(true)
          return
        }
        let voters = Array.from({ length: from }, (_, i) => i + 1)
        expect(plan.steps).toHaveLength(Math.abs(to - from))
        for (const step of plan.steps) {
          const symmetric = [...voters.filter(v => !step.voters.includes(v)), ...step.voters.filter(v => !voters.includes(v))]
          expect(symmetric).toEqual([step.change.myid])
          expect(disjointMajoritiesExist(voters, step.voters)).toBe(false)
          voters = step.voters
        }
        expect(voters).toEqual(Array.from({ length: to }, (_, i) => i + 1))
        expect(plan.sizes[0]).toBe(from)
        expect(plan.sizes.at(-1)).toBe(to)
        expect(Boolean(plan.unsafeSize)).toBe(to % 2 === 0 || to < 3)
      })
    )
  })

  it('odd targets of 3 or more are planned without the override', () => {
    fc.assert(
      fc.property(size, oddTarget, (from, to) => {
        fc.pre(from !== to)
        expect(planScaling({ from, to }).unsafeSize).toBeUndefined()
      })
    )
  })

  it('prints the steps as 3 -> 4 -> 5 and removes the highest ordinal first when shrinking', () => {
    expect(formatSizes(planScaling({ from: 3, to: 5 }))).toBe('3 -> 4 -> 5')
    const down = planScaling({ from: 5, to: 3 })
    expect(formatSizes(down)).toBe('5 -> 4 -> 3')
    expect(down.steps.map(s => s.change)).toEqual([
      { kind: 'remove', myid: 5, ordinal: 4 },
      { kind: 'remove', myid: 4, ordinal: 3 }
    ])
    expect(stepRestarts(down.steps[0], 'zk')).toEqual([
      'restart zk-0, zk-1, zk-2, zk-3 without server.5: followers first, the leader last',
      'then remove zk-4 (its PersistentVolumeClaim is kept)'
    ])
    expect(stepRestarts(planScaling({ from: 3, to: 4, allowUnsafeSize: true }).steps[0], 'zk')[0]).toBe('start zk-3 (new, myid 4)')
  })

  it.each([
    [{ from: 3, to: 4 }, /target 4 refused: 4 servers tolerate 1 failure \(a quorum is 3 of 4\), no more than 3 would/],
    [{ from: 3, to: 1 }, /target 1 refused: 1 server tolerates 0 failures/],
    [{ from: 3, to: 3 }, /already has 3 servers: nothing to scale/],
    [{ from: 3, to: 5, observerIds: [101, 5] }, /observer id 5 would collide with participant id 5 of the 5-server configuration/],
    // Shrinking, server.5 votes until the last step: an observer with id 4 or 5 collides on the way.
    [{ from: 5, to: 3, observerIds: [4] }, /observer id 4 would collide .* of the 5-server configuration/],
    [{ from: 0, to: 3 }, /current size 0 is not a server count/]
  ])('refuses %j', (req, message) => {
    expect(() => planScaling(req)).toThrow(ScalingRefusal)
    expect(() => planScaling(req)).toThrow(message)
  })

  it('allowUnsafeSize plans an even target and says why it is unsafe', () => {
    const plan = planScaling({ from: 3, to: 4, allowUnsafeSize: true })
    expect(plan.unsafeSize).toMatch(/4 servers tolerate 1 failure/)
  })
})

describe('restart order and quorum checks (from a reading of the live ensemble)', () => {
  const server = (ordinal: number, mode: string | undefined, current = false, synced?: number): ServerState => ({
    pod: `zk-${ordinal}`,
    ordinal,
    myid: ordinal + 1,
    current,
    ready: mode !== undefined,
    ...(mode ? { mode } : { problem: 'not serving' }),
    ...(synced !== undefined ? { synced: { voting: synced, nonVoting: 0 } } : {})
  })
  const state = (servers: ServerState[]): EnsembleState => ({
    statefulSet: 'zk',
    observed: true,
    servers,
    leaders: servers.filter(s => s.mode === 'leader').map(s => s.pod)
  })

  it('restarts servers that do not serve first, then followers by ordinal, the leader last, only old revisions', () => {
    const s = state([server(0, 'leader', false, 3), server(1, 'follower', true), server(2, undefined), server(3, 'follower')])
    expect(restartOrder(s, 4).map(x => x.pod)).toEqual(['zk-2', 'zk-3', 'zk-0'])
    // A server beyond the voters being rolled (the one a scale-down removes) is never restarted.
    expect(restartOrder(s, 3).map(x => x.pod)).toEqual(['zk-2', 'zk-0'])
  })

  it('a healthy quorum is one leader with every follower synced', () => {
    expect(quorumProblem(state([server(0, 'leader', true, 2), server(1, 'follower'), server(2, 'follower')]), 3)).toBeUndefined()
    expect(quorumProblem(state([server(0, 'leader', true, 1), server(1, 'follower'), server(2, 'follower')]), 3)).toBe(
      'leader zk-0 has 1 synced follower of 2'
    )
    expect(quorumProblem(state([server(0, 'leader', true, 1), server(1, 'follower'), server(2, undefined)]), 3)).toMatch(/zk-2 is not serving/)
    expect(quorumProblem(state([server(0, 'leader', true, 2), server(1, 'leader'), server(2, 'follower')]), 3)).toBe(
      '2 servers say they lead: zk-0, zk-1'
    )
    expect(quorumProblem(state([server(0, 'leader', true, 1), server(1, 'follower')]), 3)).toBe('zk-2 does not exist')
  })

  it('a scale needs a serving majority with a leader to start', () => {
    expect(hasQuorum(state([server(0, 'leader', true, 1), server(1, 'follower'), server(2, undefined)]), 3)).toBe(true)
    expect(hasQuorum(state([server(0, undefined), server(1, 'follower'), server(2, undefined)]), 3)).toBe(false)
  })
})
