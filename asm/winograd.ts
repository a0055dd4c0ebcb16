/**
 * The input cotangent of a 5x5, stride-1, undilated convolution by Winograd's minimal filtering
 * F(4x4, 5x5) (Lavin & Gray, 2016), points 0, ±1, ±2, ±1/2 and infinity. The input cotangent is
 * the correlation of the zero-padded output cotangent with the weights flipped and each group's
 * channel axes swapped; Winograd computes each 4x4 tile of it from an 8x8 patch with 64
 * products per (input channel, output channel) pair instead of 400:
 *
 *   dx_tile = A^T [ sum_o (G g_o G^T) .* (B^T d_o B) ] A
 *
 * so the GEMM between the transforms (one per ξ of the 64, summed over the group's output
 * channels) does 6.25x fewer multiply-adds than the direct convolution (F(2x2, 5x5) did 2.8x
 * fewer, with twice this GEMM). B^T's rows are scaled to small integers and G's by the inverse.
 * Only the input gradient runs here: its sums are already in another order than the
 * reference's, while the forward keeps the reference's bits. The transforms add roundings (and
 * the weights' transform rounds thirds, fifths and ninths), so it is equal to the reference
 * within the Winograd bound the property suite states (`winogradInputBounds` in
 * props/kernels/cases.ts), not the dot product's: about twice F(2x2, 5x5)'s error.
 *
 * Lanes hold tiles: a panel (the GEMM's NR = 8 columns) is two halves of four horizontally
 * adjacent tiles, each half from any tile row, so a 14-wide image (four tiles a row) fills its
 * panels. The input transform runs down a half's 20 patch columns first, four to a vector on
 * contiguous loads, then transposes each transformed row's five vectors in registers into the
 * patch's columns across the four tiles, writing the GEMM's B panels directly (no packing
 * pass). Panels go a block at a time (PB of them, the block's transformed data in L2).
 */
import { MR, NR, kernel4x8, roundUp, transpose4 } from './gemm'

/** Tiles in a panel: the GEMM's B-panel width, one f32x4 per half. */
const LANES: i32 = NR
/** Tiles in a half panel: one f32x4. */
const HALF: i32 = 4
/** Winograd's patch (8x8, 64 products) and tile (4x4) for a 5x5 kernel. */
const T: i32 = 8
const TILE: i32 = 4
const XI: i32 = T * T
/** The transforms' staging scratch, in v128: at least the output transform's 52 (the input's takes 40). */
const STAGE: i32 = T * T + T
/**
 * Largest |entry| growth through the transforms: |B^T|1^2 (50^2) x |G|1^2 (0.69^2) x |A^T|1^2
 * (19.25^2) < 4.4e5 < 2^19.
 */
export const WINOGRAD_GROWTH: f64 = 524288

/** G for F(4, 5), 8 x 5 row-major (the weights' transform), each row over its B^T row's scale. */
const G5 = memory.data<f64>([
  -1.0 / 4, 0, 0, 0, 0,
  -1.0 / 18, -1.0 / 18, -1.0 / 18, -1.0 / 18, -1.0 / 18,
  -1.0 / 18, 1.0 / 18, -1.0 / 18, 1.0 / 18, -1.0 / 18,
  1.0 / 360, 1.0 / 180, 1.0 / 90, 1.0 / 45, 2.0 / 45,
  1.0 / 360, -1.0 / 180, 1.0 / 90, -1.0 / 45, 2.0 / 45,
  16.0 / 45, 8.0 / 45, 4.0 / 45, 2.0 / 45, 1.0 / 45,
  16.0 / 45, -8.0 / 45, 4.0 / 45, -2.0 / 45, 1.0 / 45,
  0, 0, 0, 0, 1.0 / 4,
])

// the geometry of the current call, in the transposed convolution's terms: `cot [n, o, oh, ow]`
// in, `out [n, c, h, w]` out, `o / groups` summed channels, `c / groups` rows of the GEMM
let C: i32 = 0, H: i32 = 0, W: i32 = 0, O: i32 = 0, OH: i32 = 0, OW: i32 = 0, G: i32 = 0
let CG: i32 = 0, OG: i32 = 0, ROWS: i32 = 0, TOP: i32 = 0, LEFT: i32 = 0
let TY: i32 = 0, HX: i32 = 0, HALVES: i32 = 0, PANELS: i32 = 0, PH: i32 = 0, PW: i32 = 0, PB: i32 = 0
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
  TY = (h + TILE - 1) / TILE
  // halves per tile row, halves in all (half h: tile row h / HX, tiles from (h % HX) * HALF)
  HX = ((w + TILE - 1) / TILE + HALF - 1) / HALF
  HALVES = TY * HX
  PANELS = (HALVES + 1) / 2
  // a half reads rows [4 ty, 4 ty + 8) and columns [16 hx, 16 hx + 20); an odd count's last
  // panel fills its second half from the rows below the last tile row (its outputs dropped)
  PH = TILE * TY + T
  PW = TILE * HALF * HX + TILE
  // a block's transformed input and products in about 256 KiB
  PB = max(1, min(PANELS, 65536 / (XI * LANES * (OG + ROWS))))
  // floats from one ξ to the next in the block's transformed input and products: a cache line
  // more than the data, since power-of-two strides put the 64 values of a tile in one L1 set
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
 * group's input channels padded to MR; Winograd multiplies 64 values per lane (a tile, or a
 * panel's unused lane past the image's edge) and input channel, and transforms each lane once
 * per output channel (about 550) and per input channel (about 1000). Images below about 8x8
 * (a panel's lanes mostly past their edge) go the direct route, even with many channels; from
 * there Winograd pays even at one channel.
 */
export function winogradPays(c: i32, h: i32, w: i32, o: i32, ph: i32, pw: i32, groups: i32): bool {
  geometry(c, h, w, o, ph, pw, groups)
  const lanes = <f64>(PANELS * LANES)
  const winograd = 0.9 * lanes * <f64>(XI * ROWS * OG + 550 * OG + 1000 * CG)
  const direct = <f64>(h * w) * <f64>(OG * 25) * <f64>(ROWS + 4)
  return winograd < 0.75 * direct
}

/** Scratch bytes of {@link gradInputWinograd} on this geometry (the input side's `c, h, w`). */
export function winogradScratchBytes(c: i32, h: i32, w: i32, o: i32, ph: i32, pw: i32, groups: i32): i32 {
  geometry(c, h, w, o, ph, pw, groups)
  return <i32>(bytes(G * XI * ROWS * OG) + bytes(OG * PH * PW) + bytes(XI * V_XI) +
    bytes(XI * M_XI) + bytes(STAGE * 4) + bytes(T * 5 * 2))
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
  transformWeights(u, w, rowT + bytes(STAGE * 4))
  for (let item = from; item < to; item++) {
    const img = item / G
    const g = item - img * G
    padCotangent(pad, cot + <usize>((img * O + g * OG) * OH * OW) * 4)
    const ug = u + <usize>(g * XI * ROWS * OG) * 4
    const outG = out + <usize>((img * C + g * CG) * H * W) * 4
    for (let p0 = 0; p0 < PANELS; p0 += PB) {
      const pb = min(PB, PANELS - p0)
      for (let p = 0; p < pb; p++) {
        for (let oc = 0; oc < OG; oc++) transformPanel(v, rowT, pad, p0 + p, p, oc)
      }
      for (let xi = 0; xi < XI; xi++) {
        const a = ug + <usize>(xi * ROWS * OG) * 4
        for (let p = 0; p < pb; p++) {
          const b = v + <usize>(xi * V_XI + p * OG * LANES) * 4
          const tile = m + <usize>(xi * M_XI + p * ROWS * LANES) * 4
          // the products start from zero in registers (every row of the tile is one of the calls')
          for (let ir = 0; ir < ROWS; ir += MR) {
            kernel4x8(tile + <usize>(ir * LANES) * 4, <usize>LANES * 4, a + <usize>(ir * OG) * 4, b, OG, true)
          }
        }
      }
      for (let p = 0; p < pb; p++) {
        for (let r = 0; r < CG; r++) untransformPanel(outG + <usize>(r * H * W) * 4, m, rowT, p0 + p, p, r)
      }
    }
  }
}

/**
 * U[g][ξ] = G g G^T for every pair (input channel, output channel) of each group, g the 5x5
 * kernel flipped in both axes, in float64 rounded once (`gw`: 40 float64 of scratch); packed as
 * the GEMM's A panels (rows: the group's input channels, padded to MR with zeros; summed: its
 * output channels).
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

/**
 * B^T d for eight values: the 1-D input transform of F(4, 5) (rows scaled to integers), its
 * common terms shared; at most four roundings from an input to a result. Writes ξ = 0..7 to
 * `dst`, `step` bytes apart.
 */
// @ts-ignore: decorator
@inline function inputTransform(
  dst: usize, step: usize, d0: v128, d1: v128, d2: v128, d3: v128, d4: v128, d5: v128, d6: v128, d7: v128,
): void {
  const two = f32x4.splat(2), four = f32x4.splat(4), five = f32x4.splat(5), eight = f32x4.splat(8)
  const ten = f32x4.splat(10), seventeen = f32x4.splat(17), twentyOne = f32x4.splat(21)
  const s15 = f32x4.add(d1, d5)
  const s26 = f32x4.add(d2, d6)
  const s34 = f32x4.add(d3, d4)
  const t34 = f32x4.sub(d3, d4)
  // -4 d0 + 21 d2 - 21 d4 + 4 d6, and its mirror -4 d1 + 21 d3 - 21 d5 + 4 d7
  v128.store(dst, f32x4.add(f32x4.mul(four, f32x4.sub(d6, d0)), f32x4.mul(twentyOne, f32x4.sub(d2, d4))))
  v128.store(dst + 7 * step, f32x4.add(f32x4.mul(four, f32x4.sub(d7, d1)), f32x4.mul(twentyOne, f32x4.sub(d3, d5))))
  // ±4 d1 + 4 d2 ∓ 17 d3 - 17 d4 ± 4 d5 + 4 d6
  v128.store(dst + step, f32x4.sub(f32x4.mul(four, f32x4.add(s26, s15)), f32x4.mul(seventeen, s34)))
  v128.store(dst + 2 * step, f32x4.add(f32x4.mul(four, f32x4.sub(s26, s15)), f32x4.mul(seventeen, t34)))
  // ±2 d1 + d2 ∓ 10 d3 - 5 d4 ± 8 d5 + 4 d6
  const a = f32x4.add(f32x4.sub(d2, f32x4.mul(five, d4)), f32x4.mul(four, d6))
  const b = f32x4.add(f32x4.sub(f32x4.mul(two, d1), f32x4.mul(ten, d3)), f32x4.mul(eight, d5))
  v128.store(dst + 3 * step, f32x4.add(a, b))
  v128.store(dst + 4 * step, f32x4.sub(a, b))
  // ±4 d1 + 8 d2 ∓ 5 d3 - 10 d4 ± d5 + 2 d6
  const c = f32x4.add(f32x4.sub(f32x4.mul(eight, d2), f32x4.mul(ten, d4)), f32x4.mul(two, d6))
  const e = f32x4.add(f32x4.sub(f32x4.mul(four, d1), f32x4.mul(five, d3)), d5)
  v128.store(dst + 5 * step, f32x4.add(c, e))
  v128.store(dst + 6 * step, f32x4.sub(c, e))
}

/**
 * The 64 transformed values B^T d B of output channel `oc`'s 8x8 patches for panel `panel`'s
 * eight tiles, into the block's B panel `slot` of every ξ (row `oc`). `rowT`: 40 v128 of
 * scratch. Down the patch columns first, on contiguous loads (four columns a vector: a half's
 * patches span 20), then along each transformed row, its five vectors transposed in registers
 * into the eight patch columns across the half's four tiles (tile t's columns are the row's
 * floats [4t, 4t + 8)).
 */
function transformPanel(v: usize, rowT: usize, pad: usize, panel: i32, slot: i32, oc: i32): void {
  const xiStep = <usize>V_XI * 4
  const rowStep = <usize>PW * 4
  const dst = v + <usize>((slot * OG + oc) * LANES) * 4
  for (let half = 0; half < 2; half++) {
    const hh = 2 * panel + half
    const ty = hh / HX
    const tx0 = (hh - ty * HX) * HALF
    const base = pad + <usize>((oc * PH + TILE * ty) * PW + TILE * tx0) * 4
    // columns: rowT[ξy][g] = (B^T d)[ξy][4g, 4g + 4)
    for (let g = 0; g < 5; g++) {
      const at = base + <usize>g * 16
      inputTransform(rowT + <usize>g * 16, 5 * 16,
        v128.load(at), v128.load(at + rowStep), v128.load(at + 2 * rowStep),
        v128.load(at + 3 * rowStep), v128.load(at + 4 * rowStep), v128.load(at + 5 * rowStep),
        v128.load(at + 6 * rowStep), v128.load(at + 7 * rowStep))
    }
    // rows: V[ξy * 8 + ξx] = (rowT B)[ξy][ξx]
    const out = dst + <usize>(half * HALF) * 4
    for (let y = 0; y < T; y++) {
      const row = rowT + <usize>(y * 5) * 16
      const r0 = v128.load(row), r1 = v128.load(row, 16), r2 = v128.load(row, 32)
      const r3 = v128.load(row, 48), r4 = v128.load(row, 64)
      // columns 0-3 of the four tiles: r0..r3 transposed; columns 4-7: r1..r4
      const a01 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), b01 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7)
      const a12 = v128.shuffle<f32>(r1, r2, 0, 4, 1, 5), b12 = v128.shuffle<f32>(r1, r2, 2, 6, 3, 7)
      const a23 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5), b23 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7)
      const a34 = v128.shuffle<f32>(r3, r4, 0, 4, 1, 5), b34 = v128.shuffle<f32>(r3, r4, 2, 6, 3, 7)
      inputTransform(out + <usize>(y * T) * xiStep, xiStep,
        v128.shuffle<f32>(a01, a23, 0, 1, 4, 5), v128.shuffle<f32>(a01, a23, 2, 3, 6, 7),
        v128.shuffle<f32>(b01, b23, 0, 1, 4, 5), v128.shuffle<f32>(b01, b23, 2, 3, 6, 7),
        v128.shuffle<f32>(a12, a34, 0, 1, 4, 5), v128.shuffle<f32>(a12, a34, 2, 3, 6, 7),
        v128.shuffle<f32>(b12, b34, 0, 1, 4, 5), v128.shuffle<f32>(b12, b34, 2, 3, 6, 7))
    }
  }
}

/**
 * A^T m for eight values, F(4, 5)'s output transform (rows 1, ±1, 4^k 1, ±2^k, 2^-k, ±2^-k, and
 * m7 in the last): at most three roundings from a value to a result. Writes four results to
 * `dst`, `step` bytes apart.
 */
// @ts-ignore: decorator
@inline function outputTransform(
  dst: usize, step: usize, m0: v128, m1: v128, m2: v128, m3: v128, m4: v128, m5: v128, m6: v128, m7: v128,
): void {
  const p12 = f32x4.add(m1, m2), n12 = f32x4.sub(m1, m2)
  const p34 = f32x4.add(m3, m4), n34 = f32x4.sub(m3, m4)
  const p56 = f32x4.add(m5, m6), n56 = f32x4.sub(m5, m6)
  v128.store(dst, f32x4.add(f32x4.add(m0, p12), f32x4.add(p34, p56)))
  const two = f32x4.splat(2), half = f32x4.splat(0.5), four = f32x4.splat(4), quarter = f32x4.splat(0.25)
  const eight = f32x4.splat(8), eighth = f32x4.splat(0.125)
  v128.store(dst + step, f32x4.add(f32x4.add(n12, f32x4.mul(two, n34)), f32x4.mul(half, n56)))
  v128.store(dst + 2 * step, f32x4.add(f32x4.add(p12, f32x4.mul(four, p34)), f32x4.mul(quarter, p56)))
  v128.store(dst + 3 * step, f32x4.add(f32x4.add(n12, f32x4.mul(eight, n34)), f32x4.add(f32x4.mul(eighth, n56), m7)))
}

/**
 * Input channel `r`'s 4x4 outputs A^T M A of panel `panel`'s eight tiles (products in block
 * slot `slot`), stored into its plane `dst [h, w]`, the cells past the plane's edge dropped.
 * `stage`: 52 v128 of scratch.
 */
function untransformPanel(dst: usize, m: usize, stage: usize, panel: i32, slot: i32, r: i32): void {
  const xiStep = <usize>M_XI * 4
  const src = m + <usize>((slot * ROWS + r) * LANES) * 4
  const rows = stage
  const cells = stage + 32 * 16
  for (let half = 0; half < 2; half++) {
    const hh = 2 * panel + half
    if (hh >= HALVES) return
    const ty = hh / HX
    const tx0 = (hh - ty * HX) * HALF
    const at = src + <usize>(half * HALF) * 4
    // rows[ξy][ox]: A^T over ξx, for every ξy
    for (let y = 0; y < T; y++) {
      const row = at + <usize>(y * T) * xiStep
      outputTransform(rows + <usize>(y * TILE) * 16, 16,
        v128.load(row), v128.load(row + xiStep), v128.load(row + 2 * xiStep),
        v128.load(row + 3 * xiStep), v128.load(row + 4 * xiStep), v128.load(row + 5 * xiStep),
        v128.load(row + 6 * xiStep), v128.load(row + 7 * xiStep))
    }
    // cells[oy][ox] over four tiles: (A^T rows[.][ox])[oy]
    for (let x = 0; x < TILE; x++) {
      const col = rows + <usize>x * 16
      outputTransform(cells + <usize>x * 16, <usize>TILE * 16,
        v128.load(col), v128.load(col, 4 * 16), v128.load(col, 8 * 16), v128.load(col, 12 * 16),
        v128.load(col, 16 * 16), v128.load(col, 20 * 16), v128.load(col, 24 * 16), v128.load(col, 28 * 16))
    }
    // each output row: the four tiles' cells transposed into sixteen consecutive floats (past
    // the plane's right edge through `clip`, only those inside copied)
    const col = TILE * tx0
    const clip = cells + <usize>(TILE * TILE) * 16
    for (let y = 0; y < TILE && TILE * ty + y < H; y++) {
      const at = dst + <usize>((TILE * ty + y) * W + col) * 4
      const c = cells + <usize>(y * TILE) * 16
      if (col + 16 <= W) {
        transpose4(at, 16, c, 16)
      } else {
        transpose4(clip, 16, c, 16)
        memory.copy(at, clip, <usize>(W - col) * 4)
      }
    }
  }
}
