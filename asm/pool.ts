/**
 * Pooling windows and nearest upsampling on float32 [planes, height, width] images.
 * The general path mirrors the JavaScript reference step for step (float64 average, NaN-
 * propagating max), so it is bit-identical; 2x2 stride-2 max pooling and factor-2 upsampling,
 * the shapes LIPool and the benchmarks use, have SIMD fast paths, bit-identical too.
 */

/**
 * The reference's max step `if (v > acc || v != v) acc = v`, four lanes at once: pmax keeps
 * `acc` unless `v` is larger (so of -0 and +0 the first stays), and a NaN `v` is taken (pmax is
 * one instruction, where f32x4.max, which orders -0 below +0, takes about eight).
 */
// @ts-ignore: decorator
@inline export function maxStep(acc: v128, v: v128): v128 {
  return v128.bitselect(v, f32x4.pmax(acc, v), f32x4.ne(v, v))
}

/** The scalar form of {@link maxStep}. */
// @ts-ignore: decorator
@inline export function maxStep1(acc: f32, v: f32): f32 {
  return v > acc || v != v ? v : acc
}

/**
 * Max pooling, kernel 2, stride 2, no padding: four outputs per SIMD step, each window's cells
 * in the reference's order (top-left, top-right, bottom-left, bottom-right) through
 * {@link maxStep}, so the bits are the reference's, signed zeros too. A row of at least four
 * windows ends on a step over its last four (written again where they overlap the step
 * before, with the same values), so no window takes the scalar path: on 14-wide images three
 * of seven would.
 */
function maxPool2x2(out: usize, x: usize, planes: i32, height: i32, width: i32): void {
  const outH = height >> 1
  const outW = width >> 1
  for (let p = 0; p < planes; p++) {
    const src = x + <usize>(p * height * width) * 4
    const dst = out + <usize>(p * outH * outW) * 4
    for (let oy = 0; oy < outH; oy++) {
      const r0 = src + <usize>(2 * oy * width) * 4
      const r1 = r0 + <usize>width * 4
      const d = dst + <usize>(oy * outW) * 4
      if (outW >= 4) {
        for (let ox = 0; ; ox = min(ox + 4, outW - 4)) {
          const o = <usize>(2 * ox) * 4
          const a0 = v128.load(r0 + o), a1 = v128.load(r0 + o, 16)
          const b0 = v128.load(r1 + o), b1 = v128.load(r1 + o, 16)
          // the first cell is where the reference's max starts: -Infinity gives way to anything
          const tl = v128.shuffle<f32>(a0, a1, 0, 2, 4, 6)
          const tr = v128.shuffle<f32>(a0, a1, 1, 3, 5, 7)
          const bl = v128.shuffle<f32>(b0, b1, 0, 2, 4, 6)
          const br = v128.shuffle<f32>(b0, b1, 1, 3, 5, 7)
          v128.store(d + <usize>ox * 4, maxStep(maxStep(maxStep(tl, tr), bl), br))
          if (ox + 4 == outW) break
        }
      } else {
        for (let ox = 0; ox < outW; ox++) {
          const o = <usize>(2 * ox) * 4
          const top = maxStep1(load<f32>(r0 + o), load<f32>(r0 + o, 4))
          store<f32>(d + <usize>ox * 4, maxStep1(maxStep1(top, load<f32>(r1 + o)), load<f32>(r1 + o, 4)))
        }
      }
    }
  }
}

/** Floor-mode pooled length of an axis of `n` cells: window `k`, stride `s`, padding `p`. */
// @ts-ignore: decorator
@inline function pooledLength(n: i32, k: i32, s: i32, p: i32): i32 {
  return (n + 2 * p - k) / s + 1
}

/** PyTorch floor-mode pooling; padding counts for the average and never wins the max. */
export function pool2d(
  out: usize, x: usize, planes: i32, height: i32, width: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, isMax: bool,
): void {
  if (isMax && kh == 2 && kw == 2 && sh == 2 && sw == 2 && ph == 0 && pw == 0) {
    maxPool2x2(out, x, planes, height, width)
    return
  }
  const outH = pooledLength(height, kh, sh, ph)
  const outW = pooledLength(width, kw, sw, pw)
  const divisor = <f64>(kh * kw)
  for (let p = 0; p < planes; p++) {
    const src = x + <usize>(p * height * width) * 4
    const dst = out + <usize>(p * outH * outW) * 4
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * sh - ph
      const yLo = max(y0, 0)
      const yHi = min(y0 + kh, height)
      for (let ox = 0; ox < outW; ox++) {
        const x0 = ox * sw - pw
        const xLo = max(x0, 0)
        const xHi = min(x0 + kw, width)
        let acc: f64 = isMax ? -Infinity : 0
        for (let y = yLo; y < yHi; y++) {
          const row = src + <usize>(y * width) * 4
          for (let xx = xLo; xx < xHi; xx++) {
            const v = <f64>load<f32>(row + <usize>xx * 4)
            if (isMax) {
              if (v > acc || v != v) acc = v
              if (acc != acc) break
            } else acc += v
          }
        }
        store<f32>(dst + <usize>(oy * outW + ox) * 4, <f32>(isMax ? acc : acc / divisor))
      }
    }
  }
}

/** Nearest upsampling of [planes, height, width] by an integer factor on both axes. */
export function upsampleNearest(out: usize, x: usize, planes: i32, height: i32, width: i32, factor: i32): void {
  const outW = width * factor
  const rowBytes = <usize>outW * 4
  for (let p = 0; p < planes; p++) {
    const src = x + <usize>(p * height * width) * 4
    const dst = out + <usize>(p * height * factor * outW) * 4
    for (let y = 0; y < height; y++) {
      const s = src + <usize>(y * width) * 4
      const d = dst + <usize>(y * factor) * rowBytes
      let xx = 0
      if (factor == 2) {
        for (; xx + 4 <= width; xx += 4) {
          const v = v128.load(s + <usize>xx * 4)
          v128.store(d + <usize>(2 * xx) * 4, v128.shuffle<f32>(v, v, 0, 0, 1, 1))
          v128.store(d + <usize>(2 * xx) * 4, v128.shuffle<f32>(v, v, 2, 2, 3, 3), 16)
        }
      }
      for (; xx < width; xx++) {
        const v = load<f32>(s + <usize>xx * 4)
        for (let f = 0; f < factor; f++) store<f32>(d + <usize>(xx * factor + f) * 4, v)
      }
      // the other factor - 1 output rows repeat the first
      for (let f = 1; f < factor; f++) memory.copy(d + <usize>f * rowBytes, d, rowBytes)
    }
  }
}

// ---------------------------------------------------------------------------------------------
// SMaxPool's ranked max, and the backward kernels
// ---------------------------------------------------------------------------------------------

/**
 * Max pooling ranked by `key`: the largest `value` among the cells with the window's largest
 * key; a NaN key makes the window NaN. The reference's loop, step for step.
 */
export function maxPool2dBy(
  out: usize, key: usize, value: usize, planes: i32, height: i32, width: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32,
): void {
  const outH = pooledLength(height, kh, sh, ph)
  const outW = pooledLength(width, kw, sw, pw)
  for (let p = 0; p < planes; p++) {
    const plane = <usize>(p * height * width) * 4
    const dst = out + <usize>(p * outH * outW) * 4
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * sh - ph
      const yLo = max(y0, 0)
      const yHi = min(y0 + kh, height)
      for (let ox = 0; ox < outW; ox++) {
        const x0 = ox * sw - pw
        const xLo = max(x0, 0)
        const xHi = min(x0 + kw, width)
        let bestKey: f32 = -Infinity
        let best: f32 = -Infinity
        for (let y = yLo; y < yHi; y++) {
          const row = plane + <usize>(y * width) * 4
          for (let xx = xLo; xx < xHi; xx++) {
            const k = load<f32>(key + row + <usize>xx * 4)
            const v = load<f32>(value + row + <usize>xx * 4)
            if (k != k) {
              bestKey = NaN
              best = NaN
            } else if (k > bestKey) {
              bestKey = k
              best = v
            } else if (k == bestKey && (v > best || v != v)) best = v
          }
        }
        store<f32>(dst + <usize>(oy * outW + ox) * 4, best)
      }
    }
  }
}

/** The cotangent of `value` through maxPool2dBy: each window's to the cell it passed (the reference's loop). */
export function maxPool2dByGrad(
  out: usize, cot: usize, key: usize, value: usize, planes: i32, height: i32, width: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32,
): void {
  const outH = pooledLength(height, kh, sh, ph)
  const outW = pooledLength(width, kw, sw, pw)
  memory.fill(out, 0, <usize>(planes * height * width) * 4)
  for (let p = 0; p < planes; p++) {
    const plane = <usize>(p * height * width) * 4
    const src = cot + <usize>(p * outH * outW) * 4
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * sh - ph
      const yLo = max(y0, 0)
      const yHi = min(y0 + kh, height)
      for (let ox = 0; ox < outW; ox++) {
        const x0 = ox * sw - pw
        const xLo = max(x0, 0)
        const xHi = min(x0 + kw, width)
        let bestKey: f32 = -Infinity
        let best: f32 = -Infinity
        let at = plane + <usize>(yLo * width + xLo) * 4
        for (let y = yLo; y < yHi && bestKey == bestKey; y++) {
          const row = plane + <usize>(y * width) * 4
          for (let xx = xLo; xx < xHi; xx++) {
            const cell = row + <usize>xx * 4
            const k = load<f32>(key + cell)
            const v = load<f32>(value + cell)
            if (k != k) {
              bestKey = NaN
              at = cell
              break
            } else if (k > bestKey || (k == bestKey && (v > best || v != v))) {
              bestKey = k
              best = v
              at = cell
            }
          }
        }
        store<f32>(out + at, load<f32>(out + at) + load<f32>(src + <usize>(oy * outW + ox) * 4))
      }
    }
  }
}

/**
 * The cotangent of x through 2x2 stride-2 max pooling, four windows a step: each window's
 * cotangent to its first maximal cell in row-major order (a later NaN taking it), as the
 * reference's loop routes it, added to +0 as the reference adds it to its zero-filled output
 * (so a -0 cotangent lands as +0). Rows and columns no window covers get 0. A row's last step
 * covers its last four windows, as maxPool2x2's.
 */
function maxPool2x2Grad(out: usize, cot: usize, x: usize, planes: i32, height: i32, width: i32): void {
  const outH = height >> 1
  const outW = width >> 1
  const zero = f32x4.splat(0)
  for (let p = 0; p < planes; p++) {
    const src = x + <usize>(p * height * width) * 4
    const dst = out + <usize>(p * height * width) * 4
    const g = cot + <usize>(p * outH * outW) * 4
    for (let oy = 0; oy < outH; oy++) {
      const off = <usize>(2 * oy * width) * 4
      const r0 = src + off
      const r1 = r0 + <usize>width * 4
      const d0 = dst + off
      const d1 = d0 + <usize>width * 4
      const gr = g + <usize>(oy * outW) * 4
      // as maxPool2x2's: the last step over the row's last four windows
      if (outW >= 4) {
        for (let ox = 0; ; ox = min(ox + 4, outW - 4)) {
          const o = <usize>(2 * ox) * 4
          const u0 = v128.load(r0 + o)
          const u1 = v128.load(r0 + o, 16)
          const w0 = v128.load(r1 + o)
          const w1 = v128.load(r1 + o, 16)
          // each window's cells in row-major order: a b / c d
          const a = v128.shuffle<f32>(u0, u1, 0, 2, 4, 6)
          const b = v128.shuffle<f32>(u0, u1, 1, 3, 5, 7)
          const c = v128.shuffle<f32>(w0, w1, 0, 2, 4, 6)
          const d = v128.shuffle<f32>(w0, w1, 1, 3, 5, 7)
          const takeB = v128.or(f32x4.gt(b, a), f32x4.ne(b, b))
          let best = v128.bitselect(b, a, takeB)
          const takeC = v128.or(f32x4.gt(c, best), f32x4.ne(c, c))
          best = v128.bitselect(c, best, takeC)
          const takeD = v128.or(f32x4.gt(d, best), f32x4.ne(d, d))
          const toD = takeD
          const toC = v128.andnot(takeC, takeD)
          const toB = v128.andnot(takeB, v128.or(takeC, takeD))
          const toA = v128.not(v128.or(takeB, v128.or(takeC, takeD)))
          const gv = f32x4.add(v128.load(gr + <usize>ox * 4), zero)
          const ga = v128.and(gv, toA)
          const gb = v128.and(gv, toB)
          const gc = v128.and(gv, toC)
          const gd = v128.and(gv, toD)
          v128.store(d0 + o, v128.shuffle<f32>(ga, gb, 0, 4, 1, 5))
          v128.store(d0 + o, v128.shuffle<f32>(ga, gb, 2, 6, 3, 7), 16)
          v128.store(d1 + o, v128.shuffle<f32>(gc, gd, 0, 4, 1, 5))
          v128.store(d1 + o, v128.shuffle<f32>(gc, gd, 2, 6, 3, 7), 16)
          if (ox + 4 == outW) break
        }
      } else {
        for (let ox = 0; ox < outW; ox++) {
          const o = <usize>(2 * ox) * 4
          const a = load<f32>(r0 + o)
          const b = load<f32>(r0 + o, 4)
          const c = load<f32>(r1 + o)
          const d = load<f32>(r1 + o, 4)
          let best = a
          let at = 0
          if (b > best || b != b) { best = b; at = 1 }
          if (c > best || c != c) { best = c; at = 2 }
          if (d > best || d != d) at = 3
          const gv: f32 = load<f32>(gr + <usize>ox * 4) + 0
          store<f32>(d0 + o, at == 0 ? gv : 0)
          store<f32>(d0 + o, at == 1 ? gv : 0, 4)
          store<f32>(d1 + o, at == 2 ? gv : 0)
          store<f32>(d1 + o, at == 3 ? gv : 0, 4)
        }
      }
      // an odd last column
      for (let xx = 2 * outW; xx < width; xx++) {
        store<f32>(d0 + <usize>xx * 4, 0)
        store<f32>(d1 + <usize>xx * 4, 0)
      }
    }
    // an odd last row
    if (height > 2 * outH) memory.fill(dst + <usize>(2 * outH * width) * 4, 0, <usize>width * 4)
  }
}

/**
 * The cotangent of x through pool2d. Max: each window's cotangent to its first maximal cell
 * (a later NaN taking it); average: `cot / (kh kw)` in float64 to every cell. Overlapping
 * windows add up in window order, each sum rounded to float32: the reference's loop and
 * rounding, so bit-identical; 2x2 stride-2 max pooling runs four windows a step.
 */
export function pool2dGrad(
  out: usize, cot: usize, x: usize, planes: i32, height: i32, width: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, isMax: bool,
): void {
  if (isMax && kh == 2 && kw == 2 && sh == 2 && sw == 2 && ph == 0 && pw == 0) {
    maxPool2x2Grad(out, cot, x, planes, height, width)
    return
  }
  const outH = pooledLength(height, kh, sh, ph)
  const outW = pooledLength(width, kw, sw, pw)
  const divisor = <f64>(kh * kw)
  memory.fill(out, 0, <usize>(planes * height * width) * 4)
  for (let p = 0; p < planes; p++) {
    const plane = <usize>(p * height * width) * 4
    const src = cot + <usize>(p * outH * outW) * 4
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * sh - ph
      const yLo = max(y0, 0)
      const yHi = min(y0 + kh, height)
      for (let ox = 0; ox < outW; ox++) {
        const x0 = ox * sw - pw
        const xLo = max(x0, 0)
        const xHi = min(x0 + kw, width)
        const g = load<f32>(src + <usize>(oy * outW + ox) * 4)
        if (isMax) {
          let best: f32 = -Infinity
          let at = plane + <usize>(yLo * width + xLo) * 4
          for (let y = yLo; y < yHi; y++) {
            const row = plane + <usize>(y * width) * 4
            for (let xx = xLo; xx < xHi; xx++) {
              const v = load<f32>(x + row + <usize>xx * 4)
              if (v > best || v != v) {
                best = v
                at = row + <usize>xx * 4
              }
            }
          }
          store<f32>(out + at, load<f32>(out + at) + g)
        } else {
          const share = <f64>g / divisor
          for (let y = yLo; y < yHi; y++) {
            const row = out + plane + <usize>(y * width) * 4
            for (let xx = xLo; xx < xHi; xx++) {
              const cell = row + <usize>xx * 4
              store<f32>(cell, <f32>(<f64>load<f32>(cell) + share))
            }
          }
        }
      }
    }
  }
}

/**
 * The cotangent of x through nearest upsampling: each cell the sum of its factor x factor
 * block in float64, rows then columns, rounded once. The reference starts its sum at +0; here
 * it starts at the first term and adds +0 last, which gives the same bits (they differ only
 * while every term so far is -0, and `-0 + 0` is +0). Factor 2 runs two cells per float64x2.
 */
export function upsampleNearestGrad(out: usize, cot: usize, planes: i32, height: i32, width: i32, factor: i32): void {
  const bigW = width * factor
  const zero = f64x2.splat(0)
  for (let p = 0; p < planes; p++) {
    const src = cot + <usize>(p * height * factor * bigW) * 4
    const dst = out + <usize>(p * height * width) * 4
    for (let y = 0; y < height; y++) {
      const d = dst + <usize>(y * width) * 4
      let xx = 0
      if (factor == 2) {
        const r0 = src + <usize>(2 * y * bigW) * 4
        const r1 = r0 + <usize>bigW * 4
        for (; xx + 2 <= width; xx += 2) {
          const o = <usize>(2 * xx) * 4
          // (c0 c1 | c2 c3) for the cells xx, xx + 1: even lanes the left column, odd the right
          const u = v128.load(r0 + o)
          const w = v128.load(r1 + o)
          const ue = f64x2.promote_low_f32x4(v128.shuffle<f32>(u, u, 0, 2, 1, 3))
          const uo = f64x2.promote_low_f32x4(v128.shuffle<f32>(u, u, 1, 3, 0, 2))
          const we = f64x2.promote_low_f32x4(v128.shuffle<f32>(w, w, 0, 2, 1, 3))
          const wo = f64x2.promote_low_f32x4(v128.shuffle<f32>(w, w, 1, 3, 0, 2))
          const s = f64x2.add(f64x2.add(f64x2.add(f64x2.add(ue, uo), we), wo), zero)
          v128.store64_lane(d + <usize>xx * 4, f32x4.demote_f64x2_zero(s), 0)
        }
      }
      for (; xx < width; xx++) {
        let s: f64 = 0
        for (let a = 0; a < factor; a++) {
          const row = src + <usize>((y * factor + a) * bigW + xx * factor) * 4
          for (let b = 0; b < factor; b++) s += <f64>load<f32>(row + <usize>b * 4)
        }
        store<f32>(d + <usize>xx * 4, <f32>s)
      }
    }
  }
}

/**
 * Planes [from, to) of `pool2d` (out: their pooled planes; nothing else): one part of a call cut
 * across threads (src/backend/wasm/split.ts); the scratch is unused. Each plane is computed
 * alone: the cut changes no bit.
 */
export function pool2dPart(
  scratch: usize, from: i32, to: i32, out: usize, x: usize, planes: i32, height: i32, width: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, isMax: bool,
): void {
  const pooled = pooledLength(height, kh, sh, ph) * pooledLength(width, kw, sw, pw)
  const xs = x + <usize>(from * height * width) * 4
  pool2d(out + <usize>(from * pooled) * 4, xs, to - from, height, width, kh, kw, sh, sw, ph, pw, isMax)
}

/** Planes [from, to) of `pool2dGrad` (out: their input planes), as {@link pool2dPart}. */
export function pool2dGradPart(
  scratch: usize, from: i32, to: i32, out: usize, cot: usize, x: usize, planes: i32, height: i32, width: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, isMax: bool,
): void {
  const pooled = pooledLength(height, kh, sh, ph) * pooledLength(width, kw, sw, pw)
  const cells = height * width
  const at = <usize>(from * cells) * 4
  pool2dGrad(out + at, cot + <usize>(from * pooled) * 4, x + at, to - from, height, width, kh, kw, sh, sw, ph, pw, isMax)
}
