/** Selections: the cotangent passes where the value was kept (the noise is a constant). */
import type { GradRule } from '../rule.js'
import { rule } from '../rule.js'

export const winnerTakeAllGrad: GradRule<'winnerTakeAll'> = rule([0, 1], (d, [g], { inputs: [x, noise], attrs }) => [
  d.winnerTakeAllGrad(g!, x!, noise!, attrs),
  null,
])
