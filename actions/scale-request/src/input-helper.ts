import { InputError, integerInput, optionalInput, requiredInput, secretInput } from '../../../workflows-lib/src/runner/inputs.js'

export interface ScaleRequestSettings {
  environment: string
  servers: number
  environmentsRoot?: string
  base?: string
  committer: { name?: string; email?: string }
  token: string
}

export function getSettings(): ScaleRequestSettings {
  // A wide range: the environment's own rules say what is refused (even, below 3), in their words.
  const servers = integerInput('servers', { min: 0, max: 999 })
  if (servers === undefined) throw new InputError('servers', 'is required: the new number of servers')
  return {
    environment: requiredInput('environment'),
    servers,
    environmentsRoot: optionalInput('environments-root'),
    base: optionalInput('base'),
    committer: { name: optionalInput('committer-name'), email: optionalInput('committer-email') },
    token: secretInput('github-token', { required: true }) as string
  }
}
