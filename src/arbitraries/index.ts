/**
 * fast-check arbitraries for property-testing models built with braincog-fn: shapes, tensors,
 * spike trains, strided views and PRNG keys. A separate entry point (`braincog-fn/arbitraries`)
 * so that only code that property-tests needs fast-check.
 *
 * @module
 */
export { keyArb } from './key.js'
export { type ShapeConstraints, shapeArb } from './shape.js'
export { stridedViewArb } from './strided.js'
export { spikeTrainArb, type TensorConstraints, tensorArb } from './tensor.js'
