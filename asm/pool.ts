/**
 * Pooling windows and nearest upsampling on float32 [planes, height, width] images.
 * The general path mirrors the JavaScript reference step for step (float64 average, NaN-
 * propagating max), so it is bit-identical; 2x2 stride-2 max pooling and factor-2 upsampling,
 * the shapes LIPool and the benchmarks use, have SIMD fast paths.
 */

/** Max pooling, kernel 2, stride 2, no padding: four outputs per SIMD step. */
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
      let ox = 0
      for (; ox + 4 <= outW; ox += 4) {
        const o = <usize>(2 * ox) * 4
        // f32x4.max propagates NaN, as the reference does
        const v = f32x4.max(v128.load(r0 + o), v128.load(r1 + o))
        const u = f32x4.max(v128.load(r0 + o, 16), v128.load(r1 + o, 16))
        const even = v128.shuffle<f32>(v, u, 0, 2, 4, 6)
        const odd = v128.shuffle<f32>(v, u, 1, 3, 5, 7)
        v128.store(d + <usize>ox * 4, f32x4.max(even, odd))
      }
      for (; ox < outW; ox++) {
        const o = <usize>(2 * ox) * 4
        const m = max(max(load<f32>(r0 + o), load<f32>(r0 + o, 4)), max(load<f32>(r1 + o), load<f32>(r1 + o, 4)))
        store<f32>(d + <usize>ox * 4, m)
      }
    }
  }
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
  const outH = (height + 2 * ph - kh) / sh + 1
  const outW = (width + 2 * pw - kw) / sw + 1
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
