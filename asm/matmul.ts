/**
 * Float32 matmul on the packed GEMM of gemm.ts. Transposed operands are read in place by the
 * packers (no transposed copy), so `transA` and `transB` cost what the plain product costs and
 * accumulate in the same order, from the bias, as the JavaScript reference.
 */
import { gemmBlock, KC, MC, MR, NR, packA, packB, roundUp } from './gemm'

/** Scratch bytes `matmul` needs for these sizes (an A block, a B block, the padded C grid unless `out` can be it). */
export function matmulScratchBytes(m: i32, k: i32, n: i32): i32 {
  const mPad = roundUp(m, MR)
  const nPad = roundUp(n, NR)
  const kc = min(k, KC)
  return (min(mPad, MC) * kc + kc * nPad + (m == mPad && n == nPad ? 0 : mPad * nPad)) * 4
}

/**
 * `out[m, n] = A @ B (+ bias[n] when bias != 0)`, float32 row-major; A is `a` [m, k] or, with
 * `transA`, `a` stored [k, m]; B is `b` [k, n] or, with `transB`, `b` stored [n, k].
 * `scratch` holds matmulScratchBytes(m, k, n) bytes, 16-byte aligned.
 */
export function matmul(
  out: usize, a: usize, b: usize, m: i32, k: i32, n: i32, bias: usize, scratch: usize, transA: i32, transB: i32,
): void {
  const mPad = roundUp(m, MR)
  const nPad = roundUp(n, NR)
  const kcMax = min(k, KC)
  const ap = scratch
  const bp = ap + <usize>(min(mPad, MC) * kcMax) * 4
  // whole tiles: accumulate in `out` itself, saving a pass over the output
  const direct = m == mPad && n == nPad
  const cp = direct ? out : bp + <usize>(kcMax * nPad) * 4
  const ldc = <usize>nPad * 4
  for (let i = 0; i < mPad; i++) {
    const row = cp + <usize>i * ldc
    for (let j = 0; j < nPad; j++) store<f32>(row + <usize>j * 4, bias != 0 && j < n ? load<f32>(bias + <usize>j * 4) : 0)
  }
  const tA = transA != 0
  const tB = transB != 0
  for (let pc = 0; pc < k; pc += KC) {
    const kc = min(KC, k - pc)
    // B's rows [pc, pc + kc): stored rows of b, or stored columns when transposed
    packB(bp, b + <usize>(tB ? pc : pc * n) * 4, tB ? k : n, tB, n, kc)
    for (let ic = 0; ic < m; ic += MC) {
      const rows = min(MC, m - ic)
      packA(ap, a + <usize>(tA ? pc * m + ic : ic * k + pc) * 4, tA ? m : k, tA, rows, kc)
      gemmBlock(cp + <usize>ic * ldc, ldc, ap, bp, roundUp(rows, MR), nPad, kc)
    }
  }
  if (!direct) for (let i = 0; i < m; i++) memory.copy(out + <usize>(i * n) * 4, cp + <usize>i * ldc, <usize>n * 4)
}
