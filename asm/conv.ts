/**
 * 2-D convolution (PyTorch's Conv2d: cross-correlation, zero padding, stride, dilation,
 * groups) and its two backward kernels, as implicit im2col + the packed GEMM of gemm.ts. The
 * im2col matrix is never materialized: each image's group of channels is copied once into a
 * zero-padded plane, and the GEMM's B panels are packed from it a block at a time (at most KC
 * rows of the summed index by NC columns), so scratch stays a few hundred KiB for the demo's
 * layers whatever the batch.
 *
 * - `conv2d`: per image and group, `out[o, t] = bias[o] + sum_(c,p,q) w[o, (c,p,q)] col[(c,p,q), t]`
 *   (A = the weights, packed once per call; B = im2col). The GEMM adds the taps in (c, p, q)
 *   order from the bias, in float32, as the reference does, so the result is bit-identical,
 *   padding included: a padding tap adds `0 * w`, an exact zero that changes no sum except the
 *   sign of a -0 accumulator, and with an infinite or NaN weight it would add NaN where the
 *   reference skips the tap. Output channels whose bias is -0 or whose weights are not all
 *   finite are therefore recomputed tap by tap (only when there is padding; rare, and exact).
 *   The B panels are gathered straight from the padded planes, panel by panel (a table of each
 *   panel's offsets per block of positions, one of each tap's per call), so each panel is
 *   written in order rather than a row of every panel at a time (panels KC * NR * 4 = 8 KiB
 *   apart fall in one L1 set).
 *   An image whose group of input channels is mostly zeros (spikes: at most one cell in
 *   {@link SPARSE_PART}) is scattered instead: each non-zero input, in (channel, row, column)
 *   order, adds `w * x` (`w` where x is 1) to every output it reaches, all output channels at
 *   once. For one output those inputs come in (c, p, q) order, since the tap's row and column
 *   grow with the input's, so it sums the same terms in the same order as the GEMM, less the
 *   zero ones: the same bits, where no weight of the group is infinite or NaN and no bias is -0
 *   (those run the GEMM). The work is then the non-zero inputs', not every tap's; at stride
 *   and dilation 1 the outputs an input reaches form a rectangle, walked without a list.
 * - `conv2dGradInput`: for 5x5 kernels at stride 1 without dilation, where a cost model says it
 *   pays, Winograd's F(4x4, 5x5) (winograd.ts: 6.25x fewer multiply-adds, more rounding; images
 *   whose values its transforms could overflow, or that hold NaN or an infinity, go on below).
 *   Otherwise at stride 1 (where the padding is at most the kernel's reach), the
 *   forward above on the cotangent with the weights flipped and each group's channel axes
 *   swapped (one summed dimension of o/groups * kh * kw taps; 5-10% faster on the demo's second
 *   layer than the route below). Otherwise per image and group, `dcol = w^T cot` (A = the
 *   weights read transposed in place), then col2im adds dcol into a zero-padded plane. The
 *   reference adds each tap's `cot * w` (exact in float64) to its input cell in float32, in tap
 *   order; here each dcol entry is a float32 dot product over the output channels and col2im
 *   adds those. Equal within the bound the property suite states (either route). An image whose values could overflow
 *   float32 in the GEMM's order, or holds NaN or an infinity, runs the reference's loop instead
 *   (exact).
 * - `conv2dGradWeight`: per image, group and block of at most KC output positions,
 *   `cot col^T` in float32 (B = im2col transposed, packed from the padded plane), each block's
 *   partial sums then added into a float64 accumulator; the reference sums every tap in float64.
 *   Equal within the bound the suite states; images that could overflow run the reference's
 *   float64 loop (exact). A spike-like image (as the forward's) sums only its non-zero inputs:
 *   at stride and dilation 1 each weight (c, p, q) gathers, in registers for all its output
 *   channels at once, `x * cot` over channel c's non-zero inputs from a zero-bordered grid of
 *   the block's cotangents (no bounds tests, no stores in the loop); otherwise each input adds
 *   to the partial sums of the taps that read it. Either way each weight's terms come in
 *   position order, as the GEMM sums them, so the partial sums are the GEMM's bits and the work
 *   is the non-zero inputs'.
 */
import { gemmBlock, KC, kernel4x8, MR, NR, packA, packB, roundUp, transposeBlock } from './gemm'
import { gradInputWinograd, WINOGRAD_GROWTH, winogradApplies, winogradPays, winogradScratchBytes } from './winograd'

/** Output positions per block of the forward and input-gradient GEMMs (B columns). */
const NC_POS: i32 = 256
/** Weight columns ((c, p, q) triples) per block of the weight-gradient GEMM. */
const NC_W: i32 = 512
/** Below this bound on every partial sum, float32 cannot overflow in any order. */
const SAFE: f64 = 8.507059173023462e37 // 2^126

// the geometry of the current call (one call at a time)
let N: i32 = 0, C: i32 = 0, H: i32 = 0, W: i32 = 0, O: i32 = 0
let KH: i32 = 0, KW: i32 = 0, SH: i32 = 0, SW: i32 = 0, PH: i32 = 0, PW: i32 = 0, DH: i32 = 0, DW: i32 = 0, G: i32 = 0
let OH: i32 = 0, OW: i32 = 0, P: i32 = 0, CG: i32 = 0, OG: i32 = 0, K: i32 = 0, HP: i32 = 0, WP: i32 = 0

function geometry(
  n: i32, c: i32, h: i32, w: i32, o: i32, kh: i32, kw: i32,
  sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, groups: i32,
): void {
  N = n; C = c; H = h; W = w; O = o; KH = kh; KW = kw; SH = sh; SW = sw; PH = ph; PW = pw; DH = dh; DW = dw; G = groups
  OH = (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1
  OW = (w + 2 * pw - dw * (kw - 1) - 1) / sw + 1
  P = OH * OW
  CG = c / groups
  OG = o / groups
  K = CG * kh * kw
  HP = h + 2 * ph
  WP = w + 2 * pw
}

// @ts-ignore: decorator
@inline function bytes(floats: i32): usize {
  return <usize>(((floats * 4) + 15) & ~15)
}

/** Floats of one group's zero-padded planes, with slack for the overrunning v128 reads. */
// @ts-ignore: decorator
@inline function padFloats(): i32 {
  return CG * HP * WP + 8
}

/**
 * Scratch bytes for `kind` 0 (conv2d), 1 (conv2dGradInput) or 2 (conv2dGradWeight) on this
 * geometry.
 */
export function conv2dScratchBytes(
  kind: i32, n: i32, c: i32, h: i32, w: i32, o: i32, kh: i32, kw: i32,
  sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, groups: i32,
): i32 {
  geometry(n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, groups)
  const ogPad = roundUp(OG, MR)
  const nb = roundUp(min(P, NC_POS), NR)
  if (kind == 0) {
    return <i32>(bytes(O + G) + bytes(G * ogPad * K) + bytes(padFloats()) + bytes(K) + bytes(NC_POS / NR * CHUNK) +
      bytes(min(K, KC) * nb) + bytes(ogPad * nb) + sparseBytes())
  }
  if (kind == 1) {
    const kPad = roundUp(K, MR)
    const byCol2im = <i32>(bytes(G * kPad * OG) + bytes(OG * nb) + bytes(MR * nb) + bytes(padFloats()))
    if (!transposable()) return byCol2im
    const flipped = <i32>bytes(O * K)
    const byConv = max(byCol2im, flipped + conv2dScratchBytes(0, n, o, OH, OW, c, kh, kw, 1, 1, DH * (KH - 1) - PH, DW * (KW - 1) - PW, dh, dw, groups))
    return byWinograd(kh, kw, sh, sw, ph, pw, dh, dw, c, h, w, o, groups) ? max(byConv, winogradScratchBytes(c, h, w, o, ph, pw, groups)) : byConv
  }
  const kc = min(P, KC)
  const nc = roundUp(min(K, NC_W), NR)
  return <i32>(bytes(2 * O * K) + bytes(ogPad * kc) + bytes(kc * nc) + bytes(ogPad * nc) +
    bytes(8 * (roundUp(kc, 4) + 8)) + bytes(padFloats()) + sparseGradBytes())
}

// ---------------------------------------------------------------------------------------------
// im2col and col2im, one row of the (virtual) column matrix at a time
// ---------------------------------------------------------------------------------------------

/** Copies image `img`'s channels [c0, c0 + CG) into zero-padded planes [CG][HP][WP] at `pad`. */
function padPlanes(pad: usize, x: usize, img: i32, c0: i32): void {
  memory.fill(pad, 0, <usize>(CG * HP * WP) * 4)
  for (let ch = 0; ch < CG; ch++) {
    const src = x + <usize>(((img * C + c0 + ch) * H) * W) * 4
    const dst = pad + <usize>((ch * HP + PH) * WP + PW) * 4
    for (let y = 0; y < H; y++) memory.copy(dst + <usize>(y * WP) * 4, src + <usize>(y * W) * 4, <usize>W * 4)
  }
}

/**
 * Row (ch, kp, kq) of the im2col matrix at output positions [t0, t0 + count), from padded
 * plane `plane`, into `dst`. With stride 1 each output row's run is copied four floats at a
 * time, overrunning by up to three (into the next run, written after, or `dst`'s slack).
 */
function im2colRow(dst: usize, plane: usize, kp: i32, kq: i32, t0: i32, count: i32): void {
  const off = kp * DH * WP + kq * DW
  let i = t0 / OW
  let j = t0 - i * OW
  let t = 0
  while (t < count) {
    const run = min(OW - j, count - t)
    const src = plane + <usize>(i * SH * WP + j * SW + off) * 4
    const d = dst + <usize>t * 4
    if (SW == 1) {
      for (let u = 0; u < run; u += 4) v128.store(d + <usize>u * 4, v128.load(src + <usize>u * 4))
    } else {
      for (let u = 0; u < run; u++) store<f32>(d + <usize>u * 4, load<f32>(src + <usize>(u * SW) * 4))
    }
    t += run
    i++
    j = 0
  }
}

/** Adds `src`, row (ch, kp, kq) of a column matrix at positions [t0, t0 + count), into padded plane `plane`. */
function col2imRow(plane: usize, src: usize, kp: i32, kq: i32, t0: i32, count: i32): void {
  const off = kp * DH * WP + kq * DW
  let i = t0 / OW
  let j = t0 - i * OW
  let t = 0
  while (t < count) {
    const run = min(OW - j, count - t)
    const d = plane + <usize>(i * SH * WP + j * SW + off) * 4
    const s = src + <usize>t * 4
    if (SW == 1) {
      let u = 0
      for (; u + 4 <= run; u += 4) {
        const at = d + <usize>u * 4
        v128.store(at, f32x4.add(v128.load(at), v128.load(s + <usize>u * 4)))
      }
      for (; u < run; u++) {
        const at = d + <usize>u * 4
        store<f32>(at, load<f32>(at) + load<f32>(s + <usize>u * 4))
      }
    } else {
      for (let u = 0; u < run; u++) {
        const at = d + <usize>(u * SW) * 4
        store<f32>(at, load<f32>(at) + load<f32>(s + <usize>u * 4))
      }
    }
    t += run
    i++
    j = 0
  }
}

/**
 * The largest |value| of `len` floats (NaN if any is NaN), as the largest of their bits with
 * the sign cleared: those order as the magnitudes do, and a NaN's lie above infinity's. One
 * unsigned integer max a vector (a float max must order NaN and -0, several instructions).
 */
function maxAbs(x: usize, len: i32): f32 {
  const magnitude = i32x4.splat(0x7fffffff)
  let a = i32x4.splat(0)
  let b = a
  let i = 0
  for (; i + 8 <= len; i += 8) {
    a = i32x4.max_u(a, v128.and(v128.load(x + <usize>i * 4), magnitude))
    b = i32x4.max_u(b, v128.and(v128.load(x + <usize>i * 4, 16), magnitude))
  }
  a = i32x4.max_u(a, b)
  const low = max(<u32>i32x4.extract_lane(a, 0), <u32>i32x4.extract_lane(a, 1))
  let m = max(low, max(<u32>i32x4.extract_lane(a, 2), <u32>i32x4.extract_lane(a, 3)))
  for (; i < len; i++) m = max(m, load<u32>(x + <usize>i * 4) & 0x7fffffff)
  return reinterpret<f32>(m)
}

// @ts-ignore: decorator
@inline function nonFinite(v: f32): bool {
  return (reinterpret<u32>(v) & 0x7f800000) == 0x7f800000
}

/**
 * Whether adding a zero tap's product `0 * w` can change output channel `oc`'s sum: its bias is
 * -0 (-0 + 0 is +0) or one of its weights is infinite or NaN (0 * w is NaN). Such a channel
 * may not skip a zero tap, padding's or a zero input's (see the module comment).
 */
function zeroTapsMatter(w: usize, bias: usize, oc: i32): bool {
  if (bias != 0 && reinterpret<u32>(load<f32>(bias + <usize>oc * 4)) == 0x80000000) return true
  const wr = w + <usize>(oc * K) * 4
  for (let i = 0; i < K; i++) if (nonFinite(load<f32>(wr + <usize>i * 4))) return true
  return false
}

// ---------------------------------------------------------------------------------------------
// forward
// ---------------------------------------------------------------------------------------------

/**
 * Output channel `oc` of image `img` at output positions [t0, t0 + count), tap by tap in the
 * reference's order (the exact fallback).
 */
function convPlaneExact(out: usize, x: usize, w: usize, bias: usize, img: i32, oc: i32, t0: i32, count: i32): void {
  const g = oc / OG
  const b: f32 = bias != 0 ? load<f32>(bias + <usize>oc * 4) : 0
  const dst = out + <usize>((img * O + oc) * P) * 4
  for (let t = t0; t < t0 + count; t++) {
    const i = t / OW
    const j = t - i * OW
    let acc = b
    for (let ch = 0; ch < CG; ch++) {
      const plane = x + <usize>((img * C + g * CG + ch) * H * W) * 4
      const wc = w + <usize>(((oc * CG + ch) * KH) * KW) * 4
      for (let kp = 0; kp < KH; kp++) {
        const y = i * SH - PH + kp * DH
        if (y < 0 || y >= H) continue
        for (let kq = 0; kq < KW; kq++) {
          const xx = j * SW - PW + kq * DW
          if (xx < 0 || xx >= W) continue
          acc = acc + load<f32>(plane + <usize>(y * W + xx) * 4) * load<f32>(wc + <usize>(kp * KW + kq) * 4)
        }
      }
    }
    store<f32>(dst + <usize>t * 4, acc)
  }
}

/**
 * Bytes of an entry of the forward's chunk table, one per B panel (NR output positions): its
 * kind (0: the NR positions read NR consecutive floats of a padded plane; 1: two such runs, the
 * first `s` lanes from `off`, the rest from `hi` + lane; 2: any other, lane by lane), `off`,
 * `hi`, `s`, then the NR lanes' offsets (floats from a tap's first cell; -1: past the block).
 */
const CHUNK: i32 = 16 + NR * 4

/** The chunk table of output positions [t0, t0 + nb) at `tab`; returns the number of chunks. */
function chunkTable(tab: usize, t0: i32, nb: i32): i32 {
  const chunks = (nb + NR - 1) / NR
  for (let c = 0; c < chunks; c++) {
    const e = tab + <usize>(c * CHUNK)
    for (let u = 0; u < NR; u++) {
      const t = t0 + c * NR + u
      let off = -1
      if (t < t0 + nb) {
        const i = t / OW
        off = i * SH * WP + (t - i * OW) * SW
      }
      store<i32>(e + <usize>(16 + u * 4), off)
    }
    const o0 = load<i32>(e, 16)
    let s = 1
    while (s < NR && load<i32>(e + <usize>(16 + s * 4)) == o0 + s) s++
    let kind = 2
    let hi = 0
    if (s == NR) {
      kind = 0
    } else {
      const os = load<i32>(e + <usize>(16 + s * 4))
      if (os >= 0) {
        let u = s + 1
        while (u < NR && load<i32>(e + <usize>(16 + u * 4)) == os + (u - s)) u++
        if (u == NR) {
          kind = 1
          hi = os - s
        }
      }
    }
    store<i32>(e, kind)
    store<i32>(e, o0, 4)
    store<i32>(e, hi, 8)
    store<i32>(e, s, 12)
  }
  return chunks
}

/**
 * The B panels of `kc` im2col rows (the taps whose byte offsets start at `taps`) by the chunk
 * table's positions, from the padded planes at `pad`, each panel [kc][NR] written in order.
 * Lanes past the block read 0. Reads overrun a run by at most NR - 1 floats, within the
 * planes' slack.
 */
function packIm2col(bp: usize, pad: usize, taps: usize, tab: usize, chunks: i32, kc: i32): void {
  for (let c = 0; c < chunks; c++) {
    const e = tab + <usize>(c * CHUNK)
    const kind = load<i32>(e)
    let d = bp + <usize>(c * NR * kc) * 4
    if (kind == 0) {
      const src = pad + <usize>load<i32>(e, 4) * 4
      for (let p = 0; p < kc; p++) {
        const at = src + <usize>load<i32>(taps + <usize>p * 4)
        v128.store(d, v128.load(at))
        v128.store(d, v128.load(at, 16), 16)
        d += 32
      }
    } else if (kind == 1) {
      const lo = pad + <usize>load<i32>(e, 4) * 4
      const hi = pad + <usize>load<i32>(e, 8) * 4
      const s = i32x4.splat(load<i32>(e, 12))
      const m0 = i32x4.lt_s(i32x4(0, 1, 2, 3), s)
      const m1 = i32x4.lt_s(i32x4(4, 5, 6, 7), s)
      for (let p = 0; p < kc; p++) {
        const tap = <usize>load<i32>(taps + <usize>p * 4)
        const a = lo + tap
        const b = hi + tap
        v128.store(d, v128.bitselect(v128.load(a), v128.load(b), m0))
        v128.store(d, v128.bitselect(v128.load(a, 16), v128.load(b, 16), m1), 16)
        d += 32
      }
    } else {
      for (let p = 0; p < kc; p++) {
        const at = pad + <usize>load<i32>(taps + <usize>p * 4)
        for (let u = 0; u < NR; u++) {
          const off = load<i32>(e + <usize>(16 + u * 4))
          store<f32>(d + <usize>u * 4, off >= 0 ? load<f32>(at + <usize>off * 4) : 0)
        }
        d += 32
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// scattering the non-zero inputs (the forward here, the weight gradient's below)
// ---------------------------------------------------------------------------------------------

/**
 * An image's group of inputs is scattered where at most one cell in SPARSE_PART is non-zero:
 * on the demo's second convolution the forward's scatter takes about 0.2 of the GEMM's time at
 * 5% non-zero inputs, 0.35 at 10% and 0.6 at 20% (the weight gradient's gather 0.16, 0.22 and
 * 0.34); with 16 output channels they break even at about 25%.
 */
const SPARSE_PART: i32 = 4

/** Output channels of a group rounded up to pairs of v128s (the scatter's step). */
// @ts-ignore: decorator
@inline function ogLanes(): i32 {
  return roundUp(OG, 8)
}

/** The most non-zero inputs an image's group may have to be scattered. */
// @ts-ignore: decorator
@inline function sparseLimit(): i32 {
  return (CG * H * W) / SPARSE_PART
}

/**
 * Scratch bytes of the forward's scattering path: the weights transposed to
 * [G][CG * KH * KW + 1][ogLanes] (the bias the last row), a block's outputs as
 * [NC_POS][ogLanes], the non-zero inputs' cells and one cell's taps.
 */
// @ts-ignore: decorator
@inline function sparseBytes(): usize {
  return bytes(G * (K + 1) * ogLanes()) + bytes(NC_POS * ogLanes()) + bytes(sparseLimit() + 1) + bytes(2 * KH * KW)
}

/** A group's scatter state (a byte per group): not looked at yet, its weights transposed, or not to scatter. */
const UNSEEN: u8 = 0
const SCATTER: u8 = 1
const GEMM: u8 = 2

/**
 * Group `g`'s weights transposed for scattering, output channels last and zero in the padding
 * lanes, and its bias as row K, at its place in `wt`; whether the group may be scattered: its weights all finite and
 * no bias -0 (see the module comment). Done once per call and group, and only once an image
 * of the group is sparse.
 */
function transposeGroup(wt: usize, w: usize, bias: usize, g: i32): bool {
  const lanes = ogLanes()
  const wg = wt + <usize>(g * (K + 1) * lanes) * 4
  memory.fill(wg, 0, <usize>((K + 1) * lanes) * 4)
  for (let r = 0; r < OG; r++) {
    const oc = g * OG + r
    if (zeroTapsMatter(w, bias, oc)) return false
    if (bias != 0) store<f32>(wg + <usize>(K * lanes + r) * 4, load<f32>(bias + <usize>oc * 4))
  }
  transposeBlock(wg, <usize>lanes * 4, w + <usize>(g * OG * K) * 4, <usize>K * 4, OG, K)
  return true
}

/**
 * The offsets (in the group's planes) of the non-zero cells of image `img`'s group `g` of
 * inputs, in order, into `cells`: how many, or -1 past {@link sparseLimit}.
 */
function nonZeroCells(x: usize, img: i32, g: i32, cells: usize): i32 {
  const src = x + <usize>((img * C + g * CG) * H * W) * 4
  const limit = sparseLimit()
  const cellCount = CG * H * W
  const zero = f32x4.splat(0)
  let count = 0
  let i = 0
  // four cells a test, most of them zero (NaN is not: it must reach the sums)
  for (; i + 4 <= cellCount; i += 4) {
    let nz = i32x4.bitmask(f32x4.ne(v128.load(src + <usize>i * 4), zero))
    if (nz == 0) continue
    if (count + <i32>popcnt(nz) > limit) return -1
    while (nz != 0) {
      store<i32>(cells + <usize>count * 4, i + ctz(nz))
      count++
      nz &= nz - 1
    }
  }
  for (; i < cellCount; i++) {
    if (load<f32>(src + <usize>i * 4) != 0) {
      if (count == limit) return -1
      store<i32>(cells + <usize>count * 4, i)
      count++
    }
  }
  return count
}

/**
 * The output row (or column) at stride `s` of `n` whose tap reads the input at `r` (the input's
 * row plus the padding less the tap's offset, at least 0): -1 where none does. No integer
 * division at stride 1: one costs more than the tap.
 */
// @ts-ignore: decorator
@inline function landing(r: i32, s: i32, n: i32): i32 {
  if (s == 1) return r < n ? r : -1
  const i = r / s
  return i * s == r && i < n ? i : -1
}

/** `acc[0, bytes) += src[0, bytes)` in float32 lanes, 32 bytes a step (`bytes` a multiple of 32). */
// @ts-ignore: decorator
@inline function addRow(acc: usize, src: usize, bytes: usize): void {
  if (bytes == 128) {
    // 32 output channels, the commonest group: the loop unrolled
    v128.store(acc, f32x4.add(v128.load(acc), v128.load(src)))
    v128.store(acc, f32x4.add(v128.load(acc, 16), v128.load(src, 16)), 16)
    v128.store(acc, f32x4.add(v128.load(acc, 32), v128.load(src, 32)), 32)
    v128.store(acc, f32x4.add(v128.load(acc, 48), v128.load(src, 48)), 48)
    v128.store(acc, f32x4.add(v128.load(acc, 64), v128.load(src, 64)), 64)
    v128.store(acc, f32x4.add(v128.load(acc, 80), v128.load(src, 80)), 80)
    v128.store(acc, f32x4.add(v128.load(acc, 96), v128.load(src, 96)), 96)
    v128.store(acc, f32x4.add(v128.load(acc, 112), v128.load(src, 112)), 112)
    return
  }
  for (let o: usize = 0; o < bytes; o += 32) {
    v128.store(acc + o, f32x4.add(v128.load(acc + o), v128.load(src + o)))
    v128.store(acc + o, f32x4.add(v128.load(acc + o, 16), v128.load(src + o, 16)), 16)
  }
}

/** `acc[0, bytes) += src[0, bytes) * v` (`vs` the splat of v), as {@link addRow}. */
// @ts-ignore: decorator
@inline function addScaledRow(acc: usize, src: usize, vs: v128, bytes: usize): void {
  for (let o: usize = 0; o < bytes; o += 32) {
    v128.store(acc + o, f32x4.add(v128.load(acc + o), f32x4.mul(v128.load(src + o), vs)))
    v128.store(acc + o, f32x4.add(v128.load(acc + o, 16), f32x4.mul(v128.load(src + o, 16), vs)), 16)
  }
}

/**
 * At stride and dilation 1 the taps that read the input at (`ch`, `y`, `x`) of a group's planes
 * form a rectangle: tap (p, q) lands on output (y + PH - p, x + PW - q), so they need no list. For
 * each tap whose output position lies in [t0, t0 + nb), adds the tap's row of `kRows` times `v`
 * into the position's row of `tRows` (the forward's scatter); `v` 1 (spikes) adds without a
 * product. The taps may come in any order: each lands on its own position.
 */
// @ts-ignore: decorator
@inline function scatterUnit(
  ch: i32, y: i32, x: i32, t0: i32, nb: i32, tRows: usize, kRows: usize, row: usize, v: f32,
): void {
  const kh = KH, kw = KW, ph = PH, pw = PW, oh = OH, ow = OW
  const vs = f32x4.splat(v)
  const pFrom = max(0, y + ph - oh + 1)
  const pTo = min(kh - 1, y + ph)
  const qFrom = max(0, x + pw - ow + 1)
  const qTo = min(kw - 1, x + pw)
  for (let p = pFrom; p <= pTo; p++) {
    // the block position of output (i, 0), then the taps whose column lands in the block
    const rowT = (y + ph - p) * ow - t0
    const kRow = (ch * kh + p) * kw
    const from = max(qFrom, x + pw + rowT - nb + 1)
    const to = min(qTo, x + pw + rowT)
    let a = tRows + <usize>(rowT + x + pw - from) * row
    let b = kRows + <usize>(kRow + from) * row
    for (let q = from; q <= to; q++) {
      if (v == 1) addRow(a, b, row)
      else addScaledRow(a, b, vs, row)
      a -= row
      b += row
    }
  }
}

/**
 * The taps that read input cell `cell` (an offset in a group's planes) and land on output
 * positions [t0, t0 + nb), in (p, q) order, into `taps` as pairs (the tap's (c, p, q) index,
 * the position less t0): how many. The tap (p, q) reads the cell from output row
 * `(y + PH - p * DH) / SH` and column `(x + PW - q * DW) / SW`, where those divide exactly.
 */
function tapsOf(cell: i32, t0: i32, nb: i32, taps: usize): i32 {
  // the geometry in locals: the engine reloads a global at every use
  const kh = KH, kw = KW, ph = PH, pw = PW, dh = DH, dw = DW, sh = SH, sw = SW, oh = OH, ow = OW
  const plane = H * W
  const ch = cell / plane
  const y = (cell - ch * plane) / W
  const xx = cell - ch * plane - y * W
  let n = 0
  // the offsets fall as the taps grow: past the first tap above the input, none reads it
  for (let kp = 0; kp < kh; kp++) {
    const ry = y + ph - kp * dh
    if (ry < 0) break
    const i = landing(ry, sh, oh)
    if (i < 0) continue
    for (let kq = 0; kq < kw; kq++) {
      const rx = xx + pw - kq * dw
      if (rx < 0) break
      const j = landing(rx, sw, ow)
      if (j < 0) continue
      const t = i * ow + j - t0
      if (t < 0 || t >= nb) continue
      store<i32>(taps + <usize>n * 8, (ch * kh + kp) * kw + kq)
      store<i32>(taps + <usize>n * 8, t, 4)
      n++
    }
  }
  return n
}

/**
 * Item (image `img`, group `g`, positions [t0, t0 + nb)) of the forward by scattering its
 * non-zero inputs (see the module comment), or `false`, having written nothing, where the
 * image's group has more than {@link sparseLimit} of them or the group may not be scattered.
 * `state` is the groups' scatter state, `wt` their transposed weights, `acc` the block's
 * outputs, position-major, `cells` the non-zero inputs' offsets and `taps` one's taps.
 */
function convItemSparse(
  out: usize, x: usize, w: usize, bias: usize, img: i32, g: i32, t0: i32, nb: i32,
  state: usize, wt: usize, acc: usize, cells: usize, taps: usize,
): bool {
  if (load<u8>(state + <usize>g) == GEMM) return false
  const count = nonZeroCells(x, img, g, cells)
  if (count < 0) return false
  if (load<u8>(state + <usize>g) == UNSEEN) {
    const fine = transposeGroup(wt, w, bias, g)
    store<u8>(state + <usize>g, fine ? SCATTER : GEMM)
    if (!fine) return false
  }
  const lanes = ogLanes()
  const row = <usize>lanes * 4
  const wg = wt + <usize>(g * (K + 1) * lanes) * 4
  // every position starts from the bias (row K of the transposed weights)
  const biasRow = wg + <usize>K * row
  for (let t = 0; t < nb; t++) {
    const a = acc + <usize>t * row
    for (let o: usize = 0; o < row; o += 16) v128.store(a + o, v128.load(biasRow + o))
  }
  const src = x + <usize>((img * C + g * CG) * H * W) * 4
  const unit = SH == 1 && SW == 1 && DH == 1 && DW == 1
  if (unit) {
    // per channel, only the input rows whose taps reach the block's output rows (the others
    // would add nothing to it), still in (c, row, column) order
    const plane = H * W
    const from = reachFrom(t0 / OW)
    const to = reachTo((t0 + nb - 1) / OW)
    let e = 0
    for (let ch = 0; ch < CG && e < count; ch++) {
      e = firstAtLeast(cells, e, count, ch * plane + from)
      const end = firstAtLeast(cells, e, count, ch * plane + to)
      // the cells come in order: their rows follow from the last one's, not from a division each
      let y = from / W
      let rowStart = ch * plane + from
      for (; e < end; e++) {
        const cell = load<i32>(cells + <usize>e * 4)
        while (cell >= rowStart + W) {
          y++
          rowStart += W
        }
        scatterUnit(ch, y, cell - rowStart, t0, nb, acc, wg, row, load<f32>(src + <usize>cell * 4))
      }
    }
  } else {
    for (let e = 0; e < count; e++) {
      const cell = load<i32>(cells + <usize>e * 4)
      const v = load<f32>(src + <usize>cell * 4)
      const vs = f32x4.splat(v)
      const n = tapsOf(cell, t0, nb, taps)
      // x * w is w where x is 1 (spikes): no product
      for (let k = 0; k < n; k++) {
        const a = acc + <usize>load<i32>(taps + <usize>k * 8, 4) * row
        const wv = wg + <usize>load<i32>(taps + <usize>k * 8) * row
        if (v == 1) addRow(a, wv, row)
        else addScaledRow(a, wv, vs, row)
      }
    }
  }
  transposeBlock(out + <usize>((img * O + g * OG) * P + t0) * 4, <usize>P * 4, acc, row, nb, OG)
  return true
}

/** Blocks of NC_POS output positions per image and group: the forward's items are (image, group, block). */
// @ts-ignore: decorator
@inline function positionBlocks(): i32 {
  return (P + NC_POS - 1) / NC_POS
}

/** `out [n, o, oh, ow]` = conv2d(x [n, c, h, w], w [o, c / groups, kh, kw]) + bias (0: none). */
export function conv2d(
  out: usize, x: usize, w: usize, bias: usize,
  n: i32, c: i32, h: i32, wd: i32, o: i32, kh: i32, kw: i32,
  sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, groups: i32,
  scratch: usize,
): void {
  geometry(n, c, h, wd, o, kh, kw, sh, sw, ph, pw, dh, dw, groups)
  conv2dPart(scratch, 0, N * G * positionBlocks(), out, x, w, bias, n, c, h, wd, o, kh, kw, sh, sw, ph, pw, dh, dw, groups)
}

/**
 * Items [from, to) of `conv2d`, an item being one block of NC_POS output positions of one image
 * and group (item (img * groups + g) * blocks + block), every output channel of the group;
 * nothing else of `out`. Each output is summed as in the whole call, so any cut into ranges
 * of items gives the same bits. `scratch`: conv2dScratchBytes(0, …) bytes.
 */
export function conv2dPart(
  scratch: usize, from: i32, to: i32,
  out: usize, x: usize, w: usize, bias: usize,
  n: i32, c: i32, h: i32, wd: i32, o: i32, kh: i32, kw: i32,
  sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, groups: i32,
): void {
  geometry(n, c, h, wd, o, kh, kw, sh, sw, ph, pw, dh, dw, groups)
  const ogPad = roundUp(OG, MR)
  const nbMax = roundUp(min(P, NC_POS), NR)
  const flags = scratch
  const wp = flags + bytes(O + G)
  const pad = wp + bytes(G * ogPad * K)
  const taps = pad + bytes(padFloats())
  const tab = taps + bytes(K)
  const bp = tab + bytes(NC_POS / NR * CHUNK)
  const cp = bp + bytes(min(K, KC) * nbMax)
  const wt = cp + bytes(ogPad * nbMax)
  const acc = wt + bytes(G * (K + 1) * ogLanes())
  const cells = acc + bytes(NC_POS * ogLanes())
  const tapList = cells + bytes(sparseLimit() + 1)
  const khw = KH * KW
  const blocks = positionBlocks()
  // the groups' scatter state (a byte each, after the exact flags)
  const scatter = flags + <usize>O
  memory.fill(scatter, UNSEEN, <usize>G)

  // which output channels need the tap-by-tap path (see the module comment)
  let anyExact = false
  const padded = PH > 0 || PW > 0
  for (let oc = 0; oc < O; oc++) {
    const exact = padded && zeroTapsMatter(w, bias, oc)
    store<u8>(flags + <usize>oc, exact ? 1 : 0)
    anyExact = anyExact || exact
  }
  // the weights, packed once: group g's block of rows [pc, pc + kc) at g * ogPad * K + pc * ogPad
  for (let g = 0; g < G; g++) {
    for (let pc = 0; pc < K; pc += KC) {
      const dst = wp + <usize>(g * ogPad * K + pc * ogPad) * 4
      packA(dst, w + <usize>(g * OG * K + pc) * 4, K, false, OG, min(KC, K - pc))
    }
  }
  // each (c, p, q)'s byte offset in the padded planes
  for (let cpq = 0; cpq < K; cpq++) {
    const ch = cpq / khw
    const rem = cpq - ch * khw
    const kp = rem / KW
    store<i32>(taps + <usize>cpq * 4, (ch * HP * WP + kp * DH * WP + (rem - kp * KW) * DW) * 4)
  }
  let planes = -1 // the (image, group) whose padded planes `pad` holds
  for (let item = from; item < to; item++) {
    const ig = item / blocks
    const img = ig / G
    const g = ig - img * G
    const t0 = (item - ig * blocks) * NC_POS
    const nb = min(NC_POS, P - t0)
    if (convItemSparse(out, x, w, bias, img, g, t0, nb, scatter, wt, acc, cells, tapList)) continue
    if (ig != planes) {
      padPlanes(pad, x, img, g * CG)
      planes = ig
    }
    const nbPad = roundUp(nb, NR)
    const ldc = <usize>nbPad * 4
    const chunks = chunkTable(tab, t0, nb)
    const biasG = bias != 0 ? bias + <usize>(g * OG) * 4 : 0
    const outG = out + <usize>((img * O + g * OG) * P + t0) * 4
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc)
      packIm2col(bp, pad, taps + <usize>pc * 4, tab, chunks, kc)
      convTiles(cp, ldc, wp + <usize>(g * ogPad * K + pc * ogPad) * 4, bp, ogPad, nb, kc, pc == 0, pc + kc == K, biasG, outG)
    }
    // the last block stored its whole tiles in `out`; the columns of the partial one are in cp
    const nbFull = nb & ~(NR - 1)
    for (let r = 0; r < OG; r++) {
      const oc = g * OG + r
      if (anyExact && load<u8>(flags + <usize>oc) != 0) convPlaneExact(out, x, w, bias, img, oc, t0, nb)
      else if (nbFull < nb) {
        memory.copy(outG + <usize>(r * P + nbFull) * 4, cp + <usize>r * ldc + <usize>nbFull * 4, <usize>(nb - nbFull) * 4)
      }
    }
  }
}

/**
 * The forward's C tiles (OG output channels, rows padded to `rows`, by `nb` positions, padded to
 * NR) += packed weights x packed im2col over `kc` taps, with gemm.ts's micro-kernel. On the
 * `first` block of taps a tile starts from the bias (`biasG`, the group's first; 0: none), else
 * from what the grid `cp` holds; after the `last` block, rows of real output channels in whole
 * tiles of NR positions are copied to `outG` (row stride P) while the tile is still in L1.
 */
function convTiles(
  cp: usize, ldc: usize, ap: usize, bp: usize, rows: i32, nb: i32, kc: i32,
  first: bool, last: bool, biasG: usize, outG: usize,
): void {
  const nbPad = roundUp(nb, NR)
  const ldo = <usize>P * 4
  for (let jr = 0; jr < nbPad; jr += NR) {
    const bPanel = bp + <usize>(jr * kc) * 4
    const cCol = cp + <usize>jr * 4
    const direct = last && jr + NR <= nb
    for (let ir = 0; ir < rows; ir += MR) {
      const c = cCol + <usize>ir * ldc
      if (first) {
        for (let r = 0; r < MR; r++) {
          const v = f32x4.splat(biasG != 0 && ir + r < OG ? load<f32>(biasG + <usize>(ir + r) * 4) : 0)
          v128.store(c + <usize>r * ldc, v)
          v128.store(c + <usize>r * ldc, v, 16)
        }
      }
      kernel4x8(c, ldc, ap + <usize>(ir * kc) * 4, bPanel, kc)
      if (direct) {
        for (let r = 0; r < MR && ir + r < OG; r++) {
          const src = c + <usize>r * ldc
          const dst = outG + <usize>(ir + r) * ldo + <usize>jr * 4
          v128.store(dst, v128.load(src))
          v128.store(dst, v128.load(src, 16), 16)
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// the input's cotangent
// ---------------------------------------------------------------------------------------------

/** Image `img`'s input cotangent in group `g`'s channels, tap by tap in the reference's order and rounding (the exact fallback). */
function gradInputExact(out: usize, cot: usize, w: usize, img: i32, g: i32): void {
  memory.fill(out + <usize>((img * C + g * CG) * H * W) * 4, 0, <usize>(CG * H * W) * 4)
  for (let oc = g * OG; oc < (g + 1) * OG; oc++) {
    for (let i = 0; i < OH; i++) {
      for (let j = 0; j < OW; j++) {
        const cv = <f64>load<f32>(cot + <usize>((img * O + oc) * P + i * OW + j) * 4)
        for (let ch = 0; ch < CG; ch++) {
          const plane = out + <usize>((img * C + g * CG + ch) * H * W) * 4
          const wc = w + <usize>(((oc * CG + ch) * KH) * KW) * 4
          for (let kp = 0; kp < KH; kp++) {
            const y = i * SH - PH + kp * DH
            if (y < 0 || y >= H) continue
            for (let kq = 0; kq < KW; kq++) {
              const xx = j * SW - PW + kq * DW
              if (xx < 0 || xx >= W) continue
              const at = plane + <usize>(y * W + xx) * 4
              store<f32>(at, <f32>(<f64>load<f32>(at) + cv * <f64>load<f32>(wc + <usize>(kp * KW + kq) * 4)))
            }
          }
        }
      }
    }
  }
}

/**
 * Whether this call's input cotangent is a forward convolution of the cotangent (stride 1, and
 * no more padding than the kernel's reach, so the transposed padding is not negative).
 */
// @ts-ignore: decorator
@inline function transposable(): bool {
  return SH == 1 && SW == 1 && PH <= DH * (KH - 1) && PW <= DW * (KW - 1)
}

/** Whether this geometry's input cotangent goes to winograd.ts (where it applies and pays). */
function byWinograd(
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, c: i32, h: i32, w: i32, o: i32, groups: i32,
): bool {
  return winogradApplies(kh, kw, sh, sw, ph, pw, dh, dw) && winogradPays(c, h, w, o, ph, pw, groups)
}

/**
 * Items [from, to) of the input cotangent as the forward kernel computes a convolution: of
 * `cot [n, o, oh, ow]` with the weights flipped in both spatial axes and each group's channel
 * axes swapped (`[c, o / groups, kh, kw]`), padded by the kernel's reach less the padding. Each
 * input cell then sums its taps' products in float32 in (o, p, q) order, with the forward's
 * packed GEMM (faster than the col2im route, whose summed dimension is only the group's output
 * channels). Equal to the reference within the same bound.
 */
function gradInputAsConv(scratch: usize, from: i32, to: i32, out: usize, cot: usize, w: usize): void {
  const khw = KH * KW
  const flipped = scratch
  for (let g = 0; g < G; g++) {
    for (let oc = 0; oc < OG; oc++) {
      for (let ch = 0; ch < CG; ch++) {
        const src = w + <usize>(((g * OG + oc) * CG + ch) * khw) * 4
        const dst = flipped + <usize>(((g * CG + ch) * OG + oc) * khw) * 4
        for (let t = 0; t < khw; t++) store<f32>(dst + <usize>t * 4, load<f32>(src + <usize>(khw - 1 - t) * 4))
      }
    }
  }
  const n = N, c = C, o = O, oh = OH, ow = OW, kh = KH, kw = KW, dh = DH, dw = DW, groups = G
  const ph = DH * (KH - 1) - PH
  const pw = DW * (KW - 1) - PW
  const blocks = (H * W + NC_POS - 1) / NC_POS
  conv2dPart(scratch + bytes(O * K), from * blocks, to * blocks, out, cot, flipped, 0, n, o, oh, ow, c, kh, kw, 1, 1, ph, pw, dh, dw, groups)
}

/** `out [n, c, h, w]`: the cotangent of conv2d's x from the output's `cot [n, o, oh, ow]`. */
export function conv2dGradInput(
  out: usize, cot: usize, w: usize,
  n: i32, c: i32, h: i32, wd: i32, o: i32, kh: i32, kw: i32,
  sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, groups: i32,
  scratch: usize,
): void {
  conv2dGradInputPart(scratch, 0, n * groups, out, cot, w, n, c, h, wd, o, kh, kw, sh, sw, ph, pw, dh, dw, groups)
}

/**
 * Items [from, to) of `conv2dGradInput`, an item being one image's group of input channels
 * (item img * groups + g); nothing else of `out`. Each input cell sums its taps as in the whole
 * call, so any cut into ranges of items gives the same bits. `scratch`: conv2dScratchBytes(1, …).
 */
export function conv2dGradInputPart(
  scratch: usize, from: i32, to: i32,
  out: usize, cot: usize, w: usize,
  n: i32, c: i32, h: i32, wd: i32, o: i32, kh: i32, kw: i32,
  sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, groups: i32,
): void {
  geometry(n, c, h, wd, o, kh, kw, sh, sw, ph, pw, dh, dw, groups)
  const maxW = <f64>maxAbs(w, O * K)
  const terms = <f64>(OG * KH * KW)
  if (from >= to) return
  if (byWinograd(KH, KW, SH, SW, PH, PW, DH, DW, C, H, W, O, G)) {
    let safeAll = true
    for (let img = from / G; img <= (to - 1) / G && safeAll; img++) {
      safeAll = <f64>maxAbs(cot + <usize>(img * O * P) * 4, O * P) * maxW * <f64>OG * WINOGRAD_GROWTH < SAFE
    }
    if (safeAll) {
      gradInputWinograd(scratch, from, to, out, cot, w, C, H, W, O, PH, PW, G)
      return
    }
  }
  if (transposable()) {
    // every image of the range within the overflow bound (and finite): the forward's GEMM
    let safeAll = true
    for (let img = from / G; img <= (to - 1) / G && safeAll; img++) {
      safeAll = <f64>maxAbs(cot + <usize>(img * O * P) * 4, O * P) * maxW * terms < SAFE
    }
    if (safeAll) {
      gradInputAsConv(scratch, from, to, out, cot, w)
      return
    }
  }
  const kPad = roundUp(K, MR)
  const nbMax = roundUp(min(P, NC_POS), NR)
  const wt = scratch
  const bAll = wt + bytes(G * kPad * OG)
  const cp = bAll + bytes(OG * nbMax)
  const pad = cp + bytes(MR * nbMax)
  const khw = KH * KW
  // w^T per group, packed once: the block of output channels [pc, pc + kc) at g * kPad * OG + pc * kPad
  for (let g = 0; g < G; g++) {
    for (let pc = 0; pc < OG; pc += KC) {
      const dst = wt + <usize>(g * kPad * OG + pc * kPad) * 4
      packA(dst, w + <usize>((g * OG + pc) * K) * 4, K, true, K, min(KC, OG - pc))
    }
  }
  let checked = -1 // the image whose overflow bound `safe` holds
  let safe = false
  for (let item = from; item < to; item++) {
    const img = item / G
    const g = item - img * G
    if (img != checked) {
      safe = <f64>maxAbs(cot + <usize>(img * O * P) * 4, O * P) * maxW * terms < SAFE
      checked = img
    }
    if (!safe) {
      gradInputExact(out, cot, w, img, g)
      continue
    }
    memory.fill(pad, 0, <usize>(CG * HP * WP) * 4)
    for (let t0 = 0; t0 < P; t0 += NC_POS) {
      const nb = min(NC_POS, P - t0)
      const nbPad = roundUp(nb, NR)
      const ldc = <usize>nbPad * 4
      // cot's block of positions, every output channel of the group, packed once
      for (let pc = 0; pc < OG; pc += KC) {
        const src = cot + <usize>((img * O + g * OG + pc) * P + t0) * 4
        packB(bAll + <usize>(pc * nbPad) * 4, src, P, false, nb, min(KC, OG - pc))
      }
      // four (c, p, q) rows at a time: their dcol strip (all of B, a few KiB per output
      // channel, stays in L1) is summed over every block of output channels, then added
      // into the padded planes while it is still in L1
      for (let ir = 0; ir < K; ir += MR) {
        for (let j = 0; j < MR * nbPad; j += 4) v128.store(cp + <usize>j * 4, f32x4.splat(0))
        for (let pc = 0; pc < OG; pc += KC) {
          const kc = min(KC, OG - pc)
          const aPanel = wt + <usize>(g * kPad * OG + pc * kPad + ir * kc) * 4
          const b = bAll + <usize>(pc * nbPad) * 4
          for (let jr = 0; jr < nbPad; jr += NR) {
            kernel4x8(cp + <usize>jr * 4, ldc, aPanel, b + <usize>(jr * kc) * 4, kc)
          }
        }
        const rows = min(MR, K - ir)
        for (let r = 0; r < rows; r++) {
          const cpq = ir + r
          const ch = cpq / khw
          const rem = cpq - ch * khw
          const kp = rem / KW
          col2imRow(pad + <usize>(ch * HP * WP) * 4, cp + <usize>r * ldc, kp, rem - kp * KW, t0, nb)
        }
      }
    }
    for (let ch = 0; ch < CG; ch++) {
      const dst = out + <usize>(((img * C + g * CG + ch) * H) * W) * 4
      const src = pad + <usize>((ch * HP + PH) * WP + PW) * 4
      for (let y = 0; y < H; y++) memory.copy(dst + <usize>(y * W) * 4, src + <usize>(y * WP) * 4, <usize>W * 4)
    }
  }
}

// ---------------------------------------------------------------------------------------------
// the weight's cotangent
// ---------------------------------------------------------------------------------------------

/**
 * Image `img`, group `g`: every tap's `cot * x` added in float64 to `acc`, in the reference's
 * order (the exact fallback), for the group's rows [r0, r1) and weight columns [c0, c1).
 */
function gradWeightExact(acc: usize, cot: usize, x: usize, img: i32, g: i32, r0: i32, r1: i32, c0: i32, c1: i32): void {
  for (let r = r0; r < r1; r++) {
    const oc = g * OG + r
    for (let i = 0; i < OH; i++) {
      for (let j = 0; j < OW; j++) {
        const cv = <f64>load<f32>(cot + <usize>((img * O + oc) * P + i * OW + j) * 4)
        for (let ch = 0; ch < CG; ch++) {
          const plane = x + <usize>((img * C + g * CG + ch) * H * W) * 4
          const ac = acc + <usize>(((oc * CG + ch) * KH) * KW) * 8
          for (let kp = 0; kp < KH; kp++) {
            const y = i * SH - PH + kp * DH
            if (y < 0 || y >= H) continue
            const row = (ch * KH + kp) * KW
            for (let kq = 0; kq < KW; kq++) {
              const xx = j * SW - PW + kq * DW
              if (xx < 0 || xx >= W || row + kq < c0 || row + kq >= c1) continue
              const at = ac + <usize>(kp * KW + kq) * 8
              store<f64>(at, load<f64>(at) + cv * <f64>load<f32>(plane + <usize>(y * W + xx) * 4))
            }
          }
        }
      }
    }
  }
}

/**
 * Scratch bytes of the weight gradient's scattering path: a block's cotangents position-major
 * [KC][ogLanes], the partial sums [K][ogLanes] and transposed, the non-zero inputs' cells and
 * one cell's taps.
 */
// @ts-ignore: decorator
@inline function sparseGradBytes(): usize {
  return bytes(min(P, KC) * ogLanes()) + 2 * bytes(K * ogLanes()) + bytes(sparseLimit() + 1) + bytes(2 * KH * KW) +
    bytes(gridRows() * gridCols() * ogLanes()) + bytes(sparseLimit() + 1) + bytes(CG + 1)
}

/**
 * Rows and columns of the weight gradient's grid of cotangents at stride and dilation 1: every
 * output position a tap of an input can name, `(y + KH - 1 - p, x + KW - 1 - q)` for input
 * (y, x) and tap (p, q), those outside the output (or the block) zero.
 */
// @ts-ignore: decorator
@inline function gridRows(): i32 {
  return H + KH - 1
}

// @ts-ignore: decorator
@inline function gridCols(): i32 {
  return W + KW - 1
}

/**
 * Image `img`, group `g`'s share of the weight gradient (output channels [r0, r1) of the group,
 * weight columns [c0, c1)) by scattering its `count` non-zero inputs (`cells`): per block of KC
 * positions, each adds `x * cot[:, t]` to the float32 partial sums of the taps that read it,
 * which then go into the float64 accumulator as the GEMM's partial sums do. For one weight the
 * terms come in position order, the GEMM's, less the zero ones, so the partial sums are the
 * GEMM's bits (the caller has sent images with an infinite or NaN value to the exact loop).
 */
function gradWeightSparse(
  acc: usize, cot: usize, x: usize, img: i32, g: i32, r0: i32, r1: i32, c0: i32, c1: i32,
  count: i32, cells: usize, taps: usize, cotT: usize, part: usize, partT: usize,
  grid: usize, bases: usize, starts: usize,
): void {
  const rows = r1 - r0
  const lanes = roundUp(rows, 8)
  const row = <usize>lanes * 4
  const cols = c1 - c0
  const src = x + <usize>((img * C + g * CG) * H * W) * 4
  const cotG = cot + <usize>((img * O + g * OG + r0) * P) * 4
  const first = (c0 / (KH * KW)) * H * W
  const last = ((c1 - 1) / (KH * KW) + 1) * H * W
  const unit = SH == 1 && SW == 1 && DH == 1 && DW == 1
  const binary = unit && gridBases(cells, count, bases, starts, src, row)
  for (let pc = 0; pc < P; pc += KC) {
    const kc = min(KC, P - pc)
    if (unit) {
      // the output rows the block touches, and the input rows whose taps reach them
      const iLo = pc / OW
      const iHi = (pc + kc - 1) / OW
      gridCotangents(grid, cotG, rows, row, pc, kc, iLo, iHi)
      gatherColumns(part, grid, row, lanes, src, cells, bases, starts, c0, c1, binary, reachFrom(iLo), reachTo(iHi))
      widenPartials(acc, part, partT, g * OG + r0, rows, row, c0, cols)
      continue
    }
    transposeBlock(cotT, row, cotG + <usize>pc * 4, <usize>P * 4, rows, kc)
    if (rows < lanes) {
      for (let t = 0; t < kc; t++) memory.fill(cotT + <usize>t * row + <usize>rows * 4, 0, <usize>(lanes - rows) * 4)
    }
    memory.fill(part, 0, <usize>cols * row)
    for (let e = 0; e < count; e++) {
      const cell = load<i32>(cells + <usize>e * 4)
      // a part of the columns needs only the cells of their channels
      if (cell < first || cell >= last) continue
      const v = load<f32>(src + <usize>cell * 4)
      const vs = f32x4.splat(v)
      const n = tapsOf(cell, pc, kc, taps)
      for (let k = 0; k < n; k++) {
        const tap = load<i32>(taps + <usize>k * 8)
        if (tap < c0 || tap >= c1) continue
        const a = part + <usize>(tap - c0) * row
        const cv = cotT + <usize>load<i32>(taps + <usize>k * 8, 4) * row
        // x * cot is cot where x is 1 (spikes): no product
        if (v == 1) addRow(a, cv, row)
        else addScaledRow(a, cv, vs, row)
      }
    }
    widenPartials(acc, part, partT, g * OG + r0, rows, row, c0, cols)
  }
}

/**
 * The float32 partial sums `part` [cols][row bytes] of output channels [oc, oc + rows) by
 * weight columns [c0, c0 + cols), transposed (through `partT`), added into the float64
 * accumulator [channel][column].
 */
function widenPartials(acc: usize, part: usize, partT: usize, oc: i32, rows: i32, row: usize, c0: i32, cols: i32): void {
  transposeBlock(partT, <usize>cols * 4, part, row, cols, rows)
  for (let r = 0; r < rows; r++) {
    const ar = acc + <usize>((oc + r) * K + c0) * 8
    const pr = partT + <usize>(r * cols) * 4
    let j = 0
    for (; j + 4 <= cols; j += 4) addWidened(ar + <usize>j * 8, v128.load(pr + <usize>j * 4))
    for (; j < cols; j++) {
      const a = ar + <usize>j * 8
      store<f64>(a, load<f64>(a) + <f64>load<f32>(pr + <usize>j * 4))
    }
  }
}

/**
 * For the `count` non-zero inputs `cells` (offsets in the group's planes, in order) of the
 * image's group at `src`: `bases[e]`, input e's place in the grid of cotangents for tap (0, 0),
 * in bytes of `row`-byte grid rows, and `starts[ch]`, the first input of channel `ch`
 * (`starts[CG]` is `count`). Whether every input is 1 (spikes).
 */
function gridBases(cells: usize, count: i32, bases: usize, starts: usize, src: usize, row: usize): bool {
  const plane = H * W, gw = gridCols(), wd = W
  let binary = true
  let ch = 0
  store<i32>(starts, 0)
  for (let e = 0; e < count; e++) {
    const cell = load<i32>(cells + <usize>e * 4)
    const c = cell / plane
    while (ch < c) {
      ch++
      store<i32>(starts + <usize>ch * 4, e)
    }
    const y = (cell - c * plane) / wd
    const x = cell - c * plane - y * wd
    store<i32>(bases + <usize>e * 4, ((y + KH - 1) * gw + x + KW - 1) * <i32>row)
    if (load<f32>(src + <usize>cell * 4) != 1) binary = false
  }
  while (ch < CG) {
    ch++
    store<i32>(starts + <usize>ch * 4, count)
  }
  return binary
}

/**
 * The grid of cotangents (see {@link gridRows}) of output channels `cotG` [rows][P] for the
 * positions [pc, pc + kc) (output rows [iLo, iHi]), position-major in `row`-byte rows; every
 * other entry zero within the grid rows the inputs of {@link gatherColumns}'s rows read (a
 * block's rows and KH - 1 on either side), the rest left as they were.
 */
function gridCotangents(grid: usize, cotG: usize, rows: i32, row: usize, pc: i32, kc: i32, iLo: i32, iHi: i32): void {
  const gh = gridRows(), gw = gridCols(), ow = OW
  const di = KH - 1 - PH, dj = KW - 1 - PW
  const gLo = max(0, iLo + di - (KH - 1))
  const gHi = min(gh - 1, iHi + di + (KH - 1))
  memory.fill(grid + <usize>(gLo * gw) * row, 0, <usize>((gHi - gLo + 1) * gw) * row)
  for (let i = pc / ow; i * ow < pc + kc; i++) {
    const gi = i + di
    if (gi < 0 || gi >= gh) continue
    const from = max(max(0, pc - i * ow), -dj)
    const to = min(min(ow, pc + kc - i * ow), gw - dj)
    if (from < to) {
      const dst = grid + <usize>(gi * gw + from + dj) * row
      transposeBlock(dst, row, cotG + <usize>(i * ow + from) * 4, <usize>P * 4, rows, to - from)
    }
  }
}

/**
 * The weight gradient's partial sums for columns [c0, c1) at stride and dilation 1, into
 * `part` [c1 - c0][row bytes]: column (c, p, q) sums, over channel c's non-zero inputs in
 * order, `x * cot` at the output the tap reads them from (grid place `bases[e]` less the tap's
 * `(p * gridCols + q) * row`), every output channel at once in registers. The terms come in
 * position order, as the GEMM's, and a place outside the output or the block adds +0, which
 * changes no sum that starts from +0: so only the inputs at plane offsets [from, to) of their
 * channel (the rows whose taps reach the block) are summed.
 */
function gatherColumns(
  part: usize, grid: usize, row: usize, lanes: i32, src: usize, cells: usize, bases: usize, starts: usize,
  c0: i32, c1: i32, binary: bool, from: i32, to: i32,
): void {
  const khw = KH * KW, kw = KW, gw = gridCols(), plane = H * W
  for (let k = c0; k < c1; k++) {
    const ch = k / khw
    const p = (k - ch * khw) / kw
    const q = k - ch * khw - p * kw
    const at = grid - <usize>((p * gw + q) * <i32>row)
    const all0 = load<i32>(starts + <usize>ch * 4)
    const all1 = load<i32>(starts + <usize>ch * 4, 4)
    const e0 = firstAtLeast(cells, all0, all1, ch * plane + from)
    const e1 = firstAtLeast(cells, e0, all1, ch * plane + to)
    const dst = part + <usize>(k - c0) * row
    let l = 0
    for (; l + 32 <= lanes; l += 32) gather32(dst + <usize>l * 4, at + <usize>l * 4, bases, e0, e1, binary, src, cells)
    for (; l < lanes; l += 8) gather8(dst + <usize>l * 4, at + <usize>l * 4, bases, e0, e1, binary, src, cells)
  }
}

/**
 * At stride and dilation 1, the plane offset of the first input row whose taps reach output
 * row `i` or a later one: tap p of input row y lands on output row y + PH - p.
 */
// @ts-ignore: decorator
@inline function reachFrom(i: i32): i32 {
  return max(0, i - PH) * W
}

/** As {@link reachFrom}: the plane offset past the last input row whose taps reach output row `i` or an earlier one. */
// @ts-ignore: decorator
@inline function reachTo(i: i32): i32 {
  return (min(H - 1, i - PH + KH - 1) + 1) * W
}

/** The first of inputs [e0, e1) (their cells in order) whose cell is at least `cell`: e1 where none is. */
// @ts-ignore: decorator
@inline function firstAtLeast(cells: usize, e0: i32, e1: i32, cell: i32): i32 {
  let lo = e0, hi = e1
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (load<i32>(cells + <usize>mid * 4) < cell) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * `dst[0, 32)` = the sum over inputs [e0, e1) of the 32 floats at `at + bases[e]`, each times
 * the input's value unless `binary`: eight registers, no stores in the loop.
 */
// @ts-ignore: decorator
@inline function gather32(dst: usize, at: usize, bases: usize, e0: i32, e1: i32, binary: bool, src: usize, cells: usize): void {
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0
  if (binary) {
    for (let e = e0; e < e1; e++) {
      const s = at + <usize>load<i32>(bases + <usize>e * 4)
      a0 = f32x4.add(a0, v128.load(s))
      a1 = f32x4.add(a1, v128.load(s, 16))
      a2 = f32x4.add(a2, v128.load(s, 32))
      a3 = f32x4.add(a3, v128.load(s, 48))
      a4 = f32x4.add(a4, v128.load(s, 64))
      a5 = f32x4.add(a5, v128.load(s, 80))
      a6 = f32x4.add(a6, v128.load(s, 96))
      a7 = f32x4.add(a7, v128.load(s, 112))
    }
  } else {
    for (let e = e0; e < e1; e++) {
      const s = at + <usize>load<i32>(bases + <usize>e * 4)
      const v = f32x4.splat(load<f32>(src + <usize>load<i32>(cells + <usize>e * 4) * 4))
      a0 = f32x4.add(a0, f32x4.mul(v128.load(s), v))
      a1 = f32x4.add(a1, f32x4.mul(v128.load(s, 16), v))
      a2 = f32x4.add(a2, f32x4.mul(v128.load(s, 32), v))
      a3 = f32x4.add(a3, f32x4.mul(v128.load(s, 48), v))
      a4 = f32x4.add(a4, f32x4.mul(v128.load(s, 64), v))
      a5 = f32x4.add(a5, f32x4.mul(v128.load(s, 80), v))
      a6 = f32x4.add(a6, f32x4.mul(v128.load(s, 96), v))
      a7 = f32x4.add(a7, f32x4.mul(v128.load(s, 112), v))
    }
  }
  v128.store(dst, a0)
  v128.store(dst, a1, 16)
  v128.store(dst, a2, 32)
  v128.store(dst, a3, 48)
  v128.store(dst, a4, 64)
  v128.store(dst, a5, 80)
  v128.store(dst, a6, 96)
  v128.store(dst, a7, 112)
}

/** {@link gather32} for 8 floats. */
// @ts-ignore: decorator
@inline function gather8(dst: usize, at: usize, bases: usize, e0: i32, e1: i32, binary: bool, src: usize, cells: usize): void {
  let a0 = f32x4.splat(0), a1 = a0
  for (let e = e0; e < e1; e++) {
    const s = at + <usize>load<i32>(bases + <usize>e * 4)
    if (binary) {
      a0 = f32x4.add(a0, v128.load(s))
      a1 = f32x4.add(a1, v128.load(s, 16))
    } else {
      const v = f32x4.splat(load<f32>(src + <usize>load<i32>(cells + <usize>e * 4) * 4))
      a0 = f32x4.add(a0, f32x4.mul(v128.load(s), v))
      a1 = f32x4.add(a1, f32x4.mul(v128.load(s, 16), v))
    }
  }
  v128.store(dst, a0)
  v128.store(dst, a1, 16)
}

/** The four floats of `v` added to the four float64s at `a`. */
// @ts-ignore: decorator
@inline function addWidened(a: usize, v: v128): void {
  v128.store(a, f64x2.add(v128.load(a), f64x2.promote_low_f32x4(v)))
  v128.store(a, f64x2.add(v128.load(a, 16), f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1))), 16)
}

/** `out [o, c / groups, kh, kw]`: the cotangent of conv2d's weight from the output's `cot` and x. */
export function conv2dGradWeight(
  out: usize, cot: usize, x: usize,
  n: i32, c: i32, h: i32, wd: i32, o: i32, kh: i32, kw: i32,
  sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, groups: i32,
  scratch: usize,
): void {
  geometry(n, c, h, wd, o, kh, kw, sh, sw, ph, pw, dh, dw, groups)
  conv2dGradWeightPart(scratch, 0, OG, 0, K, out, cot, x, n, c, h, wd, o, kh, kw, sh, sw, ph, pw, dh, dw, groups)
}

/**
 * Rows [r0, r1) of every group's o / groups output channels by weight columns [c0, c1) of the
 * c / groups * kh * kw, of `conv2dGradWeight`; nothing else of `out`. Each weight sums its
 * images and blocks of positions as in the whole call, so any cut into rectangles gives the
 * same bits. `scratch`: conv2dScratchBytes(2, …) bytes.
 */
export function conv2dGradWeightPart(
  scratch: usize, r0: i32, r1: i32, c0: i32, c1: i32,
  out: usize, cot: usize, x: usize,
  n: i32, c: i32, h: i32, wd: i32, o: i32, kh: i32, kw: i32,
  sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, groups: i32,
): void {
  geometry(n, c, h, wd, o, kh, kw, sh, sw, ph, pw, dh, dw, groups)
  const rows = r1 - r0
  const rPad = roundUp(rows, MR)
  const kcMax = min(P, KC)
  const ncMax = roundUp(min(K, NC_W), NR)
  const tmpStride = roundUp(kcMax, 4) + 8
  const acc = scratch
  const ap = acc + bytes(2 * O * K)
  const bp = ap + bytes(roundUp(OG, MR) * kcMax)
  const cp = bp + bytes(kcMax * ncMax)
  const tmp = cp + bytes(roundUp(OG, MR) * ncMax)
  const pad = tmp + bytes(8 * tmpStride)
  const cotT = pad + bytes(padFloats())
  const part = cotT + bytes(kcMax * ogLanes())
  const cells = part + bytes(K * ogLanes())
  const tapList = cells + bytes(sparseLimit() + 1)
  const partT = tapList + bytes(2 * KH * KW)
  const grid = partT + bytes(K * ogLanes())
  const bases = grid + bytes(gridRows() * gridCols() * ogLanes())
  const starts = bases + bytes(sparseLimit() + 1)
  const khw = KH * KW
  memory.fill(acc, 0, <usize>(O * K) * 8)
  const terms = <f64>kcMax
  for (let img = 0; img < N; img++) {
    for (let g = 0; g < G; g++) {
      const cotG = cot + <usize>((img * O + g * OG) * P) * 4
      const xG = x + <usize>((img * C + g * CG) * H * W) * 4
      if (!(<f64>maxAbs(cotG, OG * P) * <f64>maxAbs(xG, CG * H * W) * terms < SAFE)) {
        gradWeightExact(acc, cot, x, img, g, r0, r1, c0, c1)
        continue
      }
      const count = nonZeroCells(x, img, g, cells)
      if (count >= 0) {
        gradWeightSparse(acc, cot, x, img, g, r0, r1, c0, c1, count, cells, tapList, cotT, part, partT, grid, bases, starts)
        continue
      }
      padPlanes(pad, x, img, g * CG)
      for (let pc = 0; pc < P; pc += KC) {
        const kc = min(KC, P - pc)
        packA(ap, cotG + <usize>(r0 * P + pc) * 4, P, false, rows, kc)
        for (let jc = c0; jc < c1; jc += NC_W) {
          const nc = min(NC_W, c1 - jc)
          const ncPad = roundUp(nc, NR)
          const ldc = <usize>ncPad * 4
          // B [kc positions][nc weights]: eight im2col rows at a time, transposed into a panel
          for (let jr = 0; jr < ncPad; jr += NR) {
            for (let jj = 0; jj < NR; jj++) {
              const t = tmp + <usize>(jj * tmpStride) * 4
              const cpq = jc + jr + jj
              if (jr + jj < nc) {
                const ch = cpq / khw
                const rem = cpq - ch * khw
                const kp = rem / KW
                im2colRow(t, pad + <usize>(ch * HP * WP) * 4, kp, rem - kp * KW, pc, kc)
              } else {
                memory.fill(t, 0, <usize>kc * 4)
              }
            }
            // the eight rows, transposed into one B panel [kc][8]
            packB(bp + <usize>(jr * kc) * 4, tmp, tmpStride, true, NR, kc)
          }
          gemmBlock(cp, ldc, ap, bp, rPad, ncPad, kc, true, 0, ncPad)
          for (let r = 0; r < rows; r++) {
            const cr = cp + <usize>r * ldc
            const ar = acc + <usize>((g * OG + r0 + r) * K + jc) * 8
            let j = 0
            for (; j + 4 <= nc; j += 4) {
              const v = v128.load(cr + <usize>j * 4)
              const a = ar + <usize>j * 8
              v128.store(a, f64x2.add(v128.load(a), f64x2.promote_low_f32x4(v)))
              const high = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1))
              v128.store(a, f64x2.add(v128.load(a, 16), high), 16)
            }
            for (; j < nc; j++) {
              const a = ar + <usize>j * 8
              store<f64>(a, load<f64>(a) + <f64>load<f32>(cr + <usize>j * 4))
            }
          }
        }
      }
    }
  }
  for (let g = 0; g < G; g++) {
    for (let r = r0; r < r1; r++) {
      const at = (g * OG + r) * K
      for (let j = c0; j < c1; j++) store<f32>(out + <usize>(at + j) * 4, <f32>load<f64>(acc + <usize>(at + j) * 8))
    }
  }
}
