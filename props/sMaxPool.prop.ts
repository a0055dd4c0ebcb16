/**
 * SMaxPool invariants, for a max child and spike input, any kernel/stride/padding, both modes:
 * every output is 0 or 1; a window whose accumulated count has a unique maximum passes exactly
 * that neuron's spike; the two modes agree while BrainCog's `1000 * S` is exact; with an
 * average child BrainCog's formula is the average pooling of the input.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { spikeTrainArb, tensorArb } from '../src/arbitraries/index.js'
import type { Tensor } from '../src/index.js'
import { avgPool2d, equals, key, maxAbsDiff, orThrow, sMaxPool, train } from '../src/index.js'

/** A valid max-pool window and T spike inputs of one shape it fits. */
const runArb = (rate: number) =>
  fc
    .record({
      kernelSize: fc.integer({ min: 1, max: 4 }),
      stride: fc.integer({ min: 1, max: 3 }),
      n: fc.integer({ min: 1, max: 2 }),
      c: fc.integer({ min: 1, max: 2 }),
      h: fc.integer({ min: 1, max: 6 }),
      w: fc.integer({ min: 1, max: 6 }),
      T: fc.integer({ min: 1, max: 10 }),
    })
    .chain((r) =>
      fc.integer({ min: 0, max: Math.floor(r.kernelSize / 2) }).chain((padding) => {
        const child: SquareSpec = { op: 'maxPool2d', kernelSize: r.kernelSize, stride: r.stride, padding }
        const fits = Math.min(r.h, r.w) + 2 * padding >= r.kernelSize
        const h = fits ? r.h : r.kernelSize
        const w = fits ? r.w : r.kernelSize
        return fc.record({
          child: fc.constant(child),
          xs: fc.array(spikeTrainArb([r.n, r.c, h, w], rate), { minLength: r.T, maxLength: r.T }),
        })
      }),
    )

/** A square window, as these properties generate them. */
type SquareSpec = { readonly op: 'maxPool2d' | 'avgPool2d'; readonly kernelSize: number; readonly stride?: number; readonly padding?: number }

/** The cells of output window (i, j) of an image h x w, as flat offsets within one plane. */
const windowCells = (child: SquareSpec, h: number, w: number, i: number, j: number): number[] => {
  const k = child.kernelSize
  const s = child.stride ?? k
  const p = child.padding ?? 0
  const cells: number[] = []
  for (let y = i * s - p; y < i * s - p + k; y++)
    for (let z = j * s - p; z < j * s - p + k; z++) if (y >= 0 && y < h && z >= 0 && z < w) cells.push(y * w + z)
  return cells
}

describe('SMaxPool', () => {
  for (const mode of ['braincog', 'exact'] as const) {
    it(`(${mode}) passes 0 or 1, and a unique-max window passes exactly that neuron's spike`, () => {
      fc.assert(
        fc.property(runArb(0.5), ({ child, xs }) => {
          const layer = sMaxPool({ child, mode })
          const [n, c, h, w] = xs[0].shape
          let { state } = orThrow(layer.init(key(0), xs[0].shape))
          const counts = new Float64Array(xs[0].size)
          for (const x of xs) {
            const r = orThrow(layer.apply({}, state, x, train()))
            state = r.state
            counts.forEach((v, i) => (counts[i] = v + x.data[i]))
            const [, , oh, ow] = r.output.shape
            expect(Array.from(r.output.data).every((v) => v === 0 || v === 1)).toBe(true)
            for (let plane = 0; plane < n * c; plane++)
              for (let i = 0; i < oh; i++)
                for (let j = 0; j < ow; j++) {
                  const cells = windowCells(child, h, w, i, j).map((o) => plane * h * w + o)
                  const top = Math.max(...cells.map((o) => counts[o]))
                  const leaders = cells.filter((o) => counts[o] === top)
                  const out = r.output.data[(plane * oh + i) * ow + j]
                  if (leaders.length === 1) expect(out).toBe(x.data[leaders[0]])
                  // ties pass a spike when any leader fires now (documented tie rule)
                  else expect(out).toBe(Math.max(...leaders.map((o) => x.data[o])))
                }
          }
        }),
        { numRuns: 200 },
      )
    })
  }

  it("mode 'exact' equals mode 'braincog' on spikes while 1000 * count is exact", () => {
    fc.assert(
      fc.property(runArb(0.3), ({ child, xs }) => {
        const a = sMaxPool({ child })
        const b = sMaxPool({ child, mode: 'exact' })
        let sa = orThrow(a.init(key(0), xs[0].shape)).state
        let sb = sa
        for (const x of xs) {
          const ra = orThrow(a.apply({}, sa, x, train()))
          const rb = orThrow(b.apply({}, sb, x, train()))
          expect(equals(ra.output, rb.output)).toBe(true)
          expect(equals(ra.state.sum as Tensor, rb.state.sum as Tensor)).toBe(true)
          sa = ra.state
          sb = rb.state
        }
      }),
    )
  })

  it("with an average child, BrainCog's formula is the average pooling of this step's input", () => {
    fc.assert(
      fc.property(
        fc
          .tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 5 }), fc.integer({ min: 1, max: 4 }))
          .chain(([k, size, T]) =>
            fc.tuple(
              fc.constant<SquareSpec>({ op: 'avgPool2d', kernelSize: k, stride: 1, padding: Math.floor(k / 2) }),
              fc.array(tensorArb([1, 2, size, size], { dtype: 'float64' }), { minLength: T, maxLength: T }),
            ),
          ),
        ([child, xs]) => {
          const layer = sMaxPool({ child })
          let { state } = orThrow(layer.init(key(0), xs[0].shape))
          for (const x of xs) {
            const r = orThrow(layer.apply({}, state, x, train()))
            state = r.state
            // the 1000 * S terms cancel up to float64 rounding of numbers ~1e4
            expect(maxAbsDiff(r.output, orThrow(avgPool2d(x, child)))).toBeLessThanOrEqual(1e-10)
          }
        },
      ),
    )
  })
})
