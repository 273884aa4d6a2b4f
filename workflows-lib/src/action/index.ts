export * from './inputs.js'
export { SecretFiles, withSecretFiles } from './secret-file.js'
export { runAction } from './run-action.js'
