/**
 * `npm run bench [-- --quick] [--json FILE] [--only ID,ID] [--gpu]`: the side-by-side benchmark
 * of issues 7, 14 and 15. Prints one table (median ms per call; braincog-fn wasm over the fastest
 * tfjs peer and over PyTorch): the forward rows W1a-W8, the backward rows B1b-B8 and the training
 * steps TR1 and TR2 (with images per second and peak memory); then the transposed matmuls'
 * GFLOP/s, the copy cost of the wasm backend and W8's heap over a long run; `--json FILE` also
 * writes the result, `--only` runs some rows (and still the notes after the table).
 * `--gpu` adds the GPU backend's rows (first call apart from the median; skipped, with the
 * reason, where gpu.js is not installed); `bench/gpu.ts` has more GPU options.
 */
import { writeFileSync } from 'node:fs'
import { format, runBench } from './run.js'

const args = process.argv.slice(2)
const quick = args.includes('--quick')
const jsonAt = args.indexOf('--json')
const jsonFile = jsonAt >= 0 ? args[jsonAt + 1] : undefined
if (jsonAt >= 0 && jsonFile === undefined) {
  console.error('--json: expected a file name')
  process.exit(2)
}

const onlyAt = args.indexOf('--only')
const only = onlyAt >= 0 ? (args[onlyAt + 1] ?? '').split(',').filter((s) => s !== '') : undefined
const log = (line: string) => process.stderr.write(`${line}\n`)
const result = await runBench({ quick, log, ...(only ? { only } : {}) })
console.log(format(result))
if (args.includes('--gpu')) {
  const { formatGpu, runGpuBench } = await import('./gpuRows.js')
  console.log(formatGpu(await runGpuBench({ quick })))
}
if (jsonFile !== undefined) writeFileSync(jsonFile, `${JSON.stringify(result, null, 2)}\n`)
