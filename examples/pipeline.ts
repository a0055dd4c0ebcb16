/**
 * The README example, runnable: a pipeline of an integrate-and-fire neuron scanned over time.
 * (Placeholder main job until the spiking digit classifier lands.)
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { ifNeuron, key, scan, sequential, tensor, toNested, train } from '../src/index.js'

const net = scan(sequential(ifNeuron({ threshold: 1 }), ifNeuron({ threshold: 2, reset: 'hard' })))
const input = tensor([0.6, 1.2, 0.6, 1.2, 0.6, 1.2, 0.6, 1.2], [4, 2]) // [T = 4, 2 neurons]

const result = pipe(
  net.init(key(0), input.shape),
  E.chain(({ params, state }) => net.apply(params, state, input, train(key(1)))),
  E.map(({ output }) => toNested(output)),
)
console.log(E.isRight(result) ? result.right : result.left.message)
