/**
 * The gpu.js kernel sources of the GPU device, one or more per ported kernel.
 *
 * Kept as source text, not as functions: gpu.js transpiles a kernel from its source, and a
 * bundler or minifier (esbuild, rolldown, terser) may rewrite a function's text into forms the
 * transpiler rejects. Sizes arrive as `this.constants`, so a kernel is compiled per shape and
 * every loop bound is a compile-time constant (gpu.js needs fixed loop bounds on WebGL); values
 * that change from call to call (an `alpha`, a threshold, an offset) are arguments, so one
 * compiled kernel serves them all.
 *
 * Layout. Every kernel has a 1-D output `[n]`: the device's buffers are all 1-D gpu.js
 * textures of their length, so any buffer indexes like a flat array in any kernel (`x[i]`),
 * and a compiled kernel always sees arguments of one type and one texture size. The price is
 * that a thread gets only its flat index `this.thread.x` and must split it into coordinates
 * itself, which takes divisions; {@link divmod} does them exactly:
 *
 * - the quotient is estimated as `floor((i + 0.5) * (1 / d))`, with `1 / d` a constant rounded
 *   once; for `i < 2^23` the estimate is off by at most one (its error is below `1 / d` while
 *   the exact `(i + 0.5) / d` stays `0.5 / d` away from every integer), and even a GPU whose
 *   multiplication is a few ulp off stays within one;
 * - the remainder `i - q d` is then exact (integers below `2^24` are exact in float32), and one
 *   step up or down corrects the quotient.
 *
 * Every index these kernels form is below the length of some buffer, so the whole arithmetic is
 * exact while every buffer holds at most {@link MAX_RESIDENT_LENGTH} values; the device runs
 * anything larger on the host. Maxima start from the window's first real cell, not from
 * `-Infinity`, which GLSL lacks.
 *
 * @module
 */
import type { PoolMode, PoolWindow } from '../kernel/kernels.js'

/**
 * The most values a buffer on the GPU holds, `2^23`: every index a kernel computes is then an
 * integer below `2^23`, exact in float32 with room for the quotient correction.
 */
export const MAX_RESIDENT_LENGTH = 2 ** 23

/** How a kernel parameter is passed. */
export type ParamKind =
  /** a device buffer: a texture (GL modes) or a float32 array ('cpu', 'webasm'), typed from the value */
  | 'buffer'
  /** a host array, copied in with the call (the upload kernel's) */
  | 'array'
  /** a scalar */
  | 'float'

/** A kernel: its name (the cache key's stem), its source and its parameters in order. */
export interface GpuSource {
  /** The kernel's name and variant, e.g. `matmul.bias`: compiled kernels are cached by it and the sizes. */
  readonly name: string
  /** The kernel function's source text. */
  readonly source: string
  /** The parameters, by name and kind, in the order of the function's. */
  readonly params: readonly (readonly [string, ParamKind])[]
}

// ---------------------------------------------------------------------------------------------
// utils
// ---------------------------------------------------------------------------------------------

const buffers = (...names: readonly string[]): readonly (readonly [string, ParamKind])[] =>
  names.map((n) => [n, 'buffer'] as const)

const floats = (...names: readonly string[]): readonly (readonly [string, ParamKind])[] =>
  names.map((n) => [n, 'float'] as const)

const source = (name: string, params: GpuSource['params'], body: string): GpuSource => ({
  name,
  source: `function (${params.map(([p]) => p).join(', ')}) {${body}
}`,
  params,
})

/** The flat index of a thread. */
const I = 'this.thread.x'

/** `this.constants.<name>`. */
const c = (name: string): string => `this.constants.${name}`

/**
 * Source lines declaring `q = floor(n / d)` and `r = n - q d` for an integer `0 <= n < 2^23`
 * and `d >= 1`, exactly (see the module doc). `invD` is the constant `1 / d`.
 */
export const divmod = (q: string, r: string, n: string, d: string, invD: string): string => `
  let ${q} = Math.floor((${n} + 0.5) * ${invD});
  let ${r} = ${n} - ${q} * ${d};
  if (${r} < 0) {
    ${q} = ${q} - 1;
    ${r} = ${r} + ${d};
  }
  if (${r} >= ${d}) {
    ${q} = ${q} + 1;
    ${r} = ${r} - ${d};
  }`

/** A divisor constant `name` with its inverse `inv<Name>`, for {@link divmod}. */
export const divisor = (name: string, value: number): Readonly<Record<string, number>> => ({
  [name]: value,
  [`inv${name[0].toUpperCase()}${name.slice(1)}`]: 1 / value,
})

/** {@link divmod} by the constant `d` (declared with {@link divisor}). */
const divBy = (q: string, r: string, n: string, d: string): string =>
  divmod(q, r, n, c(d), c(`inv${d[0].toUpperCase()}${d.slice(1)}`))

// ---------------------------------------------------------------------------------------------
// moving values
// ---------------------------------------------------------------------------------------------

/** Copies a host array into a buffer: output [n]. */
export const upload: GpuSource = source('upload', [['x', 'array']], `\n  return x[${I}];`)

/** Values `[offset, offset + n)` of x: output [n]; `offset` an argument. */
export const slice: GpuSource = source('slice', [...buffers('x'), ...floats('offset')], `\n  return x[${I} + offset];`)

/** `value` everywhere: output [n]. */
export const fill: GpuSource = source('fill', floats('value'), '\n  return value;')

/**
 * `x` (length `len`) written at `offset` into a buffer of the output's length, zeros elsewhere
 * (`place(false)`) or `into`'s values elsewhere (`place(true)`). `offset` is an argument, so one
 * compiled kernel places every part of a concatenation of equal parts (a scan's steps).
 */
export const place = (withInto: boolean): GpuSource =>
  source(
    withInto ? 'place.into' : 'place',
    [...buffers(...(withInto ? ['into', 'x'] : ['x'])), ...floats('offset')],
    `
  const j = ${I} - offset;
  if (j >= 0 && j < ${c('len')}) {
    return x[j];
  }
  return ${withInto ? `into[${I}]` : '0.0'};`,
  )

// ---------------------------------------------------------------------------------------------
// linear algebra and reductions
// ---------------------------------------------------------------------------------------------

/**
 * `A @ B (+ bias)`, output [m * n], summed in order of the summed index from the bias (as the
 * reference). A is `a [m, k]` or, transposed, `a [k, m]`; B likewise. Constants: m, k, n, invN.
 */
export const matmul = (bias: boolean, transA: boolean, transB: boolean): GpuSource =>
  source(
    `matmul${bias ? '.bias' : ''}${transA ? '.tA' : ''}${transB ? '.tB' : ''}`,
    buffers(...(bias ? ['a', 'b', 'bias'] : ['a', 'b'])),
    `${divBy('row', 'col', I, 'n')}
  let s = ${bias ? 'bias[col]' : '0.0'};
  for (let p = 0; p < ${c('k')}; p++) {
    s += a[${transA ? `p * ${c('m')} + row` : `row * ${c('k')} + p`}] * b[${transB ? `col * ${c('k')} + p` : `p * ${c('n')} + col`}];
  }
  return s;`,
  )

/**
 * The column of x viewed as [outer, axis, inner] that thread `I` reduces: `base`, step
 * `inner`. Constants: axis, inner (with inverse).
 */
const columnPrelude = `${divBy('o', 'i', I, 'inner')}
  const base = o * ${c('axis')} * ${c('inner')} + i;`

/** The sum along the middle axis of [outer, axis, inner], output [outer * inner]. */
export const sumAlongAxis: GpuSource = source(
  'sumAlongAxis',
  buffers('x'),
  `${columnPrelude}
  let s = 0.0;
  for (let j = 0; j < ${c('axis')}; j++) {
    s += x[base + j * ${c('inner')}];
  }
  return s;`,
)

/** x [outer, inner] repeated along a middle axis: output [outer * axis * inner] (`repeatSteps`). */
export const broadcastAlongAxis: GpuSource = source(
  'broadcastAlongAxis',
  buffers('x'),
  `${divBy('t', 'i', I, 'inner')}${divBy('o', 'step', 't', 'axis')}
  return x[o * ${c('inner')} + i];`,
)

/**
 * The mean (`'mean'`) or the biased variance (`'variance'`, two passes in the thread) along
 * the middle axis of [outer, axis, inner], output [outer * inner].
 */
export const momentAlongAxis = (which: 'mean' | 'variance'): GpuSource =>
  source(
    `momentsAlongAxis.${which}`,
    buffers('x'),
    `${columnPrelude}
  let sum = 0.0;
  for (let j = 0; j < ${c('axis')}; j++) {
    sum += x[base + j * ${c('inner')}];
  }
  const mu = sum / ${c('axis')};${
  which === 'mean'
    ? `
  return mu;`
    : `
  let squares = 0.0;
  for (let j = 0; j < ${c('axis')}; j++) {
    const d = x[base + j * ${c('inner')}] - mu;
    squares += d * d;
  }
  return squares / ${c('axis')};`
}`,
  )

/**
 * Per row (outer o, channel c) of `inner` values of x viewed as [outer, channels, inner]: its
 * sum (`'sum'`) or its sum of squared deviations from its own mean (`'squares'`), output
 * [outer * channels]. Constants: inner.
 */
export const rowMoment = (which: 'sum' | 'squares'): GpuSource =>
  source(
    `momentsPerChannel.${which}`,
    buffers('x'),
    `
  const base = ${I} * ${c('inner')};
  let sum = 0.0;
  for (let j = 0; j < ${c('inner')}; j++) {
    sum += x[base + j];
  }${
  which === 'sum'
    ? `
  return sum;`
    : `
  const mu = sum / ${c('inner')};
  let squares = 0.0;
  for (let j = 0; j < ${c('inner')}; j++) {
    const d = x[base + j] - mu;
    squares += d * d;
  }
  return squares;`
}`,
  )

/**
 * The rows' moments merged per channel, output [channels]: the mean, or the biased variance
 * (equal counts: the spread of the row means adds `inner * sum_o (mean_o - mean)^2` to the
 * rows' own squared deviations). Constants: outer, channels, inner, count (= outer * inner).
 */
export const channelMoment = (which: 'mean' | 'variance'): GpuSource =>
  source(
    `momentsPerChannel.${which}`,
    buffers(...(which === 'mean' ? ['sums'] : ['sums', 'squares'])),
    `
  let sum = 0.0;
  for (let o = 0; o < ${c('outer')}; o++) {
    sum += sums[o * ${c('channels')} + ${I}];
  }
  const mu = sum / ${c('count')};${
  which === 'mean'
    ? `
  return mu;`
    : `
  let acc = 0.0;
  for (let o = 0; o < ${c('outer')}; o++) {
    const d = sums[o * ${c('channels')} + ${I}] / ${c('inner')} - mu;
    acc += squares[o * ${c('channels')} + ${I}] + ${c('inner')} * d * d;
  }
  return acc / ${c('count')};`
}`,
  )

/**
 * `(x - mean[o, i]) / sqrt(variance[o, i] + eps) * weight[c] + bias[c]` over [outer, axis,
 * inner], output [n]. Constants: axis, inner (with inverses); `eps` an argument.
 */
export const normalizeAlongAxis: GpuSource = source(
  'normalizeAlongAxis',
  [...buffers('x', 'mean', 'variance', 'weight', 'bias'), ...floats('eps')],
  `${divBy('t', 'i', I, 'inner')}${divBy('o', 'ch', 't', 'axis')}
  const s = o * ${c('inner')} + i;
  return (x[${I}] - mean[s]) * (1.0 / Math.sqrt(variance[s] + eps)) * weight[ch] + bias[ch];`,
)

/**
 * Batch-norm folding, output [steps * channels]: `s = weight[c] / sqrt(variance[c] + eps)`,
 * scale `s * gains[t]`, shift `(bias[c] - mean[c] * s) * gains[t]` (gain 1 without gains).
 * Constants: channels (with inverse); `eps` an argument.
 */
export const channelFold = (which: 'scale' | 'shift', gains: boolean): GpuSource =>
  source(
    `channelScaleShift.${which}${gains ? '.gains' : ''}`,
    [
      ...buffers(...(which === 'scale' ? ['variance', 'weight'] : ['mean', 'variance', 'weight', 'bias'])),
      ...buffers(...(gains ? ['gains'] : [])),
      ...floats('eps'),
    ],
    `${divBy('t', 'ch', I, 'channels')}
  const s = weight[ch] / Math.sqrt(variance[ch] + eps);
  return ${which === 'scale' ? 's' : '(bias[ch] - mean[ch] * s)'}${gains ? ' * gains[t]' : ''};`,
  )

/**
 * `x * scale[t, c] + shift[t, c]` for x viewed as [outer, channels, inner] whose rows form
 * blocks of `block` rows (block t uses row t), output [n]. Constants: inner, channels, block
 * (with inverses).
 */
export const channelAffine: GpuSource = source(
  'channelAffine',
  buffers('x', 'scale', 'shift'),
  `${divBy('t', 'i', I, 'inner')}${divBy('o', 'ch', 't', 'channels')}${divBy('st', 'ob', 'o', 'block')}
  const row = st * ${c('channels')} + ch;
  return x[${I}] * scale[row] + shift[row];`,
)

/** `keep * running + rate * batch` elementwise: PyTorch's running-statistics rule with the rates as arguments. */
export const runningBlend: GpuSource = source(
  'runningStats',
  [...buffers('running', 'batch'), ...floats('keep', 'rate')],
  `\n  return keep * running[${I}] + rate * batch[${I}];`,
)

/**
 * Means of groups of `size` along rows of `length`, output [rows * groups]. Constants:
 * rowLength, size, groups (with inverse).
 */
export const groupMean: GpuSource = source(
  'groupMean',
  buffers('x'),
  `${divBy('r', 'g', I, 'groups')}
  const base = r * ${c('rowLength')} + g * ${c('size')};
  let s = 0.0;
  for (let j = 0; j < ${c('size')}; j++) {
    s += x[base + j];
  }
  return s / ${c('size')};`,
)

// ---------------------------------------------------------------------------------------------
// pooling
// ---------------------------------------------------------------------------------------------

/** The output cell a pooling thread computes, as source expressions: its plane, output row and column. */
interface PoolCell {
  readonly plane: string
  readonly row: string
  readonly col: string
}

/**
 * The loop over a window's real cells (padding skipped), with `i` the flat index of the cell in
 * the input, running `body` for each. Constants: h, w, kh, kw, sh, sw, ph, pw.
 */
const windowLoop = (body: string, cell: PoolCell): string => `
  const y0 = ${cell.row} * ${c('sh')} - ${c('ph')};
  const x0 = ${cell.col} * ${c('sw')} - ${c('pw')};
  const base = ${cell.plane} * ${c('h')} * ${c('w')};
  for (let dy = 0; dy < ${c('kh')}; dy++) {
    const y = y0 + dy;
    if (y >= 0 && y < ${c('h')}) {
      for (let dx = 0; dx < ${c('kw')}; dx++) {
        const xx = x0 + dx;
        if (xx >= 0 && xx < ${c('w')}) {
          const i = base + y * ${c('w')} + xx;
${body}
        }
      }
    }
  }`

/** The constants of the pooling kernels for images [height, width], a window, and an output [oh, ow]. */
export const poolConstants = (
  height: number,
  width: number,
  w: PoolWindow,
  oh: number,
  ow: number,
  mode: PoolMode,
): Readonly<Record<string, number>> => ({
  h: height,
  w: width,
  kh: w.kernelH,
  kw: w.kernelW,
  sh: w.strideH,
  sw: w.strideW,
  ph: w.padH,
  pw: w.padW,
  ...divisor('oh', oh),
  ...divisor('ow', ow),
  ...(mode === 'avg' ? { divisor: w.kernelH * w.kernelW } : {}),
})

/**
 * The largest of `read` (an expression of the cell index `i`) over the window, NaN sticking
 * once seen (where the platform's float comparisons honour NaN). Ends with the `return`.
 */
const poolMaxBody = (read: string, cell: PoolCell): string => `
  let acc = 0.0;
  let found = 0;${windowLoop(`          const v = ${read};
          if (found === 0 || v > acc || v !== v) {
            acc = v;
          }
          found = 1;`, cell)}
  return acc;`

/** The average of `read` over the window, padding cells counting (PyTorch's count_include_pad). */
const poolAvgBody = (read: string, cell: PoolCell): string => `
  let acc = 0.0;${windowLoop(`          acc += ${read};`, cell)}
  return acc / ${c('divisor')};`

/** A pooling thread's cell from its flat index over [planes, oh, ow]. Constants: oh, ow (with inverses). */
const poolPrelude = `${divBy('t', 'ox', I, 'ow')}${divBy('p', 'oy', 't', 'oh')}`
const poolCell: PoolCell = { plane: 'p', row: 'oy', col: 'ox' }

/** 2-D pooling, output [planes * oh * ow]; constants from {@link poolConstants}. */
export const pool2d = (mode: PoolMode): GpuSource =>
  source(
    `pool2d.${mode}`,
    buffers('x'),
    `${poolPrelude}${mode === 'max' ? poolMaxBody('x[i]', poolCell) : poolAvgBody('x[i]', poolCell)}`,
  )

/** Max pooling ranked by `key` (SMaxPool's exact mode), output [planes * oh * ow]; constants as {@link pool2d}. */
export const maxPool2dBy: GpuSource = source(
  'maxPool2dBy',
  buffers('key', 'value'),
  `${poolPrelude}
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
          }`, poolCell)}
  return best;`,
)

/**
 * Nearest upsampling of [planes, h, w] by f, output [planes * h f * w f]. Constants: h, w,
 * outH, outW, f (the last three with inverses).
 */
export const upsampleNearest: GpuSource = source(
  'upsampleNearest',
  buffers('x'),
  `${divBy('t', 'ox', I, 'outW')}${divBy('p', 'oy', 't', 'outH')}${divBy('sy', 'ry', 'oy', 'f')}${divBy('sx', 'rx', 'ox', 'f')}
  return x[(p * ${c('h')} + sy) * ${c('w')} + sx];`,
)

/** The LIPool total `sum + x` (`x` where there is no sum) at cell `i`. */
const total = (withSum: boolean, i: string): string => (withSum ? `(sum[${i}] + x[${i}])` : `x[${i}]`)

/**
 * LIPool's output: pooling of `sum + x` over non-overlapping k x k windows, read straight from
 * both (no intermediate buffer). Constants as {@link pool2d} with kh = kw = sh = sw = k.
 */
export const liPoolOut = (withSum: boolean, mode: PoolMode): GpuSource =>
  source(
    `liPoolStep.out.${mode}${withSum ? '.sum' : ''}`,
    buffers(...(withSum ? ['sum', 'x'] : ['x'])),
    `${poolPrelude}${mode === 'max' ? poolMaxBody(total(withSum, 'i'), poolCell) : poolAvgBody(total(withSum, 'i'), poolCell)}`,
  )

/**
 * LIPool's next sum: `(sum + x) - out` upsampled, output [planes * h * w]. Constants: h, w, k
 * (with inverses), oh, ow.
 */
export const liPoolNext = (withSum: boolean): GpuSource =>
  source(
    `liPoolStep.next${withSum ? '.sum' : ''}`,
    buffers(...(withSum ? ['sum', 'x', 'out'] : ['x', 'out'])),
    `${divBy('t', 'xx', I, 'w')}${divBy('p', 'y', 't', 'h')}${divBy('oy', 'ry', 'y', 'k')}${divBy('ox', 'rx', 'xx', 'k')}
  return ${total(withSum, I)} - out[(p * ${c('oh')} + oy) * ${c('ow')} + ox];`,
  )

// ---------------------------------------------------------------------------------------------
// elementwise
// ---------------------------------------------------------------------------------------------

/** `a * b`, output [n]. */
export const mul: GpuSource = source('mul', buffers('a', 'b'), `\n  return a[${I}] * b[${I}];`)

/** `a + alpha * b`, output [n]; alpha an argument. */
export const axpy: GpuSource = source('axpy', [...buffers('a', 'b'), ...floats('alpha')], `\n  return a[${I}] + alpha * b[${I}];`)

/** `alpha * x`, output [n]; alpha an argument. */
export const scale: GpuSource = source('scale', [...buffers('x'), ...floats('alpha')], `\n  return alpha * x[${I}];`)

/** Which neuron step a kernel computes (see `NeuronAttrs`). */
export interface NeuronVariant {
  /** Whether there is a potential `v` (else 0). */
  readonly withV: boolean
  readonly model: 'if' | 'lif'
  readonly fireAt: '>' | '>='
  readonly reset: 'soft' | 'hard'
}

/**
 * One neuron step's spikes (`'spikes'`: 1 where the integrated potential `u` fires, else 0) or
 * its next potential (`'v'`: `u`, reset where it fired), output [n]. `u = v + x` (IF) or
 * `v + (x - v) / tau` (LIF); the threshold (float32, as the reference rounds it), tau and the
 * reset potential are arguments.
 */
export const neuron = (which: 'spikes' | 'v', n: NeuronVariant): GpuSource => {
  const v = n.withV ? `v[${I}]` : '0.0'
  const u = n.model === 'lif' ? `${v} + (x[${I}] - ${v}) / tau` : n.withV ? `${v} + x[${I}]` : `x[${I}]`
  const fired = which === 'spikes' ? '1.0' : n.reset === 'soft' ? 'u - threshold' : 'vReset'
  const rest = which === 'spikes' ? '0.0' : 'u'
  return source(
    `neuron.${which}.${n.model}${n.fireAt === '>' ? '.gt' : '.ge'}${which === 'v' ? `.${n.reset}` : ''}${n.withV ? '.v' : ''}`,
    [
      ...buffers(...(n.withV ? ['v', 'x'] : ['x'])),
      ...floats('threshold', ...(n.model === 'lif' ? ['tau'] : []), ...(which === 'v' && n.reset === 'hard' ? ['vReset'] : [])),
    ],
    `
  const u = ${u};
  if (u ${n.fireAt} threshold) {
    return ${fired};
  }
  return ${rest};`,
  )
}
