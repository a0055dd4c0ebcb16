/**
 * The packed float32 GEMM behind matmul and the convolutions (Goto/BLIS loop order, a 4x8
 * f32x4 micro-kernel).
 *
 * A block of A (rows x kc) is packed into MR-row panels laid out [p][i], so each step of the
 * micro-kernel broadcasts MR consecutive floats; a block of B (kc x cols) into NR-column panels
 * laid out [p][j] (two v128 loads a step). A B panel (KC x NR = 8 KiB) stays in L1 while the A
 * panels stream past it from L2. C is a padded grid of tiles in scratch, so edge tiles need no
 * special case.
 *
 * Every C element accumulates `c = c + a * b` in float32 (the product rounded, then the sum),
 * in order of the summed index, block after block: exactly the JavaScript reference's order,
 * so the packers below may read A and B in any layout (plain, transposed in place, or gathered
 * from an image) without changing a bit of the result.
 */

/** Rows of a micro-tile (and of an A panel). */
export const MR: i32 = 4
/** Columns of a micro-tile (and of a B panel). */
export const NR: i32 = 8
/** The summed dimension's block: a B panel is KC x NR floats (8 KiB, in L1). */
export const KC: i32 = 256
/** Rows of A packed at a time: an A block is at most MC x KC floats (256 KiB, in L2). */
export const MC: i32 = 256

// @ts-ignore: decorator
@inline export function roundUp(x: i32, to: i32): i32 {
  return ((x + to - 1) / to) * to
}

/**
 * Packs `rows` x `kc` of A into MR-row panels [p][i] at `dst`, zero-padded to a multiple of MR
 * rows. `a` points at the block's first element; A[i][p] is `a[i * lda + p]`, or with `trans`
 * (A stored transposed, [k, m]) `a[p * lda + i]`, read in place.
 */
export function packA(dst: usize, a: usize, lda: i32, trans: bool, rows: i32, kc: i32): void {
  const stride = <usize>lda * 4
  for (let ir = 0; ir < rows; ir += MR) {
    const panel = dst + <usize>(ir * kc) * 4
    const full = ir + MR <= rows
    if (trans) {
      // MR consecutive floats of one stored row per step
      const src = a + <usize>ir * 4
      if (full) {
        for (let p = 0; p < kc; p++) v128.store(panel + <usize>p * 16, v128.load(src + <usize>p * stride))
      } else {
        for (let p = 0; p < kc; p++) {
          for (let i = 0; i < MR; i++) {
            const v: f32 = ir + i < rows ? load<f32>(src + <usize>p * stride + <usize>i * 4) : 0
            store<f32>(panel + <usize>(p * MR + i) * 4, v)
          }
        }
      }
      continue
    }
    const r0 = a + <usize>ir * stride
    if (full) {
      // four rows, four columns at a time, transposed in registers
      const r1 = r0 + stride
      const r2 = r1 + stride
      const r3 = r2 + stride
      let p = 0
      for (; p + 4 <= kc; p += 4) {
        const o = <usize>p * 4
        const v0 = v128.load(r0 + o)
        const v1 = v128.load(r1 + o)
        const v2 = v128.load(r2 + o)
        const v3 = v128.load(r3 + o)
        const t0 = v128.shuffle<f32>(v0, v1, 0, 4, 1, 5)
        const t1 = v128.shuffle<f32>(v2, v3, 0, 4, 1, 5)
        const t2 = v128.shuffle<f32>(v0, v1, 2, 6, 3, 7)
        const t3 = v128.shuffle<f32>(v2, v3, 2, 6, 3, 7)
        const d = panel + <usize>p * 16
        v128.store(d, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5))
        v128.store(d, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), 16)
        v128.store(d, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), 32)
        v128.store(d, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), 48)
      }
      for (; p < kc; p++) {
        const o = <usize>p * 4
        const d = panel + <usize>p * 16
        store<f32>(d, load<f32>(r0 + o))
        store<f32>(d, load<f32>(r1 + o), 4)
        store<f32>(d, load<f32>(r2 + o), 8)
        store<f32>(d, load<f32>(r3 + o), 12)
      }
    } else {
      for (let i = 0; i < MR; i++) {
        const src = r0 + <usize>i * stride
        for (let p = 0; p < kc; p++) {
          store<f32>(panel + <usize>(p * MR + i) * 4, ir + i < rows ? load<f32>(src + <usize>p * 4) : 0)
        }
      }
    }
  }
}

/**
 * Packs `kc` x `cols` of B into NR-column panels [p][j] at `dst`, zero-padded to a multiple of
 * NR columns. `b` points at the block's first element; B[p][j] is `b[p * ldb + j]`, or with
 * `trans` (B stored transposed, [n, k]) `b[j * ldb + p]`, read in place (eight stored rows,
 * four floats of each at a time, transposed in registers).
 */
export function packB(dst: usize, b: usize, ldb: i32, trans: bool, cols: i32, kc: i32): void {
  const stride = <usize>ldb * 4
  for (let jr = 0; jr < cols; jr += NR) {
    const panel = dst + <usize>(jr * kc) * 4
    const full = jr + NR <= cols
    if (!trans) {
      const src = b + <usize>jr * 4
      if (full) {
        for (let p = 0; p < kc; p++) {
          const s = src + <usize>p * stride
          const d = panel + <usize>(p * NR) * 4
          v128.store(d, v128.load(s))
          v128.store(d, v128.load(s, 16), 16)
        }
      } else {
        for (let p = 0; p < kc; p++) {
          const s = src + <usize>p * stride
          for (let j = 0; j < NR; j++) {
            store<f32>(panel + <usize>(p * NR + j) * 4, jr + j < cols ? load<f32>(s + <usize>j * 4) : 0)
          }
        }
      }
      continue
    }
    const r0 = b + <usize>jr * stride
    if (full) {
      const r1 = r0 + stride
      const r2 = r1 + stride
      const r3 = r2 + stride
      const r4 = r3 + stride
      const r5 = r4 + stride
      const r6 = r5 + stride
      const r7 = r6 + stride
      let p = 0
      for (; p + 4 <= kc; p += 4) {
        const o = <usize>p * 4
        const d = panel + <usize>(p * NR) * 4
        let v0 = v128.load(r0 + o)
        let v1 = v128.load(r1 + o)
        let v2 = v128.load(r2 + o)
        let v3 = v128.load(r3 + o)
        let t0 = v128.shuffle<f32>(v0, v1, 0, 4, 1, 5)
        let t1 = v128.shuffle<f32>(v2, v3, 0, 4, 1, 5)
        let t2 = v128.shuffle<f32>(v0, v1, 2, 6, 3, 7)
        let t3 = v128.shuffle<f32>(v2, v3, 2, 6, 3, 7)
        v128.store(d, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5))
        v128.store(d, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), 32)
        v128.store(d, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), 64)
        v128.store(d, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), 96)
        v0 = v128.load(r4 + o)
        v1 = v128.load(r5 + o)
        v2 = v128.load(r6 + o)
        v3 = v128.load(r7 + o)
        t0 = v128.shuffle<f32>(v0, v1, 0, 4, 1, 5)
        t1 = v128.shuffle<f32>(v2, v3, 0, 4, 1, 5)
        t2 = v128.shuffle<f32>(v0, v1, 2, 6, 3, 7)
        t3 = v128.shuffle<f32>(v2, v3, 2, 6, 3, 7)
        v128.store(d, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5), 16)
        v128.store(d, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), 48)
        v128.store(d, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), 80)
        v128.store(d, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), 112)
      }
      for (; p < kc; p++) {
        const o = <usize>p * 4
        const d = panel + <usize>(p * NR) * 4
        for (let j = 0; j < NR; j++) store<f32>(d + <usize>j * 4, load<f32>(r0 + <usize>j * stride + o))
      }
    } else {
      for (let p = 0; p < kc; p++) {
        const d = panel + <usize>(p * NR) * 4
        for (let j = 0; j < NR; j++) {
          store<f32>(d + <usize>j * 4, jr + j < cols ? load<f32>(r0 + <usize>j * stride + <usize>p * 4) : 0)
        }
      }
    }
  }
}

/**
 * C[4, 8] (row stride `ldc` bytes) += A panel [kc][4] x B panel [kc][8], or (`fresh`, known
 * where it is inlined) C = the product, the sums started from +0 without reading C.
 */
// @ts-ignore: decorator
@inline export function kernel4x8(c: usize, ldc: usize, ap: usize, bp: usize, kc: i32, fresh: bool = false): void {
  const z = f32x4.splat(0)
  let c00 = fresh ? z : v128.load(c), c01 = fresh ? z : v128.load(c, 16)
  let c10 = fresh ? z : v128.load(c + ldc), c11 = fresh ? z : v128.load(c + ldc, 16)
  let c20 = fresh ? z : v128.load(c + 2 * ldc), c21 = fresh ? z : v128.load(c + 2 * ldc, 16)
  let c30 = fresh ? z : v128.load(c + 3 * ldc), c31 = fresh ? z : v128.load(c + 3 * ldc, 16)
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
 * Rows [0, rows) of the 8 columns [jr, jr + 8) of a C grid at `c` (row stride `ldc` bytes) set
 * to their start: `bias[j]` for the `real` columns (zero where `bias` is 0) and zero in the
 * padding past them.
 */
// @ts-ignore: decorator
@inline export function startTile(c: usize, ldc: usize, rows: i32, bias: usize, jr: i32, real: i32): void {
  if (bias == 0 || jr + NR <= real) {
    const lo = bias != 0 ? v128.load(bias + <usize>jr * 4) : f32x4.splat(0)
    const hi = bias != 0 ? v128.load(bias + <usize>jr * 4, 16) : f32x4.splat(0)
    for (let i = 0; i < rows; i++) {
      v128.store(c + <usize>i * ldc, lo)
      v128.store(c + <usize>i * ldc, hi, 16)
    }
    return
  }
  // the last panel's real columns and its padding
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < NR; j++) {
      store<f32>(c + <usize>i * ldc + <usize>j * 4, jr + j < real ? load<f32>(bias + <usize>(jr + j) * 4) : 0)
    }
  }
}

/**
 * C (a grid of `rows` x `cols` floats, both padded to the tile, row stride `ldc` bytes) +=
 * packed A block x packed B block, over `kc` steps of the summed index. With `start` (the first
 * block), each tile first starts from {@link startTile}'s values (`bias` per column for the
 * `real` columns, or zero), just before its micro-kernel while it is in L1, so C needs no pass
 * of its own before.
 */
export function gemmBlock(
  c: usize, ldc: usize, ap: usize, bp: usize, rows: i32, cols: i32, kc: i32,
  start: bool = false, bias: usize = 0, real: i32 = 0,
): void {
  for (let jr = 0; jr < cols; jr += NR) {
    const bPanel = bp + <usize>(jr * kc) * 4
    const cCol = c + <usize>jr * 4
    for (let ir = 0; ir < rows; ir += MR) {
      const tile = cCol + <usize>ir * ldc
      if (start) startTile(tile, ldc, MR, bias, jr, real)
      kernel4x8(tile, ldc, ap + <usize>(ir * kc) * 4, bPanel, kc)
    }
  }
}

/** The 4 x 4 floats at `src` (rows `srcStride` bytes apart) transposed into `dst` (rows `dstStride` apart). */
// @ts-ignore: decorator
@inline export function transpose4(dst: usize, dstStride: usize, src: usize, srcStride: usize): void {
  const v0 = v128.load(src)
  const v1 = v128.load(src + srcStride)
  const v2 = v128.load(src + 2 * srcStride)
  const v3 = v128.load(src + 3 * srcStride)
  const t0 = v128.shuffle<f32>(v0, v1, 0, 4, 1, 5)
  const t1 = v128.shuffle<f32>(v2, v3, 0, 4, 1, 5)
  const t2 = v128.shuffle<f32>(v0, v1, 2, 6, 3, 7)
  const t3 = v128.shuffle<f32>(v2, v3, 2, 6, 3, 7)
  v128.store(dst, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5))
  v128.store(dst + dstStride, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7))
  v128.store(dst + 2 * dstStride, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5))
  v128.store(dst + 3 * dstStride, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7))
}

/**
 * `dst[j][i] = src[i][j]` for `rows` x `cols` floats (`src` rows `srcStride` bytes apart, `dst`
 * rows `dstStride` apart): 4 x 4 blocks in registers, the edges one at a time. Four rows of
 * dst at a time, each written in order: rows a power-of-two apart (2 KiB, say) written a block
 * column at a time would fall in a few L1 sets.
 */
export function transposeBlock(dst: usize, dstStride: usize, src: usize, srcStride: usize, rows: i32, cols: i32): void {
  const rows4 = rows & ~3
  const cols4 = cols & ~3
  for (let j = 0; j < cols4; j += 4) {
    for (let i = 0; i < rows4; i += 4) {
      transpose4(dst + <usize>j * dstStride + <usize>i * 4, dstStride, src + <usize>i * srcStride + <usize>j * 4, srcStride)
    }
  }
  for (let i = 0; i < rows; i++) {
    const from = i < rows4 ? cols4 : 0
    for (let j = from; j < cols; j++) {
      store<f32>(dst + <usize>j * dstStride + <usize>i * 4, load<f32>(src + <usize>i * srcStride + <usize>j * 4))
    }
  }
}
