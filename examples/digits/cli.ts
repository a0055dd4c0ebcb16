/** What the two demo commands share: integer flags, the progress bar, running as a script. */
import { pathToFileURL } from 'node:url'
import cliProgress from 'cli-progress'

/** The flags both demos take (for node:util's parseArgs). */
export const commonOptions = {
  seed: { type: 'string', default: '0' },
  out: { type: 'string', default: 'out' },
  'no-progress': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const

/** Parses an integer flag `--name` that must be at least `min`, naming the flag on error. */
export const intFlag = (name: string, value: string, min: number, usage: string): number => {
  const n = Number(value)
  if (!Number.isInteger(n) || n < min) {
    throw new RangeError(`--${name}: expected an integer >= ${min}, got ${value}\n${usage}`)
  }
  return n
}

/**
 * A progress bar on stderr, drawn only on a terminal (so logs and tests stay clean). `fields`
 * are extra values shown after the count (`loss`, `img/s`), given with each `tick`.
 */
export const progressBar = (enabled: boolean, label: string, total: number, fields: readonly string[] = []) => {
  const extra = fields.map((f) => ` | ${f} {${f}}`).join('')
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {percentage}% | {value}/{total}${extra} | {duration}s`, hideCursor: true, clearOnComplete: false },
    cliProgress.Presets.shades_classic,
  )
  const on = enabled && process.stderr.isTTY
  if (on) bar.start(total, 0, Object.fromEntries(fields.map((f) => [f, '-'])))
  return {
    active: on,
    tick: (n = 1, values: Readonly<Record<string, string>> = {}) => on && bar.increment(n, values),
    stop: () => on && bar.stop(),
  }
}

/** Runs `main` when `moduleUrl` is the script node was started with; errors print as one line. */
export const runAsScript = (moduleUrl: string, main: () => unknown): void => {
  if (moduleUrl !== pathToFileURL(process.argv[1] ?? '').href) return
  try {
    main()
  } catch (e) {
    console.error(e instanceof Error ? e.message : e)
    process.exitCode = 1
  }
}
