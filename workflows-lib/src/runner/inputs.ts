// Typed action inputs. Each action's input-helper builds its one settings object from these,
// so a bad input fails before anything changes, naming the input.
import * as core from '@actions/core'
import { parseDuration } from '../environment/duration.js'

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
  throw new InputError(name, `"${value}" is not true or false`)
}

export function integerInput(name: string, fallback: number, range: { min: number; max: number }): number {
  const value = optionalInput(name)
  if (value === undefined) return fallback
  const n = Number(value)
  if (!/^-?\d+$/.test(value) || n < range.min || n > range.max)
    throw new InputError(name, `"${value}" is not a whole number from ${range.min} to ${range.max}`)
  return n
}

/** "90s", "5m"; falls back to the environment's timeout when the input is empty. */
export function durationInput(name: string, fallbackMs: number): number {
  const value = optionalInput(name)
  if (value === undefined) return fallbackMs
  try {
    return parseDuration(value)
  } catch (error) {
    throw new InputError(name, (error as Error).message)
  }
}

/**
 * A secret input, masked before anything else touches it. The runner matches masks line by
 * line, so a multi-line secret also needs its sensitive lines masked one by one: `sensitive`
 * picks them (e.g. the token of a kubeconfig), so harmless lines like "kind: Config" stay readable.
 */
export function secretInput(name: string, opts: { required: boolean; sensitive?: (line: string) => string | undefined }): string | undefined {
  const value = core.getInput(name)
  if (!value.trim()) {
    if (opts.required) throw new InputError(name, 'is required (pass it from a secret)')
    return undefined
  }
  core.setSecret(value)
  const pick = opts.sensitive ?? ((line: string) => (line.trim().length >= 8 ? line.trim() : undefined))
  for (const line of value.split('\n')) {
    const secret = pick(line)
    if (secret) core.setSecret(secret)
  }
  return value
}

/** Values of kubeconfig fields that grant access (YAML or JSON form). */
export function kubeconfigSecret(line: string): string | undefined {
  const match =
    /^\s*"?(token|client-key-data|client-certificate-data|password|id-token|refresh-token|access-token|secret)"?\s*:\s*"?([^",\s]+)"?/.exec(line)
  return match && match[2].length >= 6 ? match[2] : undefined
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
