/** Sums and moments: each cotangent spread back over what was reduced. */
import type { GradRule } from '../rule.js'
import { rule } from '../rule.js'

/** The sum's cotangent repeated along the summed axis. */
export const sumAlongAxisGrad: GradRule<'sumAlongAxis'> = rule([], (d, [g], { attrs }) => [
  d.broadcastAlongAxis(g!, attrs),
])

/**
 * The broadcast's cotangent summed along the repeated axis (the adjoint of the sum): a layer
 * step may repeat a value (`repeatSteps`), and its gradient must reach what it repeats.
 */
export const broadcastAlongAxisGrad: GradRule<'broadcastAlongAxis'> = rule([], (d, [g], { attrs }) => [
  d.sumAlongAxis(g!, attrs),
])

/** `dMean / n + dVariance * 2 (x - mean) / n`. */
export const momentsAlongAxisGrad: GradRule<'momentsAlongAxis'> = rule(
  [0],
  (d, [dm, dv], { inputs: [x], outputs: [mean], attrs }) => [d.momentsAlongAxisGrad(dm, dv, x!, mean!, attrs)],
  [0],
)

/** As along an axis, per channel. */
export const momentsPerChannelGrad: GradRule<'momentsPerChannel'> = rule(
  [0],
  (d, [dm, dv], { inputs: [x], outputs: [mean], attrs }) => [d.momentsPerChannelGrad(dm, dv, x!, mean!, attrs)],
  [0],
)

/** Groups of `size` averaged: `cot / size` to each member. */
export const groupMeanGrad: GradRule<'groupMean'> = rule([], (d, [g], { attrs }) => [d.groupMeanGrad(g!, attrs)])
