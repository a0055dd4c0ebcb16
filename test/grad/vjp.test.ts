/**
 * The gradient API's surface: `vjp` and `valueAndGrad` errors (as `LayerError` values, never
 * throws), a pullback called twice, zeros where no gradient reaches, float64 gradients for
 * float64 data, and gradients through `sequential` and `scan` against the closed forms.
 */
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import type { AnyLayer, Device, OnDevice, Tensor } from '../../src/index.js'
import {
  conv2d,
  cpu,
  crossEntropyLoss,
  customLinear,
  customLinearParams,
  defineLayer,
  deviceFrom,
  DeviceTensor,
  empty,
  evaluate,
  flatData,
  flatten,
  ifNeuron,
  key,
  lifNode,
  lossAndGrad,
  orThrow,
  record,
  scan,
  sequential,
  tensor,
  thresholdDependentBatchNorm2d,
  toNested,
  train,
  valueAndGrad,
  vjp,
  withTarget,
  zeros,
} from '../../src/index.js'
import { sameBits } from '../../props/support.js'
import { expectLayerError } from '../layers/layerError.js'

const fc23 = customLinear({ inFeatures: 2, outFeatures: 3 })
const weight = tensor([1, 2, 3, 4, 5, 6], [2, 3])
const params = orThrow(customLinearParams({ weight }))
const x = tensor([1, -1, 2, 0.5], [2, 2])
const ctx = evaluate(cpu)

describe('vjp errors', () => {
  it('rejects a layer without a step, naming the layer', () => {
    const handmade: AnyLayer = {
      name: 'Handmade',
      outputShape: (s) => E.right(s),
      init: () => E.right({ params: empty, state: empty, outputShape: [1] }),
      apply: (_p, s, input) => E.right({ output: input, state: s }),
      reset: (s) => s,
    }
    expectLayerError(vjp(handmade, empty, empty, zeros([1]), ctx), {
      layer: 'Handmade',
      argument: 'layer',
      expected: 'a step',
      got: 'only apply',
    })
  })

  it("rejects what the layer's apply rejects, as the layer does: input, params, context", () => {
    expectLayerError(vjp(fc23, params, empty, zeros([2, 5]), ctx), { layer: 'CustomLinear', argument: 'input' })
    expectLayerError(vjp(fc23, params, empty, 'x' as never, ctx), { layer: 'CustomLinear', argument: 'input' })
    expectLayerError(vjp(fc23, { weight: zeros([3, 3]) } as never, empty, x, ctx), { layer: 'CustomLinear', argument: 'params.weight' })
    expectLayerError(vjp(fc23, params, empty, x, 'train' as never), { layer: 'CustomLinear', argument: 'ctx' })
  })

  it("rejects an output cotangent of the wrong shape, dtype or kind, naming 'cotangent'", () => {
    const r = orThrow(vjp(fc23, params, empty, x, ctx))
    expectLayerError(r.pullback(zeros([2, 2])), { layer: 'CustomLinear', argument: 'cotangent', expected: 'shape [2, 3]', got: '[2, 2]' })
    expectLayerError(r.pullback(zeros([3, 2])), { layer: 'CustomLinear', argument: 'cotangent' })
    expectLayerError(r.pullback(zeros([2, 3], 'float64')), { layer: 'CustomLinear', argument: 'cotangent', expected: 'float32', got: 'float64' })
    expectLayerError(r.pullback([1, 2, 3] as never), { layer: 'CustomLinear', argument: 'cotangent' })
  })

  it('rejects a state cotangent of the wrong structure, naming where in the state', () => {
    const lif = scan(lifNode())
    const init = orThrow(lif.init(key(0), [2, 3]))
    const xs = tensor([0.6, 1, 0.2, 0.7, 0.3, 0.9], [2, 3])
    const r = orThrow(vjp(lif, init.params, init.state, xs, train(undefined, cpu)))
    const cot = zeros([2, 3])
    expectLayerError(r.pullback(cot, 5), { layer: 'scan(LIFNode)', argument: 'stateCotangent', expected: 'an object shaped like the state' })
    expectLayerError(r.pullback(cot, { v: 'x' }), { layer: 'scan(LIFNode)', argument: 'stateCotangent.v', expected: 'a tensor' })
    expectLayerError(r.pullback(cot, { v: zeros([2]) }), { layer: 'scan(LIFNode)', argument: 'stateCotangent.v', expected: 'shape [3]', got: '[2]' })

    const net = sequential(fc23, lifNode())
    const ni = orThrow(net.init(key(0), [2, 2]))
    const rn = orThrow(vjp(net, [params, empty], ni.state, x, train(undefined, cpu)))
    expectLayerError(rn.pullback(zeros([2, 3]), { v: zeros([2, 3]) }), {
      layer: 'sequential(CustomLinear, LIFNode)',
      argument: 'stateCotangent',
      expected: 'an array of 2',
    })
    expectLayerError(rn.pullback(zeros([2, 3]), [null, { v: zeros([3, 2]) }]), {
      layer: 'sequential(CustomLinear, LIFNode)',
      argument: 'stateCotangent[1].v',
    })
  })

  // a state cotangent is checked as the output's is: shape, dtype, and the state's structure
  it('rejects a state cotangent of the wrong dtype', () => {
    const lif = scan(lifNode())
    const init = orThrow(lif.init(key(0), [2, 3]))
    const r = orThrow(vjp(lif, init.params, init.state, zeros([2, 3]), train(undefined, cpu)))
    expectLayerError(r.pullback(zeros([2, 3]), { v: zeros([3], 'float64') }), { layer: 'scan(LIFNode)', argument: 'stateCotangent.v' })
  })

  it('rejects an array where the state is a record', () => {
    const lif = scan(lifNode())
    const init = orThrow(lif.init(key(0), [2, 3]))
    const r = orThrow(vjp(lif, init.params, init.state, zeros([2, 3]), train(undefined, cpu)))
    expectLayerError(r.pullback(zeros([2, 3]), [zeros([3])]), { layer: 'scan(LIFNode)', argument: 'stateCotangent' })
  })

  it('rejects a step that reads a traced value back to the host (its gradient would be lost)', () => {
    const peek = defineLayer({
      name: 'Peek',
      outputShape: (s) => E.right(s),
      params: record({}),
      state: record({}),
      init: () => ({ params: empty, state: empty }),
      run: (d, _p, state, input) => {
        const host = d.read(input.buffer)
        return { output: new DeviceTensor(d.upload(host), input.shape), state }
      },
    })
    expectLayerError(vjp(peek, empty, empty, x, ctx), { layer: 'Peek', argument: 'layer', got: 'reads one back' })
    // outside a gradient the same step is fine
    expect(toNested(orThrow(peek.apply(empty, empty, x, ctx)).output)).toEqual(toNested(x))
  })
})

describe('pullbacks', () => {
  it('give W^T and x^T, and the same bits when called twice', () => {
    const r = orThrow(vjp(fc23, params, empty, x, ctx))
    expect(toNested(r.output)).toEqual([
      [-3, -3, -3],
      [4, 6.5, 9],
    ])
    const cot = tensor([1, 0, 0, 0, 1, 1], [2, 3])
    const a = orThrow(r.pullback(cot))
    const b = orThrow(r.pullback(cot))
    // dx = cot W^T, dW = x^T cot
    expect(toNested(a.input)).toEqual([
      [1, 4],
      [5, 11],
    ])
    expect(toNested(a.params.weight)).toEqual([
      [1, 2, 2],
      [-1, 0.5, 0.5],
    ])
    expect(Array.from(b.input.data)).toEqual(Array.from(a.input.data))
    expect(Array.from(b.params.weight.data)).toEqual(Array.from(a.params.weight.data))
    expect(b.input.data).not.toBe(a.input.data)
  })

  it('read a strided cotangent as its contiguous copy', () => {
    const r = orThrow(vjp(fc23, params, empty, x, ctx))
    const stored = tensor([1, 4, 2, 5, 3, 6], [3, 2])
    const view = stored.transpose(1, 0) as Tensor
    const contiguous = tensor([1, 2, 3, 4, 5, 6], [2, 3])
    expect(toNested(orThrow(r.pullback(view)).input)).toEqual(toNested(orThrow(r.pullback(contiguous)).input))
  })

  it('give zeros where no gradient reaches, null where the state holds null', () => {
    // CustomLinear's mask only gates update: no gradient reaches it
    const masked = orThrow(customLinearParams({ weight, mask: zeros([2, 3]) }))
    const g = orThrow(orThrow(vjp(fc23, masked, empty, x, ctx)).pullback(tensor([1, 1, 1, 1, 1, 1], [2, 3])))
    expect(Array.from(g.params.mask!.data)).toEqual([0, 0, 0, 0, 0, 0])
    expect(g.params.bias).toBeNull()

    // IFNeuron's spike passes no gradient (surrogate 'none'); a fresh state's v is null
    const neuron = ifNeuron()
    const r = orThrow(vjp(neuron, empty, { v: null }, tensor([0.5, 1.5], [2]), train(undefined, cpu)))
    const gn = orThrow(r.pullback(tensor([1, 1], [2])))
    expect(Array.from(gn.input.data)).toEqual([0, 0])
    expect(gn.state.v).toBeNull()

    // batch norm in training: the running statistics are buffers, and get zeros
    const bn = thresholdDependentBatchNorm2d({ numFeatures: 1, alpha: 1 })
    const init = orThrow(bn.init(key(0), [2, 1, 1, 1]))
    const rb = orThrow(vjp(bn, init.params, init.state, tensor([1, 3], [2, 1, 1, 1]), train(undefined, cpu)))
    const gb = orThrow(rb.pullback(tensor([1, -1], [2, 1, 1, 1])))
    expect(Array.from(gb.state.runningMean.data)).toEqual([0])
    expect(Array.from(gb.state.runningVar.data)).toEqual([0])
    expect(gb.state.numBatchesTracked).toBe(0)
  })

  it('are float64 for float64 data, float32 for float32 data', () => {
    const p64 = orThrow(customLinearParams({ weight: tensor([1, 2, 3, 4, 5, 6], [2, 3], 'float64') }))
    const x64 = tensor([1, -1, 2, 0.5], [2, 2], 'float64')
    const r = orThrow(vjp(fc23, p64, empty, x64, ctx))
    expect(r.output.data).toBeInstanceOf(Float64Array)
    const g = orThrow(r.pullback(zeros([2, 3], 'float64')))
    expect(g.input.data).toBeInstanceOf(Float64Array)
    expect(g.params.weight.data).toBeInstanceOf(Float64Array)
    const g32 = orThrow(orThrow(vjp(fc23, params, empty, x, ctx)).pullback(zeros([2, 3])))
    expect(g32.input.data).toBeInstanceOf(Float32Array)
    expect(g32.params.weight.data).toBeInstanceOf(Float32Array)
  })
})

describe('vjp through sequential and scan', () => {
  it('sequential: the chain rule, each layer its own params cotangent', () => {
    const second = customLinear({ inFeatures: 3, outFeatures: 1 })
    const v = orThrow(customLinearParams({ weight: tensor([1, -1, 2], [3, 1]) }))
    const net = sequential(fc23, second)
    const r = orThrow(vjp(net, [params, v], [empty, empty], x, ctx))
    // y = x W V: W V = [[1 - 2 + 6], [4 - 5 + 12]] = [[5], [11]]
    expect(toNested(r.output)).toEqual([[-6], [15.5]])
    const g = orThrow(r.pullback(tensor([1, 2], [2, 1])))
    // dx = cot (W V)^T; dV = (x W)^T cot; dW = x^T cot V^T
    expect(toNested(g.input)).toEqual([
      [5, 11],
      [10, 22],
    ])
    expect(toNested(g.params[1].weight)).toEqual([[5], [10], [15]])
    expect(toNested(g.params[0].weight)).toEqual([
      [5, -5, 10],
      [0, 0, 0],
    ])
  })

  it('scan: the weight cotangent sums over steps, the input gets one per step', () => {
    const seq = scan(fc23)
    const xs = tensor([1, 0, 0, 1, 2, 2], [3, 1, 2])
    const r = orThrow(vjp(seq, params, empty, xs, ctx))
    expect(r.output.shape).toEqual([3, 1, 3])
    const cot = tensor([1, 0, 0, 0, 1, 0, 0, 0, 1], [3, 1, 3])
    const g = orThrow(r.pullback(cot))
    // dW = sum_t x_t^T cot_t; dx_t = cot_t W^T
    expect(toNested(g.params.weight)).toEqual([
      [1, 0, 2],
      [0, 1, 2],
    ])
    expect(toNested(g.input)).toEqual([[[1, 4]], [[2, 5]], [[3, 6]]])
  })

  it('scan of a neuron: the state cotangent of the final potential reaches the first step', () => {
    const seq = scan(ifNeuron({ threshold: 10 }))
    const init = orThrow(seq.init(key(0), [2, 1]))
    const r = orThrow(vjp(seq, init.params, { v: tensor([0.5], [1]) }, tensor([1, 2], [2, 1]), train(undefined, cpu)))
    expect(toNested((r.state as { v: Tensor }).v)).toEqual([3.5])
    // soft reset, no spike: v_T = v_0 + x_1 + x_2, so every cotangent is the final one
    const g = orThrow(r.pullback(zeros([2, 1]), { v: tensor([3], [1]) }))
    expect(toNested(g.input)).toEqual([[3], [3]])
    expect(toNested((g.state as { v: Tensor }).v)).toEqual([3])
  })
})

describe('valueAndGrad', () => {
  type W = { readonly w: Tensor }
  const sumOf = <B>(d: Device<B>, b: B): DeviceTensor<B> =>
    new DeviceTensor(d.sumAlongAxis(b, { outer: 1, axis: d.lengthOf(b), inner: 1 }), [1])

  it('gives the value and the gradient of a scalar function', () => {
    const f = <B>(d: Device<B>, p: OnDevice<W, B>) => sumOf(d, d.mul(p.w.buffer, p.w.buffer))
    const { value, grad } = orThrow(valueAndGrad<W>(f, cpu)({ w: tensor([3, -4], [2], 'float64') }))
    expect(value).toBe(25)
    expect(toNested(grad.w)).toEqual([6, -8])
    expect(grad.w.data).toBeInstanceOf(Float64Array)
  })

  it('rejects a function that is not scalar, naming f', () => {
    const f = <B>(d: Device<B>, p: OnDevice<W, B>) => new DeviceTensor(d.mul(p.w.buffer, p.w.buffer), [2])
    expectLayerError(valueAndGrad<W>(f, cpu)({ w: tensor([3, 4], [2]) }), { layer: 'valueAndGrad', argument: 'f', got: '[2]' })
  })

  it('rejects a params leaf that is not a tensor (a bare typed array), naming params and its path', () => {
    const f = <B>(d: Device<B>, p: OnDevice<W, B>) => sumOf(d, p.w.buffer)
    // the params tree is checked as a whole (expectTree), so the error names the leaf's path
    expectLayerError(valueAndGrad<W>(f, cpu)({ w: new Float32Array([1, 2]) as never }), { layer: 'valueAndGrad', argument: 'params.w' })
  })

  it('gives zeros for params the function does not use', () => {
    type WU = { readonly w: Tensor; readonly unused: Tensor }
    const f = <B>(d: Device<B>, p: OnDevice<WU, B>) => sumOf(d, p.w.buffer)
    const { value, grad } = orThrow(valueAndGrad<WU>(f, cpu)({ w: tensor([1, 2], [2]), unused: tensor([5], [1]) }))
    expect(value).toBe(3)
    expect(toNested(grad.w)).toEqual([1, 1])
    expect(toNested(grad.unused)).toEqual([0])
  })
})

describe('lossAndGrad', () => {
  /** `inner` with a count of its kernel calls by name. */
  const counting = (inner: Device<unknown>) => {
    const calls = new Map<string, number>()
    const device = deviceFrom<unknown>(
      {
        name: inner.name,
        dtypeOf: (b) => inner.dtypeOf(b),
        lengthOf: (b) => inner.lengthOf(b),
        upload: (d) => inner.upload(d),
        read: (b) => inner.read(b),
        free: (b) => inner.free(b),
        garbageCollected: inner.garbageCollected,
      },
      (kernel, args) => {
        calls.set(kernel, (calls.get(kernel) ?? 0) + 1)
        return inner.run(kernel, args)
      },
    )
    return { device, calls }
  }
  const net = sequential(
    conv2d({ inChannels: 1, outChannels: 2, kernelSize: 3, padding: 1 }),
    flatten(),
    customLinear({ inFeatures: 2 * 4 * 4, outFeatures: 3, bias: true }),
  )
  const input = tensor(Array.from({ length: 2 * 16 }, (_, i) => Math.sin(i)), [2, 1, 4, 4])
  const target = tensor([0, 2], [2])

  it("gives the chained vjps' loss and gradients bit for bit, without computing the input's cotangent", () => {
    const init = orThrow(net.init(key(0), [2, 1, 4, 4]))
    const ours = counting(cpu as Device<unknown>)
    const r = orThrow(lossAndGrad(net, crossEntropyLoss())(init.params, init.state, input, target, train(key(1), ours.device)))
    // by hand: the model's vjp, the loss's vjp, chained
    const byHand = counting(cpu as Device<unknown>)
    const ctx = train(key(1), byHand.device)
    const m = orThrow(vjp(net, init.params, init.state, input, ctx))
    const l = orThrow(vjp(withTarget(crossEntropyLoss(), target), empty, empty, m.output, ctx))
    const g = orThrow(m.pullback(orThrow(l.pullback(tensor([1], []))).input))
    expect(r.loss).toBe(flatData(l.output)[0])
    expect(sameBits(r.grads, g.params)).toBe(true)
    // the model's input is a constant to the tape: its transposed convolution is never run
    expect(byHand.calls.get('conv2dGradInput')).toBe(1)
    expect(ours.calls.get('conv2dGradInput')).toBeUndefined()
    expect(ours.calls.get('conv2dGradWeight')).toBe(1)
  })
})
