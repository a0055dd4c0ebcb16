/**
 * Sums along an axis and their adjoint, on float32 data viewed as [outer, axis, inner]. The
 * sums run in float64 in the reference's order (lanes of independent positions, or of
 * independent rows), so they are bit-identical.
 */

/** Positions of `inner` summed at a time along a strided axis: 4 KiB of float64 accumulators. */
const BLOCK: i32 = 512

/** `out[o, i] = sum_c x[o, c, i]` in float64 from +0, in order of c, rounded once. `scratch`: 8 * BLOCK bytes. */
export function sumAlongAxis(out: usize, x: usize, outer: i32, axis: i32, inner: i32, scratch: usize): void {
  if (inner == 1) {
    // four rows side by side: four independent chains
    let o = 0
    const stride = <usize>axis * 4
    for (; o + 4 <= outer; o += 4) {
      const r = x + <usize>(o * axis) * 4
      let s0: f64 = 0, s1: f64 = 0, s2: f64 = 0, s3: f64 = 0
      for (let c = 0; c < axis; c++) {
        const p = r + <usize>c * 4
        s0 += <f64>load<f32>(p)
        s1 += <f64>load<f32>(p + stride)
        s2 += <f64>load<f32>(p + 2 * stride)
        s3 += <f64>load<f32>(p + 3 * stride)
      }
      const d = out + <usize>o * 4
      store<f32>(d, <f32>s0)
      store<f32>(d, <f32>s1, 4)
      store<f32>(d, <f32>s2, 8)
      store<f32>(d, <f32>s3, 12)
    }
    for (; o < outer; o++) {
      const r = x + <usize>(o * axis) * 4
      let s: f64 = 0
      for (let c = 0; c < axis; c++) s += <f64>load<f32>(r + <usize>c * 4)
      store<f32>(out + <usize>o * 4, <f32>s)
    }
    return
  }
  for (let o = 0; o < outer; o++) {
    for (let i0 = 0; i0 < inner; i0 += BLOCK) {
      const count = min(BLOCK, inner - i0)
      memory.fill(scratch, 0, <usize>count * 8)
      for (let c = 0; c < axis; c++) {
        const row = x + <usize>((o * axis + c) * inner + i0) * 4
        let i = 0
        for (; i + 4 <= count; i += 4) {
          const v = v128.load(row + <usize>i * 4)
          const a = scratch + <usize>i * 8
          v128.store(a, f64x2.add(v128.load(a), f64x2.promote_low_f32x4(v)))
          v128.store(a, f64x2.add(v128.load(a, 16), f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1))), 16)
        }
        for (; i < count; i++) {
          const a = scratch + <usize>i * 8
          store<f64>(a, load<f64>(a) + <f64>load<f32>(row + <usize>i * 4))
        }
      }
      const d = out + <usize>(o * inner + i0) * 4
      let i = 0
      for (; i + 2 <= count; i += 2) {
        v128.store64_lane(d + <usize>i * 4, f32x4.demote_f64x2_zero(v128.load(scratch + <usize>i * 8)), 0)
      }
      for (; i < count; i++) store<f32>(d + <usize>i * 4, <f32>load<f64>(scratch + <usize>i * 8))
    }
  }
}

/** `out[o, c, i] = x[o, i]`: each row of x repeated `axis` times. */
export function broadcastAlongAxis(out: usize, x: usize, outer: i32, axis: i32, inner: i32): void {
  const bytes = <usize>inner * 4
  for (let o = 0; o < outer; o++) {
    const src = x + <usize>o * bytes
    const dst = out + <usize>(o * axis) * bytes
    if (inner == 1) {
      const v = load<f32>(src)
      const s = f32x4.splat(v)
      let c = 0
      for (; c + 4 <= axis; c += 4) v128.store(dst + <usize>c * 4, s)
      for (; c < axis; c++) store<f32>(dst + <usize>c * 4, v)
      continue
    }
    for (let c = 0; c < axis; c++) memory.copy(dst + <usize>c * bytes, src, bytes)
  }
}
