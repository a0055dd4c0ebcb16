/**
 * Optimizer configurations for properties: SGD and Adam/AdamW in every combination of their
 * options, each as a recipe that builds the optimizer for a learning rate.
 */
import fc from 'fast-check'
import type { Optimizer, Trainable } from '../src/index.js'
import { adam, adamW, sgd } from '../src/index.js'

/** How to build one optimizer configuration, given the learning rate. */
export interface Recipe {
  readonly label: string
  readonly make: (lr: number, trainable?: Trainable) => Optimizer
}

export const sgdArb: fc.Arbitrary<Recipe> = fc
  .record({
    momentum: fc.constantFrom(0, 0.5, 0.9),
    dampening: fc.constantFrom(0, 0.3),
    weightDecay: fc.constantFrom(0, 0.01),
    nesterov: fc.boolean(),
  })
  .map((c) => {
    const config = { ...c, nesterov: c.nesterov && c.momentum > 0 && c.dampening === 0 }
    return {
      label: `sgd ${JSON.stringify(config)}`,
      make: (lr: number, trainable?: Trainable) => sgd({ lr, ...config, trainable }),
    }
  })

export const adamArb: fc.Arbitrary<Recipe> = fc
  .record({
    decoupled: fc.boolean(),
    betas: fc.constantFrom([0.9, 0.999] as const, [0.8, 0.9] as const),
    eps: fc.constantFrom(1e-8, 1e-3),
    weightDecay: fc.constantFrom(0, 0.05),
    amsgrad: fc.boolean(),
  })
  .map(({ decoupled, ...config }) => ({
    label: `${decoupled ? 'adamW' : 'adam'} ${JSON.stringify(config)}`,
    make: (lr: number, trainable?: Trainable) => (decoupled ? adamW : adam)({ lr, ...config, trainable }),
  }))

export const recipeArb = fc.oneof(sgdArb, adamArb)
