/**
 * `npm run conformance -- [DIR]`: runs every fixture in DIR (default ../shared/fixtures/braincog),
 * prints one line per failing case, and ends with `N passed, M failed`. Exits 1 on any failure.
 */
import { resolve } from 'node:path'
import { formatFailure, runDirectory } from './runner.js'

const dir = resolve(process.argv[2] ?? '../shared/fixtures/braincog')
const report = runDirectory(dir)
for (const r of report.results) if (!r.passed) console.log(formatFailure(r))
console.log(`${report.passed} passed, ${report.failed} failed`)
process.exitCode = report.failed > 0 ? 1 : 0
