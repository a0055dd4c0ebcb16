/**
 * `trainer` is `lossAndGrad` then `optimizer.update`, bit for bit, for any optimizer
 * configuration, spiking network size, batch and freezing: step after step the same losses,
 * and `read` the same params and optimizer state. The caller's params, input and target are
 * never changed, and on the resident device a run leaves no buffer behind once disposed.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { tensorArb } from '../src/arbitraries/index.js'
import type { Device } from '../src/index.js'
import {
  cpu,
  crossEntropyLoss,
  customLinear,
  key,
  lifNode,
  lossAndGrad,
  meanOverTime,
  orThrow,
  repeatSteps,
  residentBackend,
  scan,
  sequential,
  tensor,
  timeMerged,
  train,
  trainableExcept,
  trainer,
} from '../src/index.js'
import { type Recipe, recipeArb, sgdArb } from './optimRecipes.js'
import { sameBits, snapshot, unchangedSince } from './support.js'

const STEPS = 3
const CLASSES = 3

/** A spiking MLP over a drawn size, batch and input, with labels and a learning rate. */
const problemArb = fc
  .record({
    batch: fc.integer({ min: 1, max: 5 }),
    inF: fc.integer({ min: 1, max: 6 }),
    hidden: fc.integer({ min: 1, max: 8 }),
    timeSteps: fc.integer({ min: 1, max: 3 }),
    seed: fc.nat(1000),
    lr: fc.constantFrom(0, 0.01, 0.3),
    freezeBias: fc.boolean(),
  })
  .chain((c) =>
    fc.record({
      c: fc.constant(c),
      x: tensorArb([c.batch, c.inF], { min: 0, max: 2 }),
      labels: fc.array(fc.integer({ min: 0, max: CLASSES - 1 }), { minLength: c.batch, maxLength: c.batch }),
    }),
  )

type Problem = typeof problemArb extends fc.Arbitrary<infer P> ? P : never

const netOf = (c: Problem['c']) =>
  sequential(
    repeatSteps({ steps: c.timeSteps }),
    timeMerged(customLinear({ inFeatures: c.inF, outFeatures: c.hidden, bias: true })),
    scan(lifNode()),
    timeMerged(customLinear({ inFeatures: c.hidden, outFeatures: CLASSES, bias: true })),
    meanOverTime(),
  )

/** Both runs of STEPS steps on `backend`: the trainer's and the composed reference's. */
const bothRuns = (recipe: Recipe, pr: Problem, backend?: Device<unknown>) => {
  const net = netOf(pr.c)
  const init = orThrow(net.init(key(pr.c.seed), [pr.c.batch, pr.c.inF]))
  const y = tensor(pr.labels, [pr.c.batch])
  const trainable = pr.c.freezeBias ? trainableExcept('bias') : undefined
  const given = snapshot({ params: init.params, x: pr.x, y })

  const optimizer = recipe.make(pr.c.lr, trainable)
  const step = lossAndGrad(net, crossEntropyLoss())
  let params = init.params as unknown
  let opt = optimizer.init(params) as unknown
  const want: number[] = []
  for (let i = 0; i < STEPS; i++) {
    const r = orThrow(step(params as never, init.state, pr.x, y, train(key(i), backend)))
    want.push(r.loss)
    const u = orThrow(optimizer.update(r.grads as never, opt as never, params as never))
    params = u.params
    opt = u.state
  }

  const loop = trainer(net, crossEntropyLoss(), recipe.make(pr.c.lr, trainable))
  let training = orThrow(loop.start(init.params, { backend }))
  const got: number[] = []
  for (let i = 0; i < STEPS; i++) {
    const r = orThrow(loop.step(training, init.state, pr.x, y, train(key(i))))
    got.push(r.loss)
    training = r.next
  }
  const out = orThrow(loop.read(training))
  loop.dispose(training)
  return {
    same: sameBits(got, want) && sameBits(out.params, params) && sameBits(out.optimizerState, opt),
    unchanged: unchangedSince({ params: init.params, x: pr.x, y }, given),
  }
}

describe('trainer', () => {
  it('is lossAndGrad + update bit for bit on the default device, any optimizer, leaving its arguments alone', () => {
    const d = residentBackend()
    fc.assert(
      fc.property(recipeArb, problemArb, (recipe, pr) => {
        const before = d?.liveBuffers()
        const r = bothRuns(recipe, pr)
        expect(r.same).toBe(true)
        expect(r.unchanged).toBe(true)
        // every buffer of the run freed: the params, the optimizer's buffers, each step's tape
        if (d !== undefined) expect(d.liveBuffers()).toBe(before)
      }),
      { numRuns: 60 },
    )
  })

  it('is lossAndGrad + SGD bit for bit on cpu (the host update path)', () => {
    fc.assert(
      fc.property(sgdArb, problemArb, (recipe, pr) => {
        const r = bothRuns(recipe, pr, cpu)
        expect(r.same).toBe(true)
        expect(r.unchanged).toBe(true)
      }),
      { numRuns: 40 },
    )
  })
})
