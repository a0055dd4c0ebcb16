/**
 * The pooling kernels. Max windows route their cotangent to the first maximal cell (PyTorch's
 * rule, which matters at the ties spikes make); LIPool's fused step is differentiated through
 * its sum: `total = sum + x`, `out = pool(total)`, `next = total - upsample(out)`.
 */
import type { GradRule } from '../rule.js'
import { rule } from '../rule.js'

export const pool2dGrad: GradRule<'pool2d'> = rule([0], (d, [g], { inputs: [x], attrs }) => [d.pool2dGrad(g!, x!, attrs)])

/** Only the value has a gradient: the key (a spike count) is piecewise constant. */
export const maxPool2dByGrad: GradRule<'maxPool2dBy'> = rule([0, 1], (d, [g], { inputs: [key, value], attrs }) => [
  null,
  d.maxPool2dByGrad(g!, key!, value!, attrs),
])

export const upsampleNearestGrad: GradRule<'upsampleNearest'> = rule([], (d, [g], { attrs }) => [
  d.upsampleNearestGrad(g!, attrs),
])

export const liPoolStepGrad: GradRule<'liPoolStep'> = rule([0, 1], (d, [gOut, gNext], { inputs: [sum, x], attrs }) => {
  const { planes, height, width, k, mode } = attrs
  // the total as the forward pass rounded it
  const total = sum === null || sum === undefined ? x! : d.axpy(sum, x!, { alpha: 1 })
  const small = { planes, height: height / k, width: width / k, factor: k }
  // out feeds next through -upsample(out): its cotangent gathers -upsampleGrad(gNext)
  const back = gNext === null ? null : d.upsampleNearestGrad(gNext, small)
  const gPooled = back === null ? gOut! : gOut === null ? d.scale(back, { alpha: -1 }) : d.axpy(gOut, back, { alpha: -1 })
  const window = { kernelH: k, kernelW: k, strideH: k, strideW: k, padH: 0, padW: 0 }
  const viaOut = d.pool2dGrad(gPooled, total, { planes, height, width, window, mode })
  const gTotal = gNext === null ? viaOut : d.axpy(gNext, viaOut, { alpha: 1 })
  for (const b of [back, gPooled === gOut ? null : gPooled, viaOut === gTotal ? null : viaOut]) if (b !== null) d.free(b)
  if (total !== x) d.free(total)
  return [sum === null ? null : gTotal, gTotal]
})
