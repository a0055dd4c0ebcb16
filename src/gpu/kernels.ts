/**
 * The gpu.js kernel sources, one per Backend kernel that runs on the GPU.
 *
 * Kept as source text, not as functions: gpu.js transpiles a kernel from its source, and a
 * bundler or minifier (esbuild, rolldown, terser) may rewrite a function's text into forms the
 * transpiler rejects. Sizes arrive as `this.constants`, so a kernel is compiled per shape and
 * every loop bound is a compile-time constant (gpu.js needs fixed loop bounds on WebGL).
 *
 * Index arithmetic stays integral: the multi-dimensional output (`this.thread.x/y/z`) gives
 * each thread its coordinates without a float division, and the one division left
 * (upsampling) is `floor((i + 0.5) / f)`, which no float rounding can push across an integer.
 * Maxima start from the window's first real cell, not from `-Infinity`, which GLSL lacks.
 *
 * The window loop and the pooling bodies are shared with the GPU device's 1-D kernels
 * (`deviceKernels.ts`), which give them the output cell as expressions of the flat index.
 *
 * @module
 */
import type { PoolWindow } from '../backend/backend.js'

/** One kernel: its source, the types of its arguments, and how its output is laid out. */
export interface KernelSource {
  readonly source: string
  /** gpu.js argument types, by parameter name; 'Array' for flat float32 data, 'Float' for scalars. */
  readonly argumentTypes: Readonly<Record<string, 'Array' | 'Float'>>
}

const arrays = (...names: readonly string[]): Readonly<Record<string, 'Array'>> =>
  Object.fromEntries(names.map((n) => [n, 'Array' as const]))

/** Output [n, m] (x = column j, y = row i). Constants: k, n. */
export const matmul: KernelSource = {
  source: `function (a, b) {
  let s = 0.0;
  for (let p = 0; p < this.constants.k; p++) {
    s += a[this.thread.y * this.constants.k + p] * b[p * this.constants.n + this.thread.x];
  }
  return s;
}`,
  argumentTypes: arrays('a', 'b'),
}

/** matmul with the bias added in the same kernel (no second pass over the output). */
export const matmulBias: KernelSource = {
  source: `function (a, b, bias) {
  let s = 0.0;
  for (let p = 0; p < this.constants.k; p++) {
    s += a[this.thread.y * this.constants.k + p] * b[p * this.constants.n + this.thread.x];
  }
  return s + bias[this.thread.x];
}`,
  argumentTypes: arrays('a', 'b', 'bias'),
}

/**
 * The output cell a pooling thread computes, as source expressions: its plane, output row and
 * output column. The backend's kernels take them from the thread's coordinates; the device's
 * 1-D kernels compute them from the flat index.
 */
export interface PoolCell {
  /** The plane (image) index. */
  readonly plane: string
  /** The output row. */
  readonly row: string
  /** The output column. */
  readonly col: string
}

const threadCell: PoolCell = { plane: 'this.thread.z', row: 'this.thread.y', col: 'this.thread.x' }

/**
 * The loop over a window's real cells (padding skipped), with `i` the flat index of the cell in
 * the input, running `body` for each. Constants: h, w, kh, kw, sh, sw, ph, pw.
 */
const windowLoop = (body: string, cell: PoolCell): string => `
  const y0 = ${cell.row} * this.constants.sh - this.constants.ph;
  const x0 = ${cell.col} * this.constants.sw - this.constants.pw;
  const base = ${cell.plane} * this.constants.h * this.constants.w;
  for (let dy = 0; dy < this.constants.kh; dy++) {
    const y = y0 + dy;
    if (y >= 0 && y < this.constants.h) {
      for (let dx = 0; dx < this.constants.kw; dx++) {
        const xx = x0 + dx;
        if (xx >= 0 && xx < this.constants.w) {
          const i = base + y * this.constants.w + xx;
${body}
        }
      }
    }
  }`

/** The constants of the window loop for images [height, width] and a pooling window. */
export const windowConstants = (height: number, width: number, w: PoolWindow): Record<string, number> => ({
  h: height,
  w: width,
  kh: w.kernelH,
  kw: w.kernelW,
  sh: w.strideH,
  sw: w.strideW,
  ph: w.padH,
  pw: w.padW,
})

/**
 * The body of a max pooling kernel: the largest of `read` (an expression of the cell index
 * `i`) over the window of `cell`, NaN sticking once seen (where the platform's float
 * comparisons honour NaN). Ends with the `return`.
 */
export const poolMaxBody = (read: string, cell: PoolCell = threadCell): string => `
  let acc = 0.0;
  let found = 0;${windowLoop(`          const v = ${read};
          if (found === 0 || v > acc || v !== v) {
            acc = v;
          }
          found = 1;`, cell)}
  return acc;`

/** The body of an average pooling kernel (padding cells count): as {@link poolMaxBody}, plus constant divisor. */
export const poolAvgBody = (read: string, cell: PoolCell = threadCell): string => `
  let acc = 0.0;${windowLoop(`          acc += ${read};`, cell)}
  return acc / this.constants.divisor;`

/** The body of a max pooling kernel ranked by `key[i]`, giving `value[i]`; as {@link poolMaxBody}. */
export const maxPoolByBody = (cell: PoolCell = threadCell): string => `
  let bestKey = 0.0;
  let best = 0.0;
  let found = 0;${windowLoop(`          const k = key[i];
          const v = value[i];
          if (k !== k) {
            bestKey = k;
            best = k;
            found = 1;
          } else if (found === 0 || k > bestKey) {
            bestKey = k;
            best = v;
            found = 1;
          } else if (k === bestKey) {
            if (v > best || v !== v) {
              best = v;
            }
          }`, cell)}
  return best;`

/**
 * Max pooling, output [outW, outH, planes]. Constants: h, w, kh, kw, sh, sw, ph, pw. NaN sticks
 * once seen (where the platform's float comparisons honour NaN).
 */
export const poolMax: KernelSource = {
  source: `function (x) {${poolMaxBody('x[i]')}
}`,
  argumentTypes: arrays('x'),
}

/** Average pooling, padding cells counting (PyTorch's count_include_pad). Constants as poolMax plus divisor. */
export const poolAvg: KernelSource = {
  source: `function (x) {${poolAvgBody('x[i]')}
}`,
  argumentTypes: arrays('x'),
}

/** Max pooling ranked by `key` (SMaxPool's exact mode); same window constants as poolMax. */
export const maxPoolBy: KernelSource = {
  source: `function (key, value) {${maxPoolByBody()}
}`,
  argumentTypes: arrays('key', 'value'),
}

/** Nearest upsampling, output [w * f, h * f, planes]. Constants: h, w, f. */
export const upsample: KernelSource = {
  source: `function (x) {
  const sy = Math.floor((this.thread.y + 0.5) / this.constants.f);
  const sx = Math.floor((this.thread.x + 0.5) / this.constants.f);
  return x[this.thread.z * this.constants.h * this.constants.w + sy * this.constants.w + sx];
}`,
  argumentTypes: arrays('x'),
}

/** Elementwise product, output [size]. */
export const mul: KernelSource = {
  source: `function (a, b) {
  return a[this.thread.x] * b[this.thread.x];
}`,
  argumentTypes: arrays('a', 'b'),
}

/** `a + alpha * b`, output [size]; alpha is an argument, so one kernel serves every alpha. */
export const axpy: KernelSource = {
  source: `function (a, alpha, b) {
  return a[this.thread.x] + alpha * b[this.thread.x];
}`,
  argumentTypes: { a: 'Array', alpha: 'Float', b: 'Array' },
}

/** `x * scale[c] + shift[c]`, output [inner, channels, outer]. Constants: channels, inner. */
export const channelAffine: KernelSource = {
  source: `function (x, scale, shift) {
  const c = this.thread.y;
  return x[(this.thread.z * this.constants.channels + c) * this.constants.inner + this.thread.x] * scale[c] + shift[c];
}`,
  argumentTypes: arrays('x', 'scale', 'shift'),
}

/**
 * `(x - mean[o, i]) * invStd[o, i] * weight[c] + bias[c]`, output [inner, axis, outer].
 * Constants: axis, inner.
 */
export const normalizeAlongAxis: KernelSource = {
  source: `function (x, mean, invStd, weight, bias) {
  const c = this.thread.y;
  const s = this.thread.z * this.constants.inner + this.thread.x;
  const v = x[(this.thread.z * this.constants.axis + c) * this.constants.inner + this.thread.x];
  return (v - mean[s]) * invStd[s] * weight[c] + bias[c];
}`,
  argumentTypes: arrays('x', 'mean', 'invStd', 'weight', 'bias'),
}

/**
 * Mean (z = 0) and biased variance (z = 1) along the middle axis in one kernel, output
 * [inner, outer, 2]: one upload and one readback for both moments. Each thread makes both
 * passes over its column itself. Constants: axis, inner.
 */
export const momentsAlongAxis: KernelSource = {
  source: `function (x) {
  const base = this.thread.y * this.constants.axis * this.constants.inner + this.thread.x;
  let sum = 0.0;
  for (let c = 0; c < this.constants.axis; c++) {
    sum += x[base + c * this.constants.inner];
  }
  const mu = sum / this.constants.axis;
  if (this.thread.z === 0) {
    return mu;
  }
  let squares = 0.0;
  for (let c = 0; c < this.constants.axis; c++) {
    const d = x[base + c * this.constants.inner] - mu;
    squares += d * d;
  }
  return squares / this.constants.axis;
}`,
  argumentTypes: arrays('x'),
}

/**
 * Per (outer o, channel c) row of `inner` values: its sum (z = 0) and its sum of squared
 * deviations from its own mean (z = 1), output [channels, outer, 2]. The host merges the rows
 * in float64 (Chan et al.'s pairwise update), so one kernel gives both per-channel moments and
 * the float32 chains stay `inner` long. Constants: channels, inner.
 */
export const channelPartialMoments: KernelSource = {
  source: `function (x) {
  const base = (this.thread.y * this.constants.channels + this.thread.x) * this.constants.inner;
  let sum = 0.0;
  for (let i = 0; i < this.constants.inner; i++) {
    sum += x[base + i];
  }
  if (this.thread.z === 0) {
    return sum;
  }
  const mu = sum / this.constants.inner;
  let squares = 0.0;
  for (let i = 0; i < this.constants.inner; i++) {
    const d = x[base + i] - mu;
    squares += d * d;
  }
  return squares;
}`,
  argumentTypes: arrays('x'),
}
