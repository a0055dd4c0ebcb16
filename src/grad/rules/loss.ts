/** Losses: the target is a constant. */
import type { GradRule } from '../rule.js'
import { rule } from '../rule.js'

export const crossEntropyGrad: GradRule<'crossEntropy'> = rule([0, 1], (d, [g], { inputs: [logits, target], attrs }) => [
  d.crossEntropyGrad(g!, logits!, target!, attrs),
  null,
])
