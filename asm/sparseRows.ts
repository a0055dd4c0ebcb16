/**
 * matmul where A is mostly zeros (spikes, or the zero border of MNIST digits): each output row
 * sums only its row of A's non-zero entries, `out[i, j] = bias[j] + sum_(k: A[i][k] != 0)
 * A[i][k] * B[k][j]`, in order of k, in float32 with the product rounded and then the sum, as
 * the packed GEMM adds. A skipped term is `0 * B[k][j]`, a signed zero, which changes no sum
 * except a -0 accumulator's sign (a sum is -0 only where it starts from -0), and is NaN where
 * `B[k][j]` is infinite or NaN. So this route gives the GEMM's bits wherever no bias is -0 and
 * B's columns of the rectangle are all finite; elsewhere, and where A has more non-zero
 * entries than {@link paysBelow} says pay, it declines and the GEMM runs.
 *
 * The non-zero entries of each row of the rectangle are gathered first, in order of k (A read
 * transposed is first transposed into scratch), four at a step without a branch: a table of
 * shuffles packs a vector's non-zero lanes to its front, and the count moves on by how many.
 * Then each block of up to 28 output columns is packed from B ([k][28], contiguous) and sums
 * the entries in up to seven v128 accumulators (V8 keeps seven, and their operands, in
 * registers; eight spill one to the stack).
 */
import { transposeBlock } from './gemm'

/**
 * At most one entry in SPARSE_PART of A's rows non-zero (the scratch's size). On the spiking
 * MLP's first layer (one thread, 64 x 784 x 800) this route takes 0.22 of the GEMM's time at
 * 10% non-zero inputs and 0.35 at 20%.
 */
const SPARSE_PART: i32 = 3

/** Output columns per block: VECS v128 accumulators. */
const VECS: i32 = 7
const BLOCK: i32 = VECS * 4

/** For each 4-bit mask of non-zero lanes, the shuffle that packs those lanes to the front. */
const PACK_LANES = memory.data<u8>([
  0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
  0, 1, 2, 3, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
  4, 5, 6, 7, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
  0, 1, 2, 3, 4, 5, 6, 7, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
  8, 9, 10, 11, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
  0, 1, 2, 3, 8, 9, 10, 11, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
  4, 5, 6, 7, 8, 9, 10, 11, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x80, 0x80, 0x80, 0x80,
  12, 13, 14, 15, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
  0, 1, 2, 3, 12, 13, 14, 15, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
  4, 5, 6, 7, 12, 13, 14, 15, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
  0, 1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15, 0x80, 0x80, 0x80, 0x80,
  8, 9, 10, 11, 12, 13, 14, 15, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
  0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 0x80, 0x80, 0x80, 0x80,
  4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0x80, 0x80, 0x80, 0x80,
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
], 16)

/** The most non-zero entries rows x k of A may have for this route. */
// @ts-ignore: decorator
@inline function limitOf(rows: i32, k: i32): i32 {
  return (rows * k) / SPARSE_PART
}

/**
 * The most non-zero entries for which this route is cheaper than the GEMM on `rows` x `k` of A
 * and `cols` columns of B (at most {@link limitOf}'s). Measured on one thread: the GEMM takes
 * about roundUp(cols, 8) / 8 cycles per entry of A (zero or not); this route about 1.6 to
 * count and gather it, and 0.2 per output column for each non-zero one. So narrow products
 * (the 10 classes of a readout) pay only below 20% non-zero, wide ones up to the limit.
 */
function paysBelow(rows: i32, k: i32, cols: i32): i32 {
  const gemm = <f64>((cols + 7) & ~7) / 8
  const share = (gemm - 1.6) / (0.2 * <f64>cols)
  if (share <= 0) return 0
  return min(limitOf(rows, k), <i32>(share * <f64>rows * <f64>k))
}

/** Bytes of one list of the entries (offsets or values): the limit and a vector's slack. */
// @ts-ignore: decorator
@inline function listBytes(rows: i32, k: i32): usize {
  return (<usize>(limitOf(rows, k) + 4) * 4 + 15) & ~15
}

/**
 * Scratch bytes of the route for `rows` of A with `k` entries: each row's first entry, the
 * entries' panel offsets and values, A's rows transposed (for transA), a block's packed
 * columns of B, its start (the bias) and a row of a narrow block.
 */
export function sparseRowsScratchBytes(rows: i32, k: i32): i32 {
  const lists = <usize>(rows + 4) * 4 + 2 * listBytes(rows, k)
  return <i32>(lists + <usize>rows * <usize>k * 4) + 64 + k * BLOCK * 4 + 2 * BLOCK * 4
}

/**
 * Rows [i0, i1) by columns [j0, j1) of `out = A @ B (+ bias)` as matmul.ts's matmulPart
 * defines it (B not transposed), by the non-zero entries of A, or `false`, having written
 * nothing to `out`, where the route does not apply (see the module comment). `scratch` holds
 * sparseRowsScratchBytes(i1 - i0, k) bytes, 16-byte aligned.
 */
export function sparseRowsPart(
  scratch: usize, i0: i32, i1: i32, j0: i32, j1: i32,
  out: usize, a: usize, b: usize, m: i32, k: i32, n: i32, bias: usize, transA: bool,
): bool {
  const rows = i1 - i0
  if (k == 0 || rows <= 0 || j1 <= j0) return false
  const limit = paysBelow(rows, k, j1 - j0)
  if (limit <= 0 || nonZeroCount(a, m, k, i0, rows, transA, limit) > limit) return false
  if (!noNegativeZero(bias, j0, j1) || !columnsFinite(b, n, k, j0, j1)) return false
  const firsts = scratch
  const offsets = firsts + ((<usize>(rows + 1) * 4 + 15) & ~15)
  const values = offsets + listBytes(rows, k)
  const copy = values + listBytes(rows, k)
  const panel = (copy + <usize>rows * <usize>k * 4 + 63) & ~63
  const start = panel + <usize>(k * BLOCK) * 4
  // A's rows [i0, i1) as stored rows: read in place, or transposed into scratch
  let rowsAt = a + <usize>i0 * <usize>k * 4
  if (transA) {
    // stored [k, m]: its columns [i0, i1) are the rows
    transposeBlock(copy, <usize>k * 4, a + <usize>i0 * 4, <usize>m * 4, k, rows)
    rowsAt = copy
  }
  gather(firsts, offsets, values, rowsAt, k, rows)
  for (let j = j0; j < j1; j += BLOCK) {
    const width = min(BLOCK, j1 - j)
    const vecs = (width + 3) >> 2
    packColumns(panel, start, b, n, k, bias, j, width, vecs * 4)
    const at = out + <usize>(i0 * n + j) * 4
    // one body per width, the accumulators it needs and no more
    switch (vecs) {
      case 7: sumBlock(at, n, width, panel, start, firsts, offsets, values, rows, 7); break
      case 6: sumBlock(at, n, width, panel, start, firsts, offsets, values, rows, 6); break
      case 5: sumBlock(at, n, width, panel, start, firsts, offsets, values, rows, 5); break
      case 4: sumBlock(at, n, width, panel, start, firsts, offsets, values, rows, 4); break
      case 3: sumBlock(at, n, width, panel, start, firsts, offsets, values, rows, 3); break
      case 2: sumBlock(at, n, width, panel, start, firsts, offsets, values, rows, 2); break
      default: sumBlock(at, n, width, panel, start, firsts, offsets, values, rows, 1)
    }
  }
  return true
}

/**
 * The non-zero entries of rows [i0, i0 + rows) of A ([m, k], or stored [k, m] with `trans`),
 * counted up to past `limit`: a dense A is turned away at the cost of a read of part of it.
 * NaN is non-zero: it must reach the sums.
 */
function nonZeroCount(a: usize, m: i32, k: i32, i0: i32, rows: i32, trans: bool, limit: i32): i32 {
  const zero = f32x4.splat(0)
  // a stored row at a time: `lines` of `width` floats, `stride` floats apart
  const lines = trans ? k : rows
  const width = trans ? rows : k
  const stride = <usize>(trans ? m : k) * 4
  const first = a + <usize>i0 * (trans ? 4 : stride)
  const width4 = width & ~3
  let total = 0
  for (let l = 0; l < lines; l++) {
    const src = first + <usize>l * stride
    for (let q = 0; q < width4; q += 4) total += <i32>popcnt(i32x4.bitmask(f32x4.ne(v128.load(src + <usize>q * 4), zero)))
    for (let q = width4; q < width; q++) total += i32(load<f32>(src + <usize>q * 4) != 0)
    if (total > limit) return total
  }
  return total
}

/**
 * The non-zero entries of `rows` rows of `k` floats at `src`, in order: row r's are entries
 * [firsts[r], firsts[r + 1]), each its panel offset (k * BLOCK * 4 bytes) and its value.
 */
function gather(firsts: usize, offsets: usize, values: usize, src: usize, k: i32, rows: i32): void {
  const zero = f32x4.splat(0)
  const k4 = k & ~3
  const k16 = k & ~15
  const lanes = i32x4(0, BLOCK * 4, 2 * BLOCK * 4, 3 * BLOCK * 4)
  let count = 0
  for (let r = 0; r < rows; r++) {
    store<i32>(firsts + <usize>r * 4, count)
    const row = src + <usize>r * <usize>k * 4
    let p = 0
    for (; p < k4; p += 4) {
      // sixteen zeros (most of a spike train's) skipped at one well-predicted test
      if ((p & 15) == 0 && p < k16) {
        const s = row + <usize>p * 4
        const any = v128.or(
          v128.or(f32x4.ne(v128.load(s), zero), f32x4.ne(v128.load(s, 16), zero)),
          v128.or(f32x4.ne(v128.load(s, 32), zero), f32x4.ne(v128.load(s, 48), zero)),
        )
        if (!v128.any_true(any)) {
          p += 12
          continue
        }
      }
      const v = v128.load(row + <usize>p * 4)
      const mask = i32x4.bitmask(f32x4.ne(v, zero))
      const pack = v128.load(PACK_LANES + <usize>mask * 16)
      v128.store(values + <usize>count * 4, i8x16.swizzle(v, pack))
      v128.store(offsets + <usize>count * 4, i8x16.swizzle(i32x4.add(lanes, i32x4.splat(p * BLOCK * 4)), pack))
      count += <i32>popcnt(mask)
    }
    for (; p < k; p++) {
      const v = load<f32>(row + <usize>p * 4)
      store<i32>(offsets + <usize>count * 4, p * BLOCK * 4)
      store<f32>(values + <usize>count * 4, v)
      count += i32(v != 0)
    }
  }
  store<i32>(firsts + <usize>rows * 4, count)
}

/** Whether no bias of columns [j0, j1) is -0 (no bias: every sum starts from +0). */
function noNegativeZero(bias: usize, j0: i32, j1: i32): bool {
  if (bias == 0) return true
  for (let j = j0; j < j1; j++) {
    if (load<u32>(bias + <usize>j * 4) == 0x80000000) return false
  }
  return true
}

/** Whether columns [j0, j1) of B [k, n] are all finite. */
function columnsFinite(b: usize, n: i32, k: i32, j0: i32, j1: i32): bool {
  const width = j1 - j0
  const width4 = width & ~3
  // x - x is 0 where x is finite and NaN otherwise, and a NaN stays in the sum
  let s0 = f32x4.splat(0), s1 = s0
  let tail: f32 = 0
  for (let p = 0; p < k; p++) {
    const row = b + <usize>(p * n + j0) * 4
    let j = 0
    for (; j + 8 <= width4; j += 8) {
      const x = v128.load(row + <usize>j * 4)
      const y = v128.load(row + <usize>j * 4, 16)
      s0 = f32x4.add(s0, f32x4.sub(x, x))
      s1 = f32x4.add(s1, f32x4.sub(y, y))
    }
    if (j < width4) {
      const x = v128.load(row + <usize>j * 4)
      s0 = f32x4.add(s0, f32x4.sub(x, x))
    }
    for (j = width4; j < width; j++) {
      const x = load<f32>(row + <usize>j * 4)
      tail += x - x
    }
  }
  const s = f32x4.add(s0, s1)
  return f32x4.extract_lane(s, 0) == 0 && f32x4.extract_lane(s, 1) == 0 &&
    f32x4.extract_lane(s, 2) == 0 && f32x4.extract_lane(s, 3) == 0 && tail == 0
}

/**
 * Columns [j, j + width) of B [k, n] packed at `panel`, row p at byte p * BLOCK * 4, `lanes`
 * floats of it written (zero past `width`); and their start (the bias, or zero) as `lanes`
 * floats at `start`.
 */
function packColumns(panel: usize, start: usize, b: usize, n: i32, k: i32, bias: usize, j: i32, width: i32, lanes: i32): void {
  const src = b + <usize>j * 4
  const whole = width & ~3
  // short rows: vector moves, not memory.copy (a call into the engine for each)
  for (let p = 0; p < k; p++) {
    const d = panel + <usize>(p * BLOCK) * 4
    const s = src + <usize>(p * n) * 4
    for (let q = 0; q < whole; q += 4) v128.store(d + <usize>q * 4, v128.load(s + <usize>q * 4))
    if (whole < lanes) {
      v128.store(d + <usize>whole * 4, f32x4.splat(0))
      for (let q = whole; q < width; q++) store<f32>(d + <usize>q * 4, load<f32>(s + <usize>q * 4))
    }
  }
  memory.fill(start, 0, <usize>lanes * 4)
  if (bias != 0) memory.copy(start, bias + <usize>j * 4, <usize>width * 4)
}

/**
 * A block of `vecs` v128s of output columns (`width` of them real) of every row, from the
 * packed panel: row r starts from `start` and adds `v * panel[p]` for each of its entries.
 */
// @ts-ignore: decorator
@inline function sumBlock(
  out: usize, n: i32, width: i32, panel: usize, start: usize, firsts: usize, offsets: usize, values: usize, rows: i32, vecs: i32,
): void {
  const whole = width == vecs * 4
  for (let r = 0; r < rows; r++) {
    let c0 = v128.load(start)
    let c1 = vecs > 1 ? v128.load(start, 16) : c0
    let c2 = vecs > 2 ? v128.load(start, 32) : c0
    let c3 = vecs > 3 ? v128.load(start, 48) : c0
    let c4 = vecs > 4 ? v128.load(start, 64) : c0
    let c5 = vecs > 5 ? v128.load(start, 80) : c0
    let c6 = vecs > 6 ? v128.load(start, 96) : c0
    let c7 = vecs > 7 ? v128.load(start, 112) : c0
    const end = <usize>load<i32>(firsts + <usize>r * 4, 4) * 4
    for (let e = <usize>load<i32>(firsts + <usize>r * 4) * 4; e < end; e += 4) {
      const v = v128.load32_splat(values + e)
      const row = panel + <usize>load<i32>(offsets + e)
      c0 = f32x4.add(c0, f32x4.mul(v, v128.load(row)))
      if (vecs > 1) c1 = f32x4.add(c1, f32x4.mul(v, v128.load(row, 16)))
      if (vecs > 2) c2 = f32x4.add(c2, f32x4.mul(v, v128.load(row, 32)))
      if (vecs > 3) c3 = f32x4.add(c3, f32x4.mul(v, v128.load(row, 48)))
      if (vecs > 4) c4 = f32x4.add(c4, f32x4.mul(v, v128.load(row, 64)))
      if (vecs > 5) c5 = f32x4.add(c5, f32x4.mul(v, v128.load(row, 80)))
      if (vecs > 6) c6 = f32x4.add(c6, f32x4.mul(v, v128.load(row, 96)))
      if (vecs > 7) c7 = f32x4.add(c7, f32x4.mul(v, v128.load(row, 112)))
    }
    // a block narrower than its vectors is written up to `width` only, through scratch
    const o = out + <usize>r * <usize>n * 4
    const d = whole ? o : start + <usize>BLOCK * 4
    v128.store(d, c0)
    if (vecs > 1) v128.store(d, c1, 16)
    if (vecs > 2) v128.store(d, c2, 32)
    if (vecs > 3) v128.store(d, c3, 48)
    if (vecs > 4) v128.store(d, c4, 64)
    if (vecs > 5) v128.store(d, c5, 80)
    if (vecs > 6) v128.store(d, c6, 96)
    if (vecs > 7) v128.store(d, c7, 112)
    if (!whole) for (let q = 0; q < width; q++) store<f32>(o + <usize>q * 4, load<f32>(d + <usize>q * 4))
  }
}
