/**
 * The normalizations: layer norm's per-position normalize, and batch norm's folding into a
 * per-channel scale and shift followed by the affine map. Each has one backward kernel giving
 * every argument's cotangent; composed with the moments' rules they give the usual
 * batch-norm and layer-norm backward passes.
 */
import type { GradRule } from '../rule.js'
import { orZeros, rule } from '../rule.js'

export const normalizeAlongAxisGrad: GradRule<'normalizeAlongAxis'> = rule(
  [0, 1, 2, 3],
  (d, [g], { inputs: [x, mean, variance, weight], attrs }) => {
    const r = d.normalizeAlongAxisGrad(g!, x!, mean!, variance!, weight!, attrs)
    return [r.dx, r.dMean, r.dVariance, r.dWeight, r.dBias]
  },
)

export const channelScaleShiftGrad: GradRule<'channelScaleShift'> = rule(
  [0, 1, 2, 3, 4],
  (d, [dScale, dShift], { inputs: [mean, variance, weight, bias, gains], attrs }) => {
    const length = attrs.steps * attrs.channels
    const r = d.channelScaleShiftGrad(
      orZeros(d, dScale, length, mean!),
      orZeros(d, dShift, length, mean!),
      mean!,
      variance!,
      weight!,
      bias!,
      gains ?? null,
      attrs,
    )
    return [r.dMean, r.dVariance, r.dWeight, r.dBias, gains === null ? null : r.dGains]
  },
)

export const channelAffineGrad: GradRule<'channelAffine'> = rule([0, 1], (d, [g], { inputs: [x, scale], attrs }) => {
  const r = d.channelAffineGrad(g!, x!, scale!, attrs)
  return [r.dx, r.dScale, r.dShift]
})
