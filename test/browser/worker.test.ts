/**
 * Tensors through `postMessage`, in a real Web Worker in headless Chromium. A page bundled with
 * vite (braincog-fn resolved to the sources, as test/browser does) builds a small network, posts
 * its params, state and an input to a Worker running the library, and compares what comes back
 * with its own result. `postMessage` structured-clones every tensor into a plain
 * `{ data, shape, stride, offset }` record (the prototype does not travel): the worker uses them
 * as they arrive, without reviving them, and the answer it posts back is records again, which the
 * page reads with `revive`. Among the tensors: a transposed weight (strides that are not
 * row-major), a view with an offset, the CustomLinear case and tdBN's running statistics.
 *
 * Needs Chromium (see test/support/browser.ts); never skipped.
 */
import { resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ServedPage, servePage } from '../support/browser.js'

const root = resolve(__dirname, '../..')

/** What both sides run: the same networks, from the same code. */
const shared = `import { customLinear, ifNeuron, sequential, thresholdDependentBatchNorm2d, votingLayer } from 'braincog-fn'

export const linear = customLinear({ inFeatures: 2, outFeatures: 3 })
export const net = sequential(customLinear({ inFeatures: 4, outFeatures: 6 }), ifNeuron(), votingLayer({ voterNum: 2 }))
export const bn = thresholdDependentBatchNorm2d({ numFeatures: 2, alpha: 1 })
`

const worker = `import { evaluate, orThrow, poissonEncode, train } from 'braincog-fn'
import { bn, linear, net } from './shared.js'

// everything arrives as plain records; the library takes them as they are
onmessage = (e) => {
  const m = e.data
  try {
    const live = (t) => typeof t.pick === 'function'
    postMessage({
      arrivedLive: [m.linear.params.weight, m.net.input, m.bn.state.runningMean].some(live),
      linear: orThrow(linear.apply(m.linear.params, {}, m.linear.input, evaluate())).output,
      net: orThrow(net.apply(m.net.params, m.net.state, m.net.input, train(m.key))),
      bn: orThrow(bn.apply(m.bn.params, m.bn.state, m.bn.input, evaluate())).output,
      bnTrain: orThrow(bn.apply(m.bn.params, m.bn.state, m.bn.input, train())).state,
      spikes: poissonEncode(m.key, m.rates, 8),
    })
  } catch (err) {
    postMessage({ error: String(err) })
  }
}
`

const page = `import {
  evaluate, equals, generate, key, orThrow, poissonEncode, revive, tensor, toNested, train, customLinearParams,
} from 'braincog-fn'
import { bn, linear, net } from './shared.js'

const run = async () => {
  // CustomLinear with a transposed weight: [[1, 2, 3], [4, 5, 6]] stored as its [3, 2] transpose
  const weight = tensor([1, 4, 2, 5, 3, 6], [3, 2]).transpose(1, 0)
  const l = { params: orThrow(customLinearParams({ weight })), input: tensor([1, 10], [1, 2]) }
  const k = key(7)
  const netInit = orThrow(net.init(k, [3, 4]))
  // the input is a view with an offset into a larger array
  const big = generate([5, 4], (i) => Math.sin(i) + 0.5)
  const n = { params: netInit.params, state: netInit.state, input: big.hi(4, 4).lo(1, 0) }
  const bnInit = orThrow(bn.init(k, [2, 2, 3, 3]))
  const b = { params: bnInit.params, state: { ...bnInit.state, runningMean: tensor([0.5, -1], [2]) }, input: generate([2, 2, 3, 3], (i) => Math.cos(i)) }
  const rates = generate([3, 2], (i) => i / 6)

  const here = {
    linear: orThrow(linear.apply(l.params, {}, l.input, evaluate())).output,
    net: orThrow(net.apply(n.params, n.state, n.input, train(k))),
    bn: orThrow(bn.apply(b.params, b.state, b.input, evaluate())).output,
    bnTrain: orThrow(bn.apply(b.params, b.state, b.input, train())).state,
    spikes: poissonEncode(k, rates, 8),
  }
  const w = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' })
  const there = await new Promise((ok, no) => {
    w.onmessage = (e) => ok(e.data)
    w.onerror = (e) => no(new Error(e.message))
    w.postMessage({ linear: l, net: n, bn: b, key: k, rates })
  })
  w.terminate()
  if (there.error) return { error: there.error }
  const same = (a, r) => equals(a, revive(r))
  return {
    arrivedLive: there.arrivedLive,
    cameBackLive: typeof there.linear.pick === 'function',
    linear: toNested(revive(there.linear)),
    linearHere: toNested(here.linear),
    net: same(here.net.output, there.net.output) && here.net.state.every((s, i) =>
      Object.keys(s).every((key) => (s[key] === null ? there.net.state[i][key] === null : same(s[key], there.net.state[i][key])))),
    bn: same(here.bn, there.bn),
    bnFinite: Array.from(revive(there.bn).data).every(Number.isFinite),
    bnTrain: same(here.bnTrain.runningMean, there.bnTrain.runningMean) && same(here.bnTrain.runningVar, there.bnTrain.runningVar)
      && here.bnTrain.numBatchesTracked === there.bnTrain.numBatchesTracked,
    spikes: same(here.spikes, there.spikes),
  }
}
run().then((r) => { globalThis.__result = r }, (e) => { globalThis.__result = { error: String(e) } })
`

interface Result {
  readonly error?: string
  readonly arrivedLive?: boolean
  readonly cameBackLive?: boolean
  readonly linear?: unknown
  readonly linearHere?: unknown
  readonly net?: boolean
  readonly bn?: boolean
  readonly bnFinite?: boolean
  readonly bnTrain?: boolean
  readonly spikes?: boolean
}

describe('tensors through postMessage to a Web Worker in headless Chromium', () => {
  let served: ServedPage | undefined

  beforeAll(async () => {
    const index = '<!doctype html><script type="module" src="./main.js"></script>'
    served = await servePage('braincog-fn-worker-', { 'index.html': index, 'shared.js': shared, 'worker.js': worker, 'main.js': page }, root)
  }, 120_000)

  afterAll(() => served?.close())

  it("a worker's answers from cloned params, state and inputs equal the page's own", async () => {
    if (!served) throw new Error('setup failed')
    const tab = await served.browser.newPage()
    const errors: string[] = []
    tab.on('pageerror', (e) => errors.push(e.message))
    await tab.goto(served.url)
    await tab.waitForFunction(() => (globalThis as { __result?: unknown }).__result !== undefined, undefined, {
      timeout: 30_000,
    })
    const r = await tab.evaluate(() => (globalThis as unknown as { __result: Result }).__result)
    expect(errors).toEqual([])
    expect(r.error).toBeUndefined()
    // the clones really were records, both ways
    expect(r.arrivedLive).toBe(false)
    expect(r.cameBackLive).toBe(false)
    // the case: [41, 52, 63], not [41, 12, 3]
    expect(r.linear).toEqual([[41, 52, 63]])
    expect(r.linearHere).toEqual([[41, 52, 63]])
    expect(r.net).toBe(true)
    expect(r.bn).toBe(true)
    expect(r.bnFinite).toBe(true)
    expect(r.bnTrain).toBe(true)
    expect(r.spikes).toBe(true)
  }, 60_000)
})
