#!/usr/bin/env node
import * as io from '@actions/io'
import { defaultPackageRoot, run } from './main.js'

process.exitCode = await run(process.argv.slice(2), {
  out: text => process.stdout.write(text),
  err: text => process.stderr.write(text),
  cwd: process.cwd(),
  packageRoot: defaultPackageRoot(),
  which: tool => io.which(tool, true)
})
