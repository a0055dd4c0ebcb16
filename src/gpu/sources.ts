/**
 * The gpu.js kernel sources of the GPU device (see `device.ts`), as source text for the reasons
 * given in `kernels.ts`.
 *
 * Every device kernel has a 1-D output `[n]`: its buffers are all 1-D gpu.js textures of their
 * length, so any buffer indexes like a flat array in any kernel (`x[i]`), and a compiled kernel
 * always sees arguments of one type and one texture size. The price is that a thread gets only
 * its flat index `this.thread.x` and must split it into coordinates itself, which takes
 * divisions; {@link divmod} does them exactly:
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
 * anything larger on the host.
 *
 * @module
 */
import * as K from './kernels.js'

/**
 * The most values a buffer on the GPU holds, `2^23`: every index a device kernel computes is
 * then an integer below `2^23`, exact in float32 with room for the quotient correction.
 */
export const MAX_RESIDENT_LENGTH = 2 ** 23

/** How a device kernel parameter is passed. */
export type ParamKind =
  /** a device buffer: a texture (GL modes) or a float32 array ('cpu', 'webasm'), typed from the value */
  | 'buffer'
  /** a small host array, uploaded with the call (channelAffine's scale and shift) */
  | 'array'
  /** a scalar */
  | 'float'

/** A device kernel: its source and its parameters in order. */
export interface DeviceSource {
  /** The kernel function's source text. */
  readonly source: string
  /** The parameters, by name and kind, in the order of the function's. */
  readonly params: readonly (readonly [string, ParamKind])[]
}

/** A backend kernel whose output is already 1-D (`this.thread.x` the flat index), as a device kernel. */
const fromBackend = (src: K.KernelSource): DeviceSource => ({
  source: src.source,
  params: Object.entries(src.argumentTypes).map(([name, t]) => [name, t === 'Float' ? 'float' : 'buffer'] as const),
})

const buffers = (...names: readonly string[]): readonly (readonly [string, ParamKind])[] =>
  names.map((n) => [n, 'buffer'] as const)

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

/** Copies a host array into a buffer: output [n]. */
export const upload: DeviceSource = {
  source: `function (x) {
  return x[this.thread.x];
}`,
  params: [['x', 'array']],
}

/**
 * `x` (length `len`) written at `offset` into a buffer of the output's length, zeros elsewhere
 * (`place(false)`) or `into`'s values elsewhere (`place(true)`). `offset` is an argument, not a
 * constant, so one compiled kernel places every step of a scan.
 */
export const place = (withInto: boolean): DeviceSource => ({
  source: `function (${withInto ? 'into, ' : ''}x, offset) {
  const j = this.thread.x - offset;
  if (j >= 0 && j < this.constants.len) {
    return x[j];
  }
  return ${withInto ? 'into[this.thread.x]' : '0.0'};
}`,
  params: withInto
    ? [['into', 'buffer'], ['x', 'buffer'], ['offset', 'float']]
    : [['x', 'buffer'], ['offset', 'float']],
})

/** The flat index of a thread. */
const I = 'this.thread.x'

const matmulSource = (withBias: boolean): DeviceSource => ({
  source: `function (${withBias ? 'a, b, bias' : 'a, b'}) {${divmod('row', 'col', I, 'this.constants.n', 'this.constants.invN')}
  let s = 0.0;
  for (let p = 0; p < this.constants.k; p++) {
    s += a[row * this.constants.k + p] * b[p * this.constants.n + col];
  }
  return ${withBias ? 's + bias[col]' : 's'};
}`,
  params: buffers(...(withBias ? ['a', 'b', 'bias'] : ['a', 'b'])),
})

/** `[m, k] @ [k, n]`, output [m * n]. Constants: k, n, invN. */
export const matmul: DeviceSource = matmulSource(false)

/** matmul plus `bias[col]` in the same kernel. */
export const matmulBias: DeviceSource = matmulSource(true)

/** The integrated potential `v + x` (`x` where there is no `v`). */
const integrated = (withV: boolean): string => (withV ? 'v[this.thread.x] + x[this.thread.x]' : 'x[this.thread.x]')

/**
 * Integrate-and-fire spikes: 1 where the integrated potential reaches `thrUp` (the threshold
 * rounded up to float32, so that the float32 comparison decides as the host's float64 one
 * does), else 0. Output [n].
 */
export const fireSpikes = (withV: boolean): DeviceSource => ({
  source: `function (${withV ? 'v, x' : 'x'}, thrUp) {
  const u = ${integrated(withV)};
  let s = 0.0;
  if (u >= thrUp) {
    s = 1.0;
  }
  return s;
}`,
  params: [...buffers(...(withV ? ['v', 'x'] : ['x'])), ['thrUp', 'float']],
})

/**
 * The potential after a step: the integrated potential, reset where it fired; soft reset
 * subtracts the threshold as two float32 parts (`thrHi + thrLo`), so that the difference rounds
 * as the host's float64 subtraction does. Output [n].
 */
export const fireV = (withV: boolean, reset: 'soft' | 'hard'): DeviceSource => ({
  source: `function (${withV ? 'v, x' : 'x'}, thrUp, ${reset === 'soft' ? 'thrHi, thrLo' : 'vReset'}) {
  const u = ${integrated(withV)};
  if (u >= thrUp) {
    return ${reset === 'soft' ? '(u - thrHi) - thrLo' : 'vReset'};
  }
  return u;
}`,
  params: [
    ...buffers(...(withV ? ['v', 'x'] : ['x'])),
    ['thrUp', 'float'],
    ...(reset === 'soft' ? ([['thrHi', 'float'], ['thrLo', 'float']] as const) : ([['vReset', 'float']] as const)),
  ],
})

/** A pooling thread's cell from its flat index over [planes, oh, ow]. Constants: oh, ow, invOh, invOw. */
const poolCellPrelude = `${divmod('t', 'ox', 'this.thread.x', 'this.constants.ow', 'this.constants.invOw')}${divmod(
  'p',
  'oy',
  't',
  'this.constants.oh',
  'this.constants.invOh',
)}`
const poolCell: K.PoolCell = { plane: 'p', row: 'oy', col: 'ox' }

/**
 * 2-D pooling, output [planes * oh * ow]. Constants: the window's (h, w, kh, kw, sh, sw, ph, pw),
 * oh, ow, invOh, invOw, and divisor for the average.
 */
export const pool2d = (mode: 'max' | 'avg'): DeviceSource => ({
  source: `function (x) {${poolCellPrelude}${(mode === 'max' ? K.poolMaxBody : K.poolAvgBody)('x[i]', poolCell)}
}`,
  params: buffers('x'),
})

/** Max pooling ranked by `key`, output [planes * oh * ow]; constants as {@link pool2d}. */
export const maxPool2dBy: DeviceSource = {
  source: `function (key, value) {${poolCellPrelude}${K.maxPoolByBody(poolCell)}
}`,
  params: buffers('key', 'value'),
}

/** The LIPool total `sum + x` (`x` where there is no sum) at cell `i`. */
const total = (withSum: boolean, i: string): string => (withSum ? `(sum[${i}] + x[${i}])` : `x[${i}]`)

/**
 * LIPool's output: pooling of `sum + x` over non-overlapping k x k windows, read straight from
 * both (no intermediate buffer). Constants as {@link pool2d} with kh = kw = sh = sw = k.
 */
export const liPoolOut = (withSum: boolean, mode: 'max' | 'avg'): DeviceSource => ({
  source: `function (${withSum ? 'sum, x' : 'x'}) {${poolCellPrelude}${
    mode === 'max' ? K.poolMaxBody(total(withSum, 'i'), poolCell) : K.poolAvgBody(total(withSum, 'i'), poolCell)
  }
}`,
  params: buffers(...(withSum ? ['sum', 'x'] : ['x'])),
})

/**
 * LIPool's next sum: `(sum + x) - out` upsampled, output [planes * h * w]. Constants: h, w, k,
 * oh, ow, invH, invW, invK.
 */
export const liPoolNext = (withSum: boolean): DeviceSource => ({
  source: `function (${withSum ? 'sum, x, out' : 'x, out'}) {${divmod(
    't',
    'xx',
    'this.thread.x',
    'this.constants.w',
    'this.constants.invW',
  )}${divmod('p', 'y', 't', 'this.constants.h', 'this.constants.invH')}${divmod(
    'oy',
    'ry',
    'y',
    'this.constants.k',
    'this.constants.invK',
  )}${divmod('ox', 'rx', 'xx', 'this.constants.k', 'this.constants.invK')}
  return ${total(withSum, 'this.thread.x')} - out[(p * this.constants.oh + oy) * this.constants.ow + ox];
}`,
  params: buffers(...(withSum ? ['sum', 'x', 'out'] : ['x', 'out'])),
})

/** `a + alpha * b`, output [n]: the backend's kernel. */
export const axpy: DeviceSource = fromBackend(K.axpy)

/** `a * b`, output [n]: the backend's kernel. */
export const mul: DeviceSource = fromBackend(K.mul)

/**
 * `x * scale[c] + shift[c]` for x viewed as [outer, channels, inner], output [n]; scale and
 * shift are host arrays. Constants: channels, inner, invChannels, invInner.
 */
export const channelAffine: DeviceSource = {
  source: `function (x, scale, shift) {${divmod('t', 'r', I, 'this.constants.inner', 'this.constants.invInner')}${divmod(
    'o',
    'c',
    't',
    'this.constants.channels',
    'this.constants.invChannels',
  )}
  return x[this.thread.x] * scale[c] + shift[c];
}`,
  params: [
    ['x', 'buffer'],
    ['scale', 'array'],
    ['shift', 'array'],
  ],
}

/**
 * Means of groups of `size` along rows of `length`, output [rows * groups]. Constants: rowLength,
 * size, groups, invGroups.
 */
export const groupMean: DeviceSource = {
  source: `function (x) {${divmod('r', 'g', 'this.thread.x', 'this.constants.groups', 'this.constants.invGroups')}
  const base = r * this.constants.rowLength + g * this.constants.size;
  let s = 0.0;
  for (let j = 0; j < this.constants.size; j++) {
    s += x[base + j];
  }
  return s / this.constants.size;
}`,
  params: buffers('x'),
}
