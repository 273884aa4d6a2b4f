// Typed action inputs. Each action's input-helper builds its one settings object from these,
// so a bad input fails before anything changes, naming the input.
import * as core from '@actions/core'
import { quoted } from '../output/printable.js'
import { parseDuration, STEP_DURATION, type DurationRange } from '../environment/duration.js'
import { secretLines } from './masking.js'
import { isHostOrIp, isUserName } from '../environment/rules.js'
import type { JumpHostOverride } from '../observers/connections.js'

export class InputError extends Error {
  constructor(input: string, message: string) {
    super(`input "${input}": ${message}`)
    this.name = 'InputError'
  }
}

export function requiredInput(name: string): string {
  const value = core.getInput(name).trim()
  if (!value) throw new InputError(name, 'is required')
  return value
}

export function optionalInput(name: string): string | undefined {
  const value = core.getInput(name).trim()
  return value === '' ? undefined : value
}

export function booleanInput(name: string, fallback: boolean): boolean {
  const value = optionalInput(name)
  if (value === undefined) return fallback
  if (['true', 'True', 'TRUE'].includes(value)) return true
  if (['false', 'False', 'FALSE'].includes(value)) return false
  throw new InputError(name, `${quoted(value)} is not true or false`)
}

/** A whole number within `range`; undefined when empty (the library's default then applies). */
export function integerInput(name: string, range: { min: number; max: number }): number | undefined {
  const value = optionalInput(name)
  if (value === undefined) return undefined
  const n = Number(value)
  if (!/^-?\d+$/.test(value) || n < range.min || n > range.max)
    throw new InputError(name, `${quoted(value)} is not a whole number from ${range.min} to ${range.max}`)
  return n
}

/** "90s", "5m" within `range`; undefined when empty (the library then uses the environment's). */
export function durationInput(name: string, range: DurationRange = STEP_DURATION): number | undefined {
  const value = optionalInput(name)
  if (value === undefined) return undefined
  try {
    return parseDuration(value, range)
  } catch (error) {
    throw new InputError(name, (error as Error).message)
  }
}

/**
 * A secret input, masked before anything else touches it. The runner matches masks line by
 * line, so the secret's parts are masked one by one too: `parts` picks them (a kubeconfig's
 * credentials, see masking.ts); by default every line of 8 characters or more.
 */
export function secretInput(name: string, opts: { required: boolean; parts?: (value: string) => string[] }): string | undefined {
  const value = core.getInput(name)
  if (!value.trim()) {
    if (opts.required) throw new InputError(name, 'is required (pass it from a secret)')
    return undefined
  }
  core.setSecret(value)
  for (const part of (opts.parts ?? secretLines)(value)) core.setSecret(part)
  return value
}

/** A JSON array of strings, e.g. expose-servers' `addresses` output. */
export function stringListInput(name: string): string[] | undefined {
  const value = optionalInput(name)
  if (value === undefined) return undefined
  if (value.startsWith('[')) {
    let parsed: unknown
    try {
      parsed = JSON.parse(value)
    } catch {
      throw new InputError(name, 'is not valid JSON')
    }
    if (!Array.isArray(parsed) || !parsed.every(v => typeof v === 'string')) throw new InputError(name, 'must be a JSON array of strings')
    return parsed
  }
  return value.split(/[\s,]+/).filter(Boolean)
}

/** "[user@]host[:port]", IPv6 in brackets. */
export function parseJumpHost(value: string | undefined, input = 'jump-host'): JumpHostOverride | undefined {
  if (value === undefined) return undefined
  const m = /^(?:([^@]+)@)?(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d+))?$/.exec(value)
  const host = m?.[2] ?? m?.[3]
  if (!m || host === undefined || !isHostOrIp(host)) throw new InputError(input, `${quoted(value)} is not [user@]host[:port]`)
  const user = m[1]
  if (user !== undefined && !isUserName(user)) throw new InputError(input, `${quoted(user)} is not a valid login name`)
  const port = m[4] === undefined ? 22 : Number(m[4])
  if (port < 1 || port > 65535) throw new InputError(input, `port ${m[4]} is out of range`)
  return { host, user, port }
}

/** The `[user@]host[:port]` of a bastion, from an input; undefined when it is empty. */
export function jumpHostInput(name: string): JumpHostOverride | undefined {
  return parseJumpHost(optionalInput(name), name)
}
