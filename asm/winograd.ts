/**
 * The input cotangent of a 5x5, stride-1, undilated convolution by Winograd's minimal filtering
 * F(2x2, 5x5) (Lavin & Gray, 2016), points 0, ±1, ±2 and infinity. The input cotangent is the
 * correlation of the zero-padded output cotangent with the weights flipped and each group's
 * channel axes swapped; Winograd computes each 2x2 tile of it from a 6x6 patch with 36
 * products per (input channel, output channel) pair instead of 100:
 *
 *   dx_tile = A^T [ sum_o (G g_o G^T) .* (B^T d_o B) ] A
 *
 * so the GEMM between the transforms (one per ξ of the 36, summed over the group's output
 * channels) does 2.8x fewer multiply-adds than the direct convolution. Only the input gradient
 * runs here: its sums are already in another order than the reference's, while the forward
 * keeps the reference's bits. The transforms add roundings (and the weights' transform rounds
 * 1/6 and 1/24), so it is equal to the reference within the Winograd bound the property suite
 * states (`winogradInputBounds` in props/kernels/cases.ts), not the dot product's.
 *
 * Lanes hold tiles: a panel is eight horizontally adjacent tiles of one tile row (the GEMM's
 * NR columns), so the input transform writes the GEMM's B panels directly and no packing pass
 * is needed. Panels go a block at a time (PB of them, the block's transformed data in L2).
 */
import { MR, NR, kernel4x8, roundUp } from './gemm'

/** Tiles in a panel: the GEMM's B-panel width, one f32x4 per half. */
const LANES: i32 = NR
/** Winograd's tile (6x6 patch, 36 products) and output (2x2) for a 5x5 kernel. */
const T: i32 = 6
const XI: i32 = T * T
/** Largest |entry| growth through the transforms: |B^T|1^2 (10^2) x |G|1^2 (< 1.67) x |A^T|1^2 (7^2) < 2^13. */
export const WINOGRAD_GROWTH: f64 = 8192

/** G for F(2, 5), 6 x 5 row-major (the weights' transform). */
const G5 = memory.data<f64>([
  1.0 / 4, 0, 0, 0, 0,
  -1.0 / 6, -1.0 / 6, -1.0 / 6, -1.0 / 6, -1.0 / 6,
  -1.0 / 6, 1.0 / 6, -1.0 / 6, 1.0 / 6, -1.0 / 6,
  1.0 / 24, 1.0 / 12, 1.0 / 6, 1.0 / 3, 2.0 / 3,
  1.0 / 24, -1.0 / 12, 1.0 / 6, -1.0 / 3, 2.0 / 3,
  0, 0, 0, 0, 1,
])

// the geometry of the current call, in the transposed convolution's terms: `cot [n, o, oh, ow]`
// in, `out [n, c, h, w]` out, `o / groups` summed channels, `c / groups` rows of the GEMM
let C: i32 = 0, H: i32 = 0, W: i32 = 0, O: i32 = 0, OH: i32 = 0, OW: i32 = 0, G: i32 = 0
let CG: i32 = 0, OG: i32 = 0, ROWS: i32 = 0, TOP: i32 = 0, LEFT: i32 = 0
let TY: i32 = 0, PANELS_X: i32 = 0, PANELS: i32 = 0, PH: i32 = 0, PW: i32 = 0, PB: i32 = 0
let V_XI: i32 = 0, M_XI: i32 = 0

function geometry(c: i32, h: i32, w: i32, o: i32, ph: i32, pw: i32, groups: i32): void {
  C = c; H = h; W = w; O = o; G = groups
  OH = h + 2 * ph - 4
  OW = w + 2 * pw - 4
  CG = c / groups
  OG = o / groups
  ROWS = roundUp(CG, MR)
  // the transposed convolution's padding
  TOP = 4 - ph
  LEFT = 4 - pw
  TY = (h + 1) / 2
  PANELS_X = ((w + 1) / 2 + LANES - 1) / LANES
  PANELS = TY * PANELS_X
  // a patch reads rows [2 ty, 2 ty + 6) and, per half panel, columns [2 tx, 2 tx + 14)
  PH = 2 * TY + 4
  PW = 2 * LANES * PANELS_X + 8
  // a block's transformed input and products in about 256 KiB
  PB = max(1, min(PANELS, 65536 / (XI * LANES * (OG + ROWS))))
  // floats from one ξ to the next in the block's transformed input and products: a cache line
  // more than the data, since power-of-two strides put the 36 values of a tile in one L1 set
  V_XI = PB * OG * LANES + 16
  M_XI = PB * ROWS * LANES + 16
}

// @ts-ignore: decorator
@inline function bytes(floats: i32): usize {
  return <usize>(((floats * 4) + 15) & ~15)
}

/** Whether Winograd can compute a convolution's input cotangent: a 5x5 kernel, stride 1, no dilation, padding at most 4. */
export function winogradApplies(kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32): bool {
  return kh == 5 && kw == 5 && sh == 1 && sw == 1 && dh == 1 && dw == 1 && ph <= 4 && pw <= 4
}

/**
 * Whether it is faster than the direct route on this geometry (the input side's `c, h, w`), by
 * a cost model in multiply-adds of the GEMM fitted on one core: the direct route packs each
 * (o, p, q) row of im2col once (about four multiply-adds a value) and multiplies it by the
 * group's input channels padded to MR; Winograd multiplies 36 values per lane (a tile, or a
 * panel's unused lane past the image's edge) and input channel, and transforms each lane once
 * per output channel (about 250) and per input channel (about 300). Small channel counts or
 * images a panel's width overhangs go the direct route.
 */
export function winogradPays(c: i32, h: i32, w: i32, o: i32, ph: i32, pw: i32, groups: i32): bool {
  geometry(c, h, w, o, ph, pw, groups)
  const lanes = <f64>(PANELS * LANES)
  const winograd = 0.9 * lanes * <f64>(XI * ROWS * OG + 250 * OG + 300 * CG)
  const direct = <f64>(h * w) * <f64>(OG * 25) * <f64>(ROWS + 4)
  return winograd < 0.85 * direct
}

/** Scratch bytes of {@link gradInputWinograd} on this geometry (the input side's `c, h, w`). */
export function winogradScratchBytes(c: i32, h: i32, w: i32, o: i32, ph: i32, pw: i32, groups: i32): i32 {
  geometry(c, h, w, o, ph, pw, groups)
  return <i32>(bytes(G * XI * ROWS * OG) + bytes(OG * PH * PW) + bytes(XI * V_XI) +
    bytes(XI * M_XI) + bytes(T * T * 4) + bytes(T * 5 * 2))
}

/**
 * Items [from, to) of the input cotangent (item img * groups + g: one image's group of input
 * channels) of a convolution by `w [o, c / groups, 5, 5]` with padding (ph, pw), from
 * `cot [n, o, oh, ow]`; nothing else of `out [n, c, h, w]`. Each item is computed alone, so any
 * cut into ranges gives the same bits. The caller checks that no value can overflow (the
 * largest |cot| x |w| x o / groups x {@link WINOGRAD_GROWTH} below 2^126) and that all are finite.
 */
export function gradInputWinograd(
  scratch: usize, from: i32, to: i32, out: usize, cot: usize, w: usize,
  c: i32, h: i32, wd: i32, o: i32, ph: i32, pw: i32, groups: i32,
): void {
  geometry(c, h, wd, o, ph, pw, groups)
  const u = scratch
  const pad = u + bytes(G * XI * ROWS * OG)
  const v = pad + bytes(OG * PH * PW)
  const m = v + bytes(XI * V_XI)
  const rowT = m + bytes(XI * M_XI)
  transformWeights(u, w, rowT + bytes(T * T * 4))
  for (let item = from; item < to; item++) {
    const img = item / G
    const g = item - img * G
    padCotangent(pad, cot + <usize>((img * O + g * OG) * OH * OW) * 4)
    const ug = u + <usize>(g * XI * ROWS * OG) * 4
    const outG = out + <usize>((img * C + g * CG) * H * W) * 4
    for (let p0 = 0; p0 < PANELS; p0 += PB) {
      const pb = min(PB, PANELS - p0)
      for (let p = 0; p < pb; p++) {
        for (let oc = 0; oc < OG; oc++) transformPatch(v, rowT, pad, p0 + p, p, oc)
      }
      for (let xi = 0; xi < XI; xi++) {
        const a = ug + <usize>(xi * ROWS * OG) * 4
        for (let p = 0; p < pb; p++) {
          const b = v + <usize>(xi * V_XI + p * OG * LANES) * 4
          const tile = m + <usize>(xi * M_XI + p * ROWS * LANES) * 4
          // the products start from zero, stored while the tile is about to be in L1
          for (let j = 0; j < ROWS * LANES; j += 4) v128.store(tile + <usize>j * 4, f32x4.splat(0))
          for (let ir = 0; ir < ROWS; ir += MR) {
            kernel4x8(tile + <usize>(ir * LANES) * 4, <usize>LANES * 4, a + <usize>(ir * OG) * 4, b, OG)
          }
        }
      }
      for (let p = 0; p < pb; p++) {
        for (let r = 0; r < CG; r++) untransformTile(outG + <usize>(r * H * W) * 4, m, p0 + p, p, r)
      }
    }
  }
}

/**
 * U[g][ξ] = G g G^T for every pair (input channel, output channel) of each group, g the 5x5
 * kernel flipped in both axes, in float64 rounded once (`gw`: 30 float64 of scratch); packed as the GEMM's A panels (rows:
 * the group's input channels, padded to MR with zeros; summed: its output channels).
 */
function transformWeights(u: usize, w: usize, gw: usize): void {
  memory.fill(u, 0, <usize>(G * XI * ROWS * OG) * 4)
  for (let g = 0; g < G; g++) {
    for (let k = 0; k < OG; k++) {
      for (let r = 0; r < CG; r++) {
        const src = w + <usize>(((g * OG + k) * CG + r) * 25) * 4
        // (G g) [6][5], g[p][q] = w[4 - p][4 - q]
        for (let i = 0; i < T; i++) {
          for (let q = 0; q < 5; q++) {
            let s: f64 = 0
            for (let p = 0; p < 5; p++) s += load<f64>(G5 + <usize>(i * 5 + p) * 8) * <f64>load<f32>(src + <usize>((4 - p) * 5 + 4 - q) * 4)
            store<f64>(gw + <usize>(i * 5 + q) * 8, s)
          }
        }
        const ir = r & ~(MR - 1)
        const at = u + <usize>(g * XI * ROWS * OG + ir * OG + k * MR + r - ir) * 4
        for (let i = 0; i < T; i++) {
          for (let j = 0; j < T; j++) {
            let s: f64 = 0
            for (let q = 0; q < 5; q++) s += load<f64>(gw + <usize>(i * 5 + q) * 8) * load<f64>(G5 + <usize>(j * 5 + q) * 8)
            store<f32>(at + <usize>((i * T + j) * ROWS * OG) * 4, <f32>s)
          }
        }
      }
    }
  }
}

/** The group's cotangent planes `[og, oh, ow]` at `src`, zero-padded into [og][PH][PW] at (TOP, LEFT). */
function padCotangent(pad: usize, src: usize): void {
  memory.fill(pad, 0, <usize>(OG * PH * PW) * 4)
  const rowBytes = <usize>OW * 4
  for (let k = 0; k < OG; k++) {
    for (let y = 0; y < OH; y++) {
      memory.copy(pad + <usize>((k * PH + TOP + y) * PW + LEFT) * 4, src + <usize>((k * OH + y) * OW) * 4, rowBytes)
    }
  }
}

/** The patch's column `k` of a row for four tiles two columns apart: floats k, k + 2, k + 4, k + 6 from `at`. */
// @ts-ignore: decorator
@inline function everyOther(at: usize, k: i32): v128 {
  const p = at + <usize>k * 4
  return v128.shuffle<f32>(v128.load(p), v128.load(p, 16), 0, 2, 4, 6)
}

/**
 * B^T d for six values: the 1-D input transform of F(2, 5), its common terms shared.
 * Writes ξ = 0..5 to `dst`, `step` bytes apart.
 */
// @ts-ignore: decorator
@inline function inputTransform(dst: usize, step: usize, d0: v128, d1: v128, d2: v128, d3: v128, d4: v128, d5: v128): void {
  const four = f32x4.splat(4)
  const five = f32x4.splat(5)
  const two = f32x4.splat(2)
  const s12 = f32x4.add(d1, d2)
  const s34 = f32x4.add(d3, d4)
  const d12 = f32x4.sub(d1, d2)
  const d43 = f32x4.sub(d4, d3)
  const d42 = f32x4.sub(d4, d2)
  const d31 = f32x4.sub(d3, d1)
  v128.store(dst, f32x4.add(f32x4.sub(f32x4.mul(four, d0), f32x4.mul(five, d2)), d4))
  v128.store(dst + step, f32x4.sub(s34, f32x4.mul(four, s12)))
  v128.store(dst + 2 * step, f32x4.add(d43, f32x4.mul(four, d12)))
  v128.store(dst + 3 * step, f32x4.add(d42, f32x4.mul(two, d31)))
  v128.store(dst + 4 * step, f32x4.sub(d42, f32x4.mul(two, d31)))
  v128.store(dst + 5 * step, f32x4.add(f32x4.sub(f32x4.mul(four, d1), f32x4.mul(five, d3)), d5))
}

/**
 * The 36 transformed values B^T d B of output channel `oc`'s 6x6 patches for panel `panel`'s
 * eight tiles, into the block's B panel `slot` of every ξ (row `oc`). `rowT`: 36 v128 of scratch.
 */
function transformPatch(v: usize, rowT: usize, pad: usize, panel: i32, slot: i32, oc: i32): void {
  const ty = panel / PANELS_X
  const tx0 = (panel - ty * PANELS_X) * LANES
  const plane = pad + <usize>((oc * PH + 2 * ty) * PW + 2 * tx0) * 4
  const xiStep = <usize>V_XI * 4
  const dst = v + <usize>((slot * OG + oc) * LANES) * 4
  for (let half = 0; half < 2; half++) {
    const base = plane + <usize>(half * 8) * 4
    // rows: rowT[y][ξx] = (d B)[y][ξx]
    for (let y = 0; y < T; y++) {
      const at = base + <usize>(y * PW) * 4
      inputTransform(rowT + <usize>(y * T) * 16, 16,
        everyOther(at, 0), everyOther(at, 1), everyOther(at, 2), everyOther(at, 3), everyOther(at, 4), everyOther(at, 5))
    }
    // columns: V[ξy * 6 + ξx] = (B^T rowT)[ξy][ξx]
    for (let x = 0; x < T; x++) {
      const col = rowT + <usize>x * 16
      inputTransform(dst + <usize>x * xiStep + <usize>(half * 4) * 4, <usize>T * xiStep,
        v128.load(col), v128.load(col, 6 * 16), v128.load(col, 12 * 16),
        v128.load(col, 18 * 16), v128.load(col, 24 * 16), v128.load(col, 30 * 16))
    }
  }
}

/** A^T's two rows for F(2, 5) on six values: m0 + m1 + m2 + m3 + m4 and m1 - m2 + 2 (m3 - m4) + m5. */
// @ts-ignore: decorator
@inline function outputRow0(m0: v128, m1: v128, m2: v128, m3: v128, m4: v128): v128 {
  return f32x4.add(f32x4.add(f32x4.add(m0, m1), f32x4.add(m2, m3)), m4)
}

// @ts-ignore: decorator
@inline function outputRow1(m1: v128, m2: v128, m3: v128, m4: v128, m5: v128): v128 {
  return f32x4.add(f32x4.add(f32x4.sub(m1, m2), f32x4.mul(f32x4.splat(2), f32x4.sub(m3, m4))), m5)
}

/**
 * Input channel `r`'s 2x2 outputs A^T M A of panel `panel`'s eight tiles (products in block
 * slot `slot`), stored into its plane `dst [h, w]`, the cells past the plane's edge dropped.
 */
function untransformTile(dst: usize, m: usize, panel: i32, slot: i32, r: i32): void {
  const ty = panel / PANELS_X
  const tx0 = (panel - ty * PANELS_X) * LANES
  const xiStep = <usize>M_XI * 4
  const src = m + <usize>((slot * ROWS + r) * LANES) * 4
  for (let half = 0; half < 2; half++) {
    const at = src + <usize>(half * 4) * 4
    // s0[ξy], s1[ξy]: A^T over ξx, for every ξy
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0), a4 = f32x4.splat(0), a5 = f32x4.splat(0)
    let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0), b4 = f32x4.splat(0), b5 = f32x4.splat(0)
    for (let y = 0; y < T; y++) {
      const row = at + <usize>(y * T) * xiStep
      const m0 = v128.load(row), m1 = v128.load(row + xiStep), m2 = v128.load(row + 2 * xiStep)
      const m3 = v128.load(row + 3 * xiStep), m4 = v128.load(row + 4 * xiStep), m5 = v128.load(row + 5 * xiStep)
      const s0 = outputRow0(m0, m1, m2, m3, m4)
      const s1 = outputRow1(m1, m2, m3, m4, m5)
      if (y == 0) { a0 = s0; b0 = s1 }
      else if (y == 1) { a1 = s0; b1 = s1 }
      else if (y == 2) { a2 = s0; b2 = s1 }
      else if (y == 3) { a3 = s0; b3 = s1 }
      else if (y == 4) { a4 = s0; b4 = s1 }
      else { a5 = s0; b5 = s1 }
    }
    // y[oy][ox] over four tiles: (A^T s_ox)[oy]
    const y00 = outputRow0(a0, a1, a2, a3, a4)
    const y10 = outputRow1(a1, a2, a3, a4, a5)
    const y01 = outputRow0(b0, b1, b2, b3, b4)
    const y11 = outputRow1(b1, b2, b3, b4, b5)
    const col = 2 * (tx0 + half * 4)
    storeRow(dst, 2 * ty, col, y00, y01)
    storeRow(dst, 2 * ty + 1, col, y10, y11)
  }
}

/** Output row `row`'s eight cells from `col`: the four tiles' (left, right) pairs interleaved, clipped to the plane. */
// @ts-ignore: decorator
@inline function storeRow(dst: usize, row: i32, col: i32, left: v128, right: v128): void {
  if (row >= H || col >= W) return
  const lo = v128.shuffle<f32>(left, right, 0, 4, 1, 5)
  const hi = v128.shuffle<f32>(left, right, 2, 6, 3, 7)
  const at = dst + <usize>(row * W + col) * 4
  if (col + 8 <= W) {
    v128.store(at, lo)
    v128.store(at, hi, 16)
    return
  }
  const n = W - col
  if (n > 0) store<f32>(at, f32x4.extract_lane(lo, 0))
  if (n > 1) store<f32>(at, f32x4.extract_lane(lo, 1), 4)
  if (n > 2) store<f32>(at, f32x4.extract_lane(lo, 2), 8)
  if (n > 3) store<f32>(at, f32x4.extract_lane(lo, 3), 12)
  if (n > 4) store<f32>(at, f32x4.extract_lane(hi, 0), 16)
  if (n > 5) store<f32>(at, f32x4.extract_lane(hi, 1), 20)
  if (n > 6) store<f32>(at, f32x4.extract_lane(hi, 2), 24)
}
