// A local runner for this repository's workflows and actions, for tests and `npm run demo`: neither
// GitHub's runner nor `act` (it needs Docker) can run here. It runs them the way GitHub's runner
// does, checked against actions/runner's sources and GitHub's parser (@actions/workflow-parser)
// and expression engine (@actions/expressions), and refuses (UnsupportedError: the construct,
// file:line:col) what it does not support instead of skipping it. See README.md in this directory.
//
// Modules: parse (parser, tokens), expressions (${{ }}), contexts (github/runner, process env),
// events (on: filters), matrix (strategy), files (command files), commands (workflow commands,
// masking), process, steps, actions (uses:, JavaScript and composite), checkout (the simulated
// actions/checkout), job, workflow (needs, reusable workflows).
export { runWorkflow } from './workflow.js'
export { UnsupportedError, WorkflowError } from './errors.js'
export type { Annotation, EventName, JobConclusion, JobRun, RunWorkflowOptions, StepConclusion, StepRun, WorkflowRun } from './types.js'
export { compilePattern, matchesPatterns } from './events.js'
export { buildStrategy } from './matrix.js'
export { parseEnvFile } from './files.js'
export { Masker, parseCommand } from './commands.js'
