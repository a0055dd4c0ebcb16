/**
 * The WebAssembly SIMD backend: the kernels of asm/ behind the {@link Backend} interface,
 * composed with the JavaScript reference. Float32 calls run in WebAssembly; float64 data, the
 * k > 1 selection and anything the memory cannot hold run the reference kernels, so every
 * call has an answer and layers never know which one ran.
 *
 * @module
 */
import type { Data } from '../../tensor/tensor.js'
import type { Backend, PoolMode, PoolWindow, Stats } from '../backend.js'
import { pooledSize } from '../backend.js'
import { cpu } from '../cpu/index.js'
import { Arena } from './arena.js'

/** The exports of the compiled asm/kernels.ts (pointers are byte offsets). */
export interface KernelExports {
  readonly memory: WebAssembly.Memory
  matmulScratchBytes(m: number, k: number, n: number): number
  matmul(out: number, a: number, b: number, m: number, k: number, n: number, bias: number, scratch: number): void
  mul(out: number, a: number, b: number, len: number): void
  axpy(out: number, a: number, alpha: number, b: number, len: number): void
  pool2d(
    out: number, x: number, planes: number, height: number, width: number,
    kh: number, kw: number, sh: number, sw: number, ph: number, pw: number, isMax: number,
  ): void
  upsampleNearest(out: number, x: number, planes: number, height: number, width: number, factor: number): void
  momentsAlongAxis(mean: number, variance: number, x: number, outer: number, axis: number, inner: number): void
  momentsPerChannel(mean: number, variance: number, x: number, outer: number, channels: number, inner: number): void
  normalizeAlongAxis(
    out: number, x: number, outer: number, axis: number, inner: number,
    mean: number, invStd: number, weight: number, bias: number,
  ): void
  channelAffine(
    out: number, x: number, outer: number, channels: number, inner: number, scale: number, shift: number,
  ): void
  maxAlongAxis(out: number, x: number, outer: number, axis: number, inner: number): void
  keepMaxAlongAxis(
    out: number, x: number, noise: number, outer: number, axis: number, inner: number, best: number,
  ): void
  liPoolStep(
    out: number, next: number, sum: number, x: number, planes: number, height: number, width: number,
    k: number, isMax: number,
  ): void
  uniformFill(out: number, n: number, state: number): void
  groupMean(out: number, x: number, rows: number, length: number, size: number): void
}

/** True when every array is float32 storage (the kernels' only element type). */
const float32 = (...xs: readonly (Data | undefined)[]): boolean =>
  xs.every((x) => x === undefined || x instanceof Float32Array)

/** The first `n` elements of `x`, as a view (kernels get exactly-sized blocks). */
const head = <T extends Data>(x: T, n: number): T => (x.length === n ? x : (x.subarray(0, n) as T))

/** Bytes of input plus output per slice of a bandwidth-bound call: well inside a 512 KiB L2. */
const CHUNK_BYTES = 192 * 1024

/** Elements [start, start + count) of `x`, as a view. */
const part = <T extends Data>(x: T, start: number, count: number): T => x.subarray(start, start + count) as T

/** A Backend running `k` (an instantiated kernel module), falling back to `cpu`. */
export const backendFrom = (k: KernelExports): Backend => {
  const arena = new Arena(k.memory)

  /**
   * Lays out `inputs`, `outputs` and `extraBytes` of scratch in the arena, copies the inputs
   * in, runs `body` with their offsets, and copies the outputs back. False (nothing written)
   * when the memory cannot grow to hold the call.
   */
  const call = (
    inputs: readonly Data[],
    outputs: readonly Data[],
    extraBytes: number,
    body: (inPtr: readonly number[], outPtr: readonly number[], scratch: number) => void,
  ): boolean => {
    const sizes = [...inputs, ...outputs].map((d) => d.length * d.BYTES_PER_ELEMENT)
    const offsets = arena.reserve([...sizes, extraBytes])
    if (offsets === undefined) return false
    inputs.forEach((d, i) => arena.write(offsets[i], d))
    const outPtr = offsets.slice(inputs.length, inputs.length + outputs.length)
    body(offsets.slice(0, inputs.length), outPtr, offsets[offsets.length - 1])
    outputs.forEach((d, i) => arena.read(outPtr[i], d))
    return true
  }

  /**
   * Runs `run(start, count)` over [0, items) in slices of about CHUNK_BYTES (`bytesPerItem`
   * being one item's input and output bytes). Bandwidth-bound kernels go slice by slice so that
   * the copy in, the kernel and the copy out all hit the L2 cache: each element then crosses
   * main memory once each way, as if the tensor lived in WebAssembly memory. Items are
   * independent (planes, rows, outer blocks), so slicing changes no result.
   */
  const sliced = (items: number, bytesPerItem: number, run: (start: number, count: number) => boolean): boolean => {
    const per = Math.max(1, Math.floor(CHUNK_BYTES / Math.max(1, bytesPerItem)))
    for (let start = 0; start < items; start += per) if (!run(start, Math.min(per, items - start))) return false
    return true
  }

  const matmul = (out: Data, a: Data, b: Data, m: number, kk: number, n: number, bias?: Data): void => {
    if (!float32(out, a, b, bias) || m * n === 0) return cpu.matmul(out, a, b, m, kk, n, bias)
    const ins = bias ? [head(a, m * kk), head(b, kk * n), head(bias, n)] : [head(a, m * kk), head(b, kk * n)]
    const ok = call(ins, [head(out, m * n)], k.matmulScratchBytes(m, kk, n), ([pa, pb, pbias], [po], s) =>
      k.matmul(po, pa, pb, m, kk, n, pbias ?? 0, s),
    )
    if (!ok) cpu.matmul(out, a, b, m, kk, n, bias)
  }

  const mul = (out: Data, a: Data, b: Data): void => {
    const n = out.length
    if (!float32(out, a, b) || n === 0) return cpu.mul(out, a, b)
    const ok = sliced(n, 12, (s, c) =>
      call([part(a, s, c), part(b, s, c)], [part(out, s, c)], 0, ([pa, pb], [po]) => k.mul(po, pa, pb, c)),
    )
    if (!ok) cpu.mul(out, a, b)
  }

  const axpy = (out: Data, a: Data, alpha: number, b: Data): void => {
    const n = out.length
    if (!float32(out, a, b) || n === 0) return cpu.axpy(out, a, alpha, b)
    const ok = sliced(n, 12, (s, c) =>
      call([part(a, s, c), part(b, s, c)], [part(out, s, c)], 0, ([pa, pb], [po]) => k.axpy(po, pa, alpha, pb, c)),
    )
    if (!ok) cpu.axpy(out, a, alpha, b)
  }

  const pool2d = (
    out: Data, x: Data, planes: number, height: number, width: number, w: PoolWindow, mode: PoolMode,
  ): void => {
    const [outH, outW] = pooledSize(height, width, w)
    const size = planes * outH * outW
    if (!float32(out, x) || size <= 0) return cpu.pool2d(out, x, planes, height, width, w, mode)
    const inPlane = height * width
    const outPlane = outH * outW
    const isMax = mode === 'max' ? 1 : 0
    const ok = sliced(planes, 4 * (inPlane + outPlane), (s, c) =>
      call([part(x, s * inPlane, c * inPlane)], [part(out, s * outPlane, c * outPlane)], 0, ([px], [po]) =>
        k.pool2d(po, px, c, height, width, w.kernelH, w.kernelW, w.strideH, w.strideW, w.padH, w.padW, isMax),
      ),
    )
    if (!ok) cpu.pool2d(out, x, planes, height, width, w, mode)
  }

  const upsampleNearest = (out: Data, x: Data, planes: number, height: number, width: number, factor: number): void => {
    const size = planes * height * width
    if (!float32(out, x) || size === 0 || factor < 1) return cpu.upsampleNearest(out, x, planes, height, width, factor)
    const inPlane = height * width
    const outPlane = inPlane * factor * factor
    const ok = sliced(planes, 4 * (inPlane + outPlane), (s, c) =>
      call([part(x, s * inPlane, c * inPlane)], [part(out, s * outPlane, c * outPlane)], 0, ([px], [po]) =>
        k.upsampleNearest(po, px, c, height, width, factor),
      ),
    )
    if (!ok) cpu.upsampleNearest(out, x, planes, height, width, factor)
  }

  const momentsAlongAxis = (
    mean: Stats, variance: Stats, x: Data, outer: number, axis: number, inner: number,
  ): void => {
    const n = outer * axis * inner
    if (!float32(x) || n === 0) return cpu.momentsAlongAxis(mean, variance, x, outer, axis, inner)
    const block = axis * inner
    const ok = sliced(outer, 4 * block + 16 * inner, (s, c) =>
      call(
        [part(x, s * block, c * block)],
        [part(mean, s * inner, c * inner), part(variance, s * inner, c * inner)],
        0,
        ([px], [pm, pv]) => k.momentsAlongAxis(pm, pv, px, c, axis, inner),
      ),
    )
    if (!ok) cpu.momentsAlongAxis(mean, variance, x, outer, axis, inner)
  }

  const momentsPerChannel = (
    mean: Stats, variance: Stats, x: Data, outer: number, channels: number, inner: number,
  ): void => {
    const n = outer * channels * inner
    if (!float32(x) || n === 0) return cpu.momentsPerChannel(mean, variance, x, outer, channels, inner)
    const ok = call([head(x, n)], [head(mean, channels), head(variance, channels)], 0, ([px], [pm, pv]) =>
      k.momentsPerChannel(pm, pv, px, outer, channels, inner),
    )
    if (!ok) cpu.momentsPerChannel(mean, variance, x, outer, channels, inner)
  }

  const normalizeAlongAxis = (
    out: Data, x: Data, outer: number, axis: number, inner: number,
    mean: Stats, invStd: Stats, weight: Data, bias: Data,
  ): void => {
    const n = outer * axis * inner
    if (!float32(out, x, weight, bias) || n === 0) {
      return cpu.normalizeAlongAxis(out, x, outer, axis, inner, mean, invStd, weight, bias)
    }
    const block = axis * inner
    const w = head(weight, axis)
    const b = head(bias, axis)
    const ok = sliced(outer, 8 * block + 16 * inner, (st, c) => {
      const stats = (d: Stats) => part(d, st * inner, c * inner)
      const ins = [part(x, st * block, c * block), stats(mean), stats(invStd), w, b]
      return call(ins, [part(out, st * block, c * block)], 0, ([px, pm, ps, pw, pb], [po]) =>
        k.normalizeAlongAxis(po, px, c, axis, inner, pm, ps, pw, pb),
      )
    })
    if (!ok) cpu.normalizeAlongAxis(out, x, outer, axis, inner, mean, invStd, weight, bias)
  }

  const channelAffine = (
    out: Data, x: Data, outer: number, channels: number, inner: number, scale: Stats, shift: Stats,
  ): void => {
    const n = outer * channels * inner
    if (!float32(out, x) || n === 0) return cpu.channelAffine(out, x, outer, channels, inner, scale, shift)
    const block = channels * inner
    const a = head(scale, channels)
    const b = head(shift, channels)
    const ok = sliced(outer, 8 * block, (s, c) =>
      call([part(x, s * block, c * block), a, b], [part(out, s * block, c * block)], 0, ([px, pa, pb], [po]) =>
        k.channelAffine(po, px, c, channels, inner, pa, pb),
      ),
    )
    if (!ok) cpu.channelAffine(out, x, outer, channels, inner, scale, shift)
  }

  const kthLargestAlongAxis = (out: Data, x: Data, outer: number, axis: number, inner: number, k1: number): void => {
    const n = outer * axis * inner
    // only the max (k = 1) is ported; larger k sorts in the reference
    if (k1 !== 1 || !float32(out, x) || n === 0) return cpu.kthLargestAlongAxis(out, x, outer, axis, inner, k1)
    const block = axis * inner
    const ok = sliced(outer, 4 * (block + inner), (s, c) =>
      call([part(x, s * block, c * block)], [part(out, s * inner, c * inner)], 0, ([px], [po]) =>
        k.maxAlongAxis(po, px, c, axis, inner),
      ),
    )
    if (!ok) cpu.kthLargestAlongAxis(out, x, outer, axis, inner, k1)
  }

  const keepMaxAlongAxis = (out: Data, x: Data, noise: Data, outer: number, axis: number, inner: number): void => {
    const n = outer * axis * inner
    if (!float32(out, x, noise) || n === 0) return cpu.keepMaxAlongAxis(out, x, noise, outer, axis, inner)
    const block = axis * inner
    const ok = sliced(outer, 12 * block, (s, c) =>
      call(
        [part(x, s * block, c * block), part(noise, s * block, c * block)],
        [part(out, s * block, c * block)],
        4 * inner,
        ([px, pn], [po], best) => k.keepMaxAlongAxis(po, px, pn, c, axis, inner, best),
      ),
    )
    if (!ok) cpu.keepMaxAlongAxis(out, x, noise, outer, axis, inner)
  }

  const liPoolStep = (
    out: Data, nextSum: Data, sum: Data | undefined, x: Data,
    planes: number, height: number, width: number, kk: number, mode: PoolMode,
  ): void => {
    const size = planes * height * width
    const fallback = (): void => cpu.liPoolStep(out, nextSum, sum, x, planes, height, width, kk, mode)
    if (!float32(out, nextSum, sum, x) || size === 0) return fallback()
    const inPlane = height * width
    const outPlane = inPlane / (kk * kk)
    const isMax = mode === 'max' ? 1 : 0
    const ok = sliced(planes, 4 * ((sum ? 3 : 2) * inPlane + outPlane), (s, c) => {
      const img = (d: Data) => part(d, s * inPlane, c * inPlane)
      const ins = sum ? [img(x), img(sum)] : [img(x)]
      return call(ins, [part(out, s * outPlane, c * outPlane), img(nextSum)], 0, ([px, ps], [po, pn]) =>
        // a zero offset tells the kernel there is no sum (the arena never starts at 0)
        k.liPoolStep(po, pn, ps ?? 0, px, c, height, width, kk, isMax),
      )
    })
    if (!ok) fallback()
  }

  const uniformFill = (out: Data, state: readonly number[]): void => {
    if (!float32(out) || out.length === 0) return cpu.uniformFill(out, state)
    // the generator state lives in the call's scratch and is carried from slice to slice
    const words = Uint32Array.from(state)
    const ok = sliced(out.length, 4, (s, c) =>
      call([], [part(out, s, c)], 16, (_, [po], st) => {
        const view = new Uint32Array(k.memory.buffer, st, 4)
        view.set(words)
        k.uniformFill(po, c, st)
        words.set(view)
      }),
    )
    if (!ok) cpu.uniformFill(out, state)
  }

  const groupMean = (out: Data, x: Data, rows: number, length: number, size: number): void => {
    const groups = Math.floor(length / size)
    if (!float32(out, x) || rows * groups === 0) return cpu.groupMean(out, x, rows, length, size)
    const ok = sliced(rows, 4 * (length + groups), (s, c) =>
      call([part(x, s * length, c * length)], [part(out, s * groups, c * groups)], 0, ([px], [po]) =>
        k.groupMean(po, px, c, length, size),
      ),
    )
    if (!ok) cpu.groupMean(out, x, rows, length, size)
  }

  // kernels not ported here (and any added to the interface later) are the reference ones
  return {
    ...cpu,
    name: 'wasm',
    matmul,
    momentsAlongAxis,
    momentsPerChannel,
    normalizeAlongAxis,
    channelAffine,
    pool2d,
    upsampleNearest,
    kthLargestAlongAxis,
    keepMaxAlongAxis,
    liPoolStep,
    uniformFill,
    groupMean,
    mul,
    axpy,
    fire: (spikes, v, threshold, reset, vReset) => cpu.fire(spikes, v, threshold, reset, vReset),
  }
}
