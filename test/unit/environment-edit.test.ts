import { describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import * as path from 'node:path'
import { parse } from 'yaml'
import { setEnsembleServers, setScalar } from '../../workflows-lib/src/environment/edit.js'
import { scaleRequestBody } from '../../workflows-lib/src/github/scale-request.js'
import { planScaling } from '../../workflows-lib/src/scaling/plan.js'
import { exampleDir } from '../support/environments.js'

/** The lines that differ, as [before, after] pairs (the edit never adds or removes a line). */
function changedLines(before: string, after: string): [string, string][] {
  const a = before.split('\n')
  const b = after.split('\n')
  expect(b).toHaveLength(a.length)
  return a.flatMap((line, i) => (line === b[i] ? [] : [[line, b[i]] as [string, string]]))
}

describe('setEnsembleServers', () => {
  it('changes exactly one line of the example, comments and all else kept', () => {
    const text = readFileSync(path.join(exampleDir, 'environment.yaml'), 'utf8')
    const edited = setEnsembleServers(text, 5)
    expect(changedLines(text, edited)).toEqual([['  servers: 3', '  servers: 5']])
    expect(parse(edited).ensemble).toEqual({ servers: 5 })
  })

  it('keeps a flow mapping and an aligned trailing comment', () => {
    const text =
      'kubernetes: { namespace: zk, release: zk }\nensemble: { servers: 3 }                         # odd and >= 3\nexpose:   { cloud: tke }   # kept\n'
    expect(setEnsembleServers(text, 5)).toBe(text.replace('{ servers: 3 }', '{ servers: 5 }'))
  })

  it('keeps an anchor that nothing else uses, and tags', () => {
    const text = 'ensemble:\n  servers: &size !!int 3 # size\n  allowUnsafeSize: false\n'
    expect(setEnsembleServers(text, 7)).toBe('ensemble:\n  servers: &size !!int 7 # size\n  allowUnsafeSize: false\n')
  })

  it('goes from one digit to two and back', () => {
    expect(setEnsembleServers('ensemble:\n  servers: 9\n', 11)).toBe('ensemble:\n  servers: 11\n')
    expect(setEnsembleServers('ensemble:\n  servers: 11\n', 9)).toBe('ensemble:\n  servers: 9\n')
  })

  it('refuses an edit that would change another field through a shared anchor', () => {
    const text = 'ensemble:\n  servers: &n 3\nother: *n\n'
    expect(() => setEnsembleServers(text, 5)).toThrow(/would change other values too/)
  })

  it('replaces an alias by the value, leaving its anchor alone', () => {
    const text = 'sizes: &three 3 # shared\nensemble:\n  servers: *three\n'
    const edited = setEnsembleServers(text, 5)
    expect(parse(edited)).toEqual({ sizes: 3, ensemble: { servers: 5 } })
    expect(edited).toContain('# shared')
  })

  it('writes a quoted value as a number, comments kept', () => {
    const text = '# head\nensemble:\n  servers: "3" # why\n'
    const edited = setEnsembleServers(text, 5)
    expect(parse(edited)).toEqual({ ensemble: { servers: 5 } })
    expect(edited).toContain('# head')
    expect(edited).toContain('# why')
  })

  it('refuses a file without an ensemble, and one that is not YAML', () => {
    expect(() => setEnsembleServers('kubernetes: {}\n', 5)).toThrow('ensemble.servers is not in the file')
    expect(() => setEnsembleServers('ensemble: [\n', 5)).toThrow(/not valid YAML/)
  })

  it('edits another scalar the same way', () => {
    expect(setScalar('ensemble:\n  servers: 4\n  allowUnsafeSize: false # for now\n', ['ensemble', 'allowUnsafeSize'], true)).toBe(
      'ensemble:\n  servers: 4\n  allowUnsafeSize: true # for now\n'
    )
  })
})

describe('the scale request', () => {
  it('explains the change, the rollout and the planned steps with what each restarts', () => {
    const body = scaleRequestBody({
      environment: 'prod-gz',
      file: 'environments/prod-gz/environment.yaml',
      plan: planScaling({ from: 5, to: 3 }),
      statefulSet: 'zk-zookeeper',
      observerIds: [101, 102],
      requestedBy: 'alice'
    })
    expect(body.split('\n')[0]).toBe('<!-- zk-rollout-scale -->')
    expect(body).toContain('Shrinks the ZooKeeper ensemble of `prod-gz` from 5 to 3 servers')
    expect(body).toContain('`rollout.yml`')
    expect(body).toContain('### Planned steps\n\n5 -> 4 -> 3, one server at a time')
    expect(body).toContain(
      '1. **5 -> 4**: restart zk-zookeeper-0, zk-zookeeper-1, zk-zookeeper-2, zk-zookeeper-3 without server.5: followers first, the leader last; ' +
        'then remove zk-zookeeper-4 (its PersistentVolumeClaim is kept); then observers 101, 102 get the 4-server list'
    )
    expect(body).toContain('1. **4 -> 3**: restart zk-zookeeper-0, zk-zookeeper-1, zk-zookeeper-2 without server.4')
    expect(body).toContain('After the last step the observers (101, 102) get the 3-server list.')
    expect(body).toContain('Requested by @alice.')
  })
})
