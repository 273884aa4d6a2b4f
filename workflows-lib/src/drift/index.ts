export { detectDrift, DEFAULT_MAX_LAG, type DetectDriftOptions, type DriftDetection } from './detect.js'
export { formatDriftJson, formatDriftMarkdown, formatDriftText, formatHealMarkdown } from './format.js'
export {
  detectAndHeal,
  healDecision,
  healNote,
  healObservers,
  type DetectAndHealOptions,
  type DetectAndHealResult,
  type HealDecision,
  type HealNote,
  type HealMode
} from './heal.js'
export { driftStatus, EXIT_CODES, type DriftItem, type DriftKind, type DriftReport, type DriftStatus, type Unchecked } from './types.js'
