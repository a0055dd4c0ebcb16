/** Elementwise kernels, and the neuron step with its surrogate spike. */
import type { GradRule } from '../rule.js'
import { rule } from '../rule.js'

export const mulGrad: GradRule<'mul'> = rule([0, 1], (d, [g], { inputs: [a, b], needs }) => [
  needs[0] ? d.mul(g!, b!) : null,
  needs[1] ? d.mul(g!, a!) : null,
])

export const axpyGrad: GradRule<'axpy'> = rule([], (d, [g], { attrs, needs }) => [
  g,
  needs[1] ? d.scale(g!, { alpha: attrs.alpha }) : null,
])

export const scaleGrad: GradRule<'scale'> = rule([], (d, [g], { attrs }) => [d.scale(g!, { alpha: attrs.alpha })])

/** ReLU: the cotangent where the input was positive (PyTorch's convention at 0: no gradient). */
export const reluGrad: GradRule<'relu'> = rule([0], (d, [g], { inputs: [x] }) => [d.reluGrad(g!, x!)])

/** `neuron(v, x)`: the surrogate replaces the spike's derivative, the reset is detached. */
export const neuronGrad: GradRule<'neuron'> = rule([0, 1], (d, [gSpikes, gV], { inputs: [v, x], attrs, needs }) => {
  const r = d.neuronGrad(gSpikes, gV, v ?? null, x!, attrs)
  return [needs[0] ? r.dv : null, r.dx]
})
