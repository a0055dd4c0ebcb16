/**
 * Packed, blocked float32 matmul with a 4x8 SIMD micro-kernel (Goto/BLIS loop order).
 *
 * For each block of KC rows of `b`: A's rows are packed into MR-row panels laid out [p][i]
 * (so each step broadcasts MR consecutive floats), B into NR-column panels laid out [p][j]
 * (two v128 loads per step). Each B panel (KC x NR = 8 KiB) then stays in L1 while every A
 * panel streams past it from L2. C is accumulated in a padded scratch tile grid, so edge tiles
 * need no special case; the valid part is copied out at the end.
 */

const MR: i32 = 4
const NR: i32 = 8
const KC: i32 = 256

// @ts-ignore: decorator
@inline function roundUp(x: i32, to: i32): i32 {
  return ((x + to - 1) / to) * to
}

/** Scratch bytes `matmul` needs for these sizes (packed A, packed B, padded C). */
export function matmulScratchBytes(m: i32, k: i32, n: i32): i32 {
  const mPad = roundUp(m, MR)
  const nPad = roundUp(n, NR)
  const kc = min(k, KC)
  return (mPad * kc + kc * nPad + mPad * nPad) * 4
}

/** A rows [0, m) x columns [pc, pc + kc) into MR-row panels, [p][i], zero-padded past m. */
function packA(dst: usize, a: usize, m: i32, k: i32, pc: i32, kc: i32, mPad: i32): void {
  for (let ir = 0; ir < mPad; ir += MR) {
    const panel = dst + <usize>(ir * kc) * 4
    for (let i = 0; i < MR; i++) {
      const row = ir + i
      if (row < m) {
        const src = a + <usize>(row * k + pc) * 4
        for (let p = 0; p < kc; p++) store<f32>(panel + <usize>(p * MR + i) * 4, load<f32>(src + <usize>p * 4))
      } else {
        for (let p = 0; p < kc; p++) store<f32>(panel + <usize>(p * MR + i) * 4, 0)
      }
    }
  }
}

/** B rows [pc, pc + kc) into NR-column panels, [p][j], zero-padded past n. */
function packB(dst: usize, b: usize, n: i32, pc: i32, kc: i32, nPad: i32): void {
  for (let jr = 0; jr < nPad; jr += NR) {
    const panel = dst + <usize>(jr * kc) * 4
    if (jr + NR <= n) {
      for (let p = 0; p < kc; p++) {
        const src = b + <usize>((pc + p) * n + jr) * 4
        const d = panel + <usize>(p * NR) * 4
        v128.store(d, v128.load(src))
        v128.store(d, v128.load(src, 16), 16)
      }
    } else {
      for (let p = 0; p < kc; p++) {
        const src = b + <usize>((pc + p) * n) * 4
        for (let j = 0; j < NR; j++) {
          const col = jr + j
          store<f32>(panel + <usize>(p * NR + j) * 4, col < n ? load<f32>(src + <usize>col * 4) : 0)
        }
      }
    }
  }
}

/** C[4, 8] (row stride `ldc` bytes) += A panel [kc][4] x B panel [kc][8]. */
// @ts-ignore: decorator
@inline function kernel4x8(c: usize, ldc: usize, ap: usize, bp: usize, kc: i32): void {
  let c00 = v128.load(c), c01 = v128.load(c, 16)
  let c10 = v128.load(c + ldc), c11 = v128.load(c + ldc, 16)
  let c20 = v128.load(c + 2 * ldc), c21 = v128.load(c + 2 * ldc, 16)
  let c30 = v128.load(c + 3 * ldc), c31 = v128.load(c + 3 * ldc, 16)
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(bp)
    const b1 = v128.load(bp, 16)
    let a = v128.load32_splat(ap)
    c00 = f32x4.add(c00, f32x4.mul(a, b0))
    c01 = f32x4.add(c01, f32x4.mul(a, b1))
    a = v128.load32_splat(ap, 4)
    c10 = f32x4.add(c10, f32x4.mul(a, b0))
    c11 = f32x4.add(c11, f32x4.mul(a, b1))
    a = v128.load32_splat(ap, 8)
    c20 = f32x4.add(c20, f32x4.mul(a, b0))
    c21 = f32x4.add(c21, f32x4.mul(a, b1))
    a = v128.load32_splat(ap, 12)
    c30 = f32x4.add(c30, f32x4.mul(a, b0))
    c31 = f32x4.add(c31, f32x4.mul(a, b1))
    ap += 16
    bp += 32
  }
  v128.store(c, c00); v128.store(c, c01, 16)
  v128.store(c + ldc, c10); v128.store(c + ldc, c11, 16)
  v128.store(c + 2 * ldc, c20); v128.store(c + 2 * ldc, c21, 16)
  v128.store(c + 3 * ldc, c30); v128.store(c + 3 * ldc, c31, 16)
}

/**
 * `out[m, n] = a[m, k] @ b[k, n] (+ bias[n] when bias != 0)`, all float32 row-major.
 * `scratch` holds matmulScratchBytes(m, k, n) bytes, 16-byte aligned.
 */
export function matmul(out: usize, a: usize, b: usize, m: i32, k: i32, n: i32, bias: usize, scratch: usize): void {
  const mPad = roundUp(m, MR)
  const nPad = roundUp(n, NR)
  const kcMax = min(k, KC)
  const ap = scratch
  const bp = ap + <usize>(mPad * kcMax) * 4
  const cp = bp + <usize>(kcMax * nPad) * 4
  const ldc = <usize>nPad * 4
  for (let i = 0; i < mPad; i++) {
    const row = cp + <usize>i * ldc
    for (let j = 0; j < nPad; j++) store<f32>(row + <usize>j * 4, bias != 0 && j < n ? load<f32>(bias + <usize>j * 4) : 0)
  }
  for (let pc = 0; pc < k; pc += KC) {
    const kc = min(KC, k - pc)
    packA(ap, a, m, k, pc, kc, mPad)
    packB(bp, b, n, pc, kc, nPad)
    for (let jr = 0; jr < nPad; jr += NR) {
      const bPanel = bp + <usize>(jr * kc) * 4
      for (let ir = 0; ir < mPad; ir += MR) {
        kernel4x8(cp + <usize>ir * ldc + <usize>jr * 4, ldc, ap + <usize>(ir * kc) * 4, bPanel, kc)
      }
    }
  }
  for (let i = 0; i < m; i++) memory.copy(out + <usize>(i * n) * 4, cp + <usize>i * ldc, <usize>n * 4)
}
