/**
 * Float32 matmul on the packed GEMM of gemm.ts. Transposed operands are read in place by the
 * packers (no transposed copy), so `transA` and `transB` cost what the plain product costs and
 * accumulate in the same order, from the bias, as the JavaScript reference.
 *
 * `matmulPart` computes one rectangle of the output (rows [i0, i1), columns [j0, j1)); every
 * element of it is summed exactly as in the whole product (from the bias, in order of k, block
 * after block of KC), so the threads of src/backend/wasm/threads.ts may cut the output into
 * any rectangles without changing a bit. `matmul` is the one rectangle that covers it all.
 * Where A is mostly zeros and B is not transposed, sparseRows.ts sums only A's non-zero
 * entries instead, with the same bits.
 */
import { gemmBlock, KC, MC, MR, NR, packA, packB, roundUp, startTile } from './gemm'
import { sparseRowsPart, sparseRowsScratchBytes } from './sparseRows'

/**
 * Scratch bytes `matmul` needs for these sizes (an A block, a B block, the padded C grid unless
 * `out` can be it; or the sparse route's lists); for `matmulPart`, `m` and `n` are the
 * rectangle's rows and columns.
 */
export function matmulScratchBytes(m: i32, k: i32, n: i32): i32 {
  const mPad = roundUp(m, MR)
  const nPad = roundUp(n, NR)
  const kc = min(k, KC)
  const gemm = (min(mPad, MC) * kc + kc * nPad + (m == mPad && n == nPad ? 0 : mPad * nPad)) * 4
  return max(gemm, sparseRowsScratchBytes(m, k))
}

/**
 * `out[m, n] = A @ B (+ bias[n] when bias != 0)`, float32 row-major; A is `a` [m, k] or, with
 * `transA`, `a` stored [k, m]; B is `b` [k, n] or, with `transB`, `b` stored [n, k].
 * `scratch` holds matmulScratchBytes(m, k, n) bytes, 16-byte aligned.
 */
export function matmul(
  out: usize, a: usize, b: usize, m: i32, k: i32, n: i32, bias: usize, scratch: usize, transA: i32, transB: i32,
): void {
  matmulPart(scratch, 0, m, 0, n, out, a, b, m, k, n, bias, transA, transB)
}

/**
 * Rows [i0, i1) by columns [j0, j1) of `matmul(out, a, b, m, k, n, bias, …)`, and nothing else
 * of `out`. `scratch` holds matmulScratchBytes(i1 - i0, k, j1 - j0) bytes, 16-byte aligned.
 */
export function matmulPart(
  scratch: usize, i0: i32, i1: i32, j0: i32, j1: i32,
  out: usize, a: usize, b: usize, m: i32, k: i32, n: i32, bias: usize, transA: i32, transB: i32,
): void {
  // an A of mostly zeros (spikes) sums only its non-zero entries, with the same bits
  if (transB == 0 && sparseRowsPart(scratch, i0, i1, j0, j1, out, a, b, m, k, n, bias, transA != 0)) return
  const rows = i1 - i0
  const cols = j1 - j0
  const rPad = roundUp(rows, MR)
  const cPad = roundUp(cols, NR)
  const kcMax = min(k, KC)
  const ap = scratch
  const bp = ap + <usize>(min(rPad, MC) * kcMax) * 4
  // whole tiles: accumulate in `out` itself (row stride n), saving a pass over the output
  const direct = rows == rPad && cols == cPad
  const first = out + <usize>(i0 * n + j0) * 4
  const cp = direct ? first : bp + <usize>(kcMax * cPad) * 4
  const ldc = <usize>(direct ? n : cPad) * 4
  const tA = transA != 0
  const tB = transB != 0
  const biasAt = bias != 0 ? bias + <usize>j0 * 4 : 0
  // no summed index: every tile is its start, the bias or zero
  if (k == 0) startTiles(cp, ldc, rPad, cPad, biasAt, cols)
  for (let pc = 0; pc < k; pc += KC) {
    const kc = min(KC, k - pc)
    // B's rows [pc, pc + kc), columns [j0, j1): stored rows of b, or stored columns when transposed
    packB(bp, b + <usize>(tB ? j0 * k + pc : pc * n + j0) * 4, tB ? k : n, tB, cols, kc)
    for (let ic = 0; ic < rows; ic += MC) {
      const r = min(MC, rows - ic)
      const i = i0 + ic
      packA(ap, a + <usize>(tA ? pc * m + i : i * k + pc) * 4, tA ? m : k, tA, r, kc)
      const c = cp + <usize>ic * ldc
      // the first block's tiles start from the bias in L1, not from a pass over all of C first
      gemmBlock(c, ldc, ap, bp, roundUp(r, MR), cPad, kc, pc == 0, biasAt, cols)
    }
  }
  if (!direct) {
    for (let i = 0; i < rows; i++) memory.copy(first + <usize>(i * n) * 4, cp + <usize>i * ldc, <usize>cols * 4)
  }
}

/**
 * Tile rows [0, rows) by columns [0, cols) of a C grid (row stride `ldc` bytes, both padded to
 * the tile) set to their start (gemm.ts's startTile): the bias or zero.
 */
function startTiles(c: usize, ldc: usize, rows: i32, cols: i32, bias: usize, real: i32): void {
  for (let jr = 0; jr < cols; jr += NR) startTile(c + <usize>jr * 4, ldc, rows, bias, jr, real)
}
