/**
 * Parity: every kernel the GPU device ports against the `cpu` device's kernel, one
 * table-driven suite over the cases of page/cases.ts (random shapes, attributes and data,
 * fast-check), in gpu.js's 'cpu' mode and in the mode gpu.js picks by default here
 * (WebAssembly in Node without GL; the browser test runs a sample of the same table on WebGL2
 * and WebGL). Each call must run on gpu.js (not the host), leave its inputs unchanged, and give
 * the reference's outputs exactly (selections, copies) or within `1e-5 * scale + 1e-7`, `scale`
 * the sum of the magnitudes of the terms behind that output: float32 accumulation over the
 * moderate lengths generated here stays well below that.
 *
 * Then the kernels left to the host (`gpuUnported`) through the fallback: bit-identical to the
 * reference, their outputs on the device. gpu.js compiles a kernel per shape, so the runs per
 * property are kept moderate.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cpu } from '../../src/backend/cpu/index.js'
import { type GpuDevice, gpuUnported, loadGpuBackend } from '../../src/gpu/index.js'
import { gpuKernels } from '../../src/gpu/kernels.js'
import type { KernelName, NeuronAttrs, PoolWindow } from '../../src/kernel/kernels.js'
import { kernelNames, kernelSpecs } from '../../src/kernel/spec.js'
import { key } from '../../src/random/key.js'
import { type Call, checkCall, kernelCases, type Ported } from './page/cases.js'
import { data, expectClose, expectExact } from './tolerance.js'

const RUNS = { cpu: 30, gpu: 20 } as const

describe('the GPU kernel table', () => {
  it('ports or lists every kernel exactly once, and has a parity case for every ported one', () => {
    const ported = Object.keys(gpuKernels)
    expect([...ported, ...gpuUnported].sort()).toEqual([...kernelNames].sort())
    expect(ported.filter((k) => (gpuUnported as readonly string[]).includes(k))).toEqual([])
    expect(Object.keys(kernelCases).sort()).toEqual(ported.sort())
  })
})

describe.each(['cpu', 'gpu'] as const)('GPU kernels vs the cpu device (gpu.js mode %s)', (mode) => {
  let gpu: GpuDevice
  beforeAll(async () => {
    gpu = await loadGpuBackend({ mode })
  })
  afterAll(() => {
    expect(gpu.liveBuffers(), 'device buffers left').toBe(0)
    expect(gpu.fallbacks(), 'kernels gpu.js failed on').toEqual([])
    expect(gpu.kernelModes().filter((k) => k.mode !== gpu.mode), 'kernels gpu.js ran in another mode').toEqual([])
    gpu.destroy()
  })

  it('reports the mode gpu.js compiles for', () => {
    expect(gpu.mode).toBe(mode === 'cpu' ? 'cpu' : 'webasm')
    expect(gpu.name).toBe(`gpu(${gpu.mode})`)
  })

  it.each(Object.keys(kernelCases) as Ported[])('%s', (name) => {
    const resident = mode === 'cpu' ? 'array' : gpu.mode === 'webasm' ? 'array' : 'texture'
    fc.assert(
      fc.property(kernelCases[name] as fc.Arbitrary<Call>, (call) => {
        const r = checkCall(gpu, name, call)
        expect(r.problems).toEqual([])
        for (const k of r.kinds) expect(k, call.what).toBe(resident)
      }),
      { numRuns: RUNS[mode] },
    )
  })

  it('matmul with a reduction longer than gpu.js loop limit (k = 1500)', () => {
    const [m, k, n] = [3, 1500, 4]
    const r = checkCall(gpu, 'matmul', {
      args: [data(m * k, 5), data(k * n, 6), data(n, 7), { m, k, n }],
      outs: [{ scale: () => k }],
      what: '3x1500x4',
    })
    expect(r.problems).toEqual([])
  })

  it('splits flat indices into coordinates exactly up to 2^23 values (odd and prime sizes)', () => {
    const copy: PoolWindow = { kernelH: 1, kernelW: 1, strideH: 1, strideW: 1, padH: 0, padW: 0 }
    // a 1 x 1 window copies: every flat index split by (oh, ow) must land on its own cell;
    // 97 is a divisor where float32 floor(i * (1 / 97)) alone is off by one (at i = 97)
    const exact = { exact: true } as const
    const cases: readonly (readonly [KernelName, Call])[] = [
      [3, 97, 97],
      [2, 1023, 4097],
    ].map(([planes, height, width]) => [
      'pool2d',
      {
        args: [data(planes * height * width, height), { planes, height, width, window: copy, mode: 'max' }],
        outs: [exact],
        what: `1x1 over [${planes}, ${height}, ${width}]`,
      },
    ])
    const near: readonly (readonly [KernelName, Call])[] = [
      // output cells split by ow = 2049, oh = 1024
      [
        'pool2d',
        {
          args: [
            data(2047 * 4097, 51),
            {
              planes: 1,
              height: 2047,
              width: 4097,
              window: { kernelH: 3, kernelW: 3, strideH: 2, strideW: 2, padH: 1, padW: 1 },
              mode: 'max',
            },
          ],
          outs: [exact],
          what: 'max near the limit',
        },
      ],
      // input cells split by w, h and k
      [
        'liPoolStep',
        {
          args: [data(2046 * 4098, 53), data(2046 * 4098, 57), { planes: 1, height: 2046, width: 4098, k: 3, mode: 'max' }],
          outs: [exact, { scale: () => 4 }],
          what: 'near the limit',
        },
      ],
    ]
    for (const [name, call] of [...cases, ...near]) expect(checkCall(gpu, name, call).problems).toEqual([])
  })

  it('runs unported kernels on the host, bit-identical to the reference (rounded to float32), outputs on the device', () => {
    const x = data(2 * 7 * 3, 9)
    const noise = data(x.length, 4).map(Math.abs)
    const conv = { n: 2, c: 2, h: 5, w: 4, o: 3, kh: 3, kw: 2, sh: 1, sw: 2, ph: 1, pw: 0, dh: 1, dw: 1, groups: 1 }
    const neuron: NeuronAttrs = {
      model: 'lif',
      tau: 2,
      threshold: 0.2,
      fireAt: '>',
      reset: 'soft',
      vReset: 0,
      surrogate: 'atan',
      alpha: 2,
    }
    // host arguments: float32 buffers (null where absent), then the attributes
    const calls: readonly (readonly [KernelName, readonly unknown[]])[] = [
      ['uniform', [{ length: 50, key: key(3), dtype: 'float32' }]],
      ['bernoulliMask', [{ length: 50, key: key(4), dtype: 'float32', keep: 0.7, value: 1 / 0.7 }]],
      ['winnerTakeAll', [x, noise, { outer: 2, axis: 7, inner: 3, k: 2, exact: true }]],
      ['winnerTakeAll', [x, noise, { outer: 2, axis: 7, inner: 3, k: 1, exact: false }]],
      ['conv2d', [data(2 * 2 * 5 * 4, 5), data(3 * 2 * 3 * 2, 6), data(3, 7), conv]],
      ['crossEntropy', [data(4 * 5, 8), Float32Array.of(0, 4, 2, 1), { n: 4, c: 5, smoothing: 0.1 }]],
      ['groupMeanGrad', [data(2 * 3, 10), { rows: 2, length: 7, size: 2 }]],
      ['neuronGrad', [data(12, 11), null, data(12, 12), data(12, 13), neuron]],
    ]
    for (const [name] of calls) expect(gpuUnported, name).toContain(name)
    for (const [name, args] of calls) {
      const before = gpu.hostCalls()[name] ?? 0
      const inputs = kernelSpecs[name].inputs as number
      const buffers = args.slice(0, inputs).map((a) => (a === null ? null : gpu.upload(a as Float32Array)))
      const outs = gpu.run(name, [...buffers, ...args.slice(inputs)])
      expect(gpu.hostCalls()[name], name).toBe(before + 1)
      const want = cpu.run(name, args)
      outs.forEach((out, j) => {
        expect(out.kind, name).toBe(mode === 'cpu' || gpu.mode === 'webasm' ? 'array' : 'texture')
        expectExact(`${name} output ${j}`, gpu.read(out), Float32Array.from(want[j]))
      })
      ;[...outs, ...buffers].forEach((b) => b !== null && gpu.free(b))
    }
  })

  it('matmul agrees with the cpu device on float32 operands read in place (offset views)', () => {
    const backing = data(64, 12)
    const [m, k, n] = [3, 4, 2]
    const a = backing.subarray(1, 1 + m * k)
    const b = backing.subarray(20, 20 + k * n)
    const [ga, gb] = [gpu.upload(a), gpu.upload(b)]
    const got = gpu.matmul(ga, gb, null, { m, k, n })
    expectClose('matmul on offset views', gpu.read(got), cpu.matmul(a, b, null, { m, k, n }), () => k)
    ;[ga, gb, got].forEach((x) => gpu.free(x))
  })
})
