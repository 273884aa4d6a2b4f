export { deploySummaryMarkdown } from './summary.js'
export { forEachLimit } from './pool.js'
export {
  REMOTE_SCRIPT,
  remoteProgram,
  parseRemoteOutput,
  type RemoteCommand,
  type RemoteInputs,
  type RemoteReport,
  type FileState
} from './remote-script.js'
export type { DeployReport, ObserverResult, ObserverStatus } from './results.js'
