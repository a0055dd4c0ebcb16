/** Layout kernels: concatenation and slicing are each other's adjoints. */
import type { GradRule } from '../rule.js'
import { rule } from '../rule.js'

export const concatGrad: GradRule<'concat'> = rule([], (d, [g], { lengths, needs }) => {
  let offset = 0
  return lengths.map((length, i) => {
    const at = offset
    offset += length
    return needs[i] ? d.slice(g!, { offset: at, length }) : null
  })
})

/** The parts' cotangents side by side (zeros for a part without one). */
export const splitGrad: GradRule<'split'> = rule([], (d, cots, { lengths: [total], attrs: { count } }) => {
  const like = cots.find((c) => c !== null)!
  const zeros = cots.map((c) => (c === null ? d.fill({ length: total / count, value: 0, dtype: d.dtypeOf(like) }) : null))
  const dx = d.concat(cots.map((c, i) => c ?? zeros[i]!))
  for (const z of zeros) if (z !== null) d.free(z)
  return [dx]
})

export const sliceGrad: GradRule<'slice'> = rule([], (d, [g], { lengths: [total], attrs: { offset, length } }) => {
  const dtype = d.dtypeOf(g!)
  const before = d.fill({ length: offset, value: 0, dtype })
  const after = d.fill({ length: total - offset - length, value: 0, dtype })
  const dx = d.concat([before, g!, after])
  d.free(before)
  d.free(after)
  return [dx]
})
