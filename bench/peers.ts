/**
 * The TensorFlow.js peers: tfjs-core with its CPU backend and its WebAssembly backend (the
 * SIMD binary shipped in node_modules, single-threaded), and tfjs's gradients.
 *
 * @module
 */
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
// the gradient functions of tf.grads and tf.variableGrads: tfjs-core alone registers none (its
// register_all_gradients is ESM for bundlers); the @tensorflow/tfjs bundle registers them on the
// same tfjs-core (and, in Node, no backend beyond tfjs-cpu)
import '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-cpu'
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm'

/** A peer: a name in the table and the tfjs backend it runs on. */
export interface Peer {
  readonly name: string
  readonly backend: 'cpu' | 'wasm'
}

export const peers: readonly Peer[] = [
  { name: 'tfjs-cpu', backend: 'cpu' },
  { name: 'tfjs-wasm', backend: 'wasm' },
]

let ready = false

/** Registers the wasm binaries (single-threaded SIMD build) once. */
export const setupTfjs = async (): Promise<typeof tf> => {
  if (!ready) {
    const require = createRequire(import.meta.url)
    const dir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))
    // one thread, as the targets are stated: the threaded build would use workers
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false)
    setWasmPaths(`${dir}/`)
    ready = true
  }
  await tf.ready()
  return tf
}

/** Switches tfjs to a peer's backend; false when it cannot start. */
export const usePeer = async (peer: Peer): Promise<boolean> => {
  try {
    return (await tf.setBackend(peer.backend)) && tf.getBackend() === peer.backend
  } catch {
    return false
  }
}
