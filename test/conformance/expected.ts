/**
 * What each in-repo case set (test/fixtures/<set>) gives today, on every backend: how many cases
 * pass, how many are skipped, and how many of the skipped ones had their earlier steps (the
 * forward steps before a `backward`) run and match. None may fail. `backends.test.ts` checks
 * these exactly, so a case cannot drop out unnoticed; when support lands (an adapter in
 * `adapters/index.ts`, a step handler in `steps.ts`), move its cases from skipped to passed here.
 */
export interface Expected {
  readonly passed: number
  readonly skipped: number
  /** Skipped cases whose steps before the first unsupported one ran and matched. */
  readonly checkedBeforeSkip: number
}

export const expectedCounts: Readonly<Record<string, Expected>> = {
  braincog: { passed: 21, skipped: 0, checkedBeforeSkip: 0 },
  'braincog-f64': { passed: 21, skipped: 0, checkedBeforeSkip: 0 },
  // 31 backward cases (gradients through time) and 4 forward-only IFNode/LIFNode cases
  'braincog-grad': { passed: 35, skipped: 0, checkedBeforeSkip: 0 },
  'braincog-grad-f64': { passed: 35, skipped: 0, checkedBeforeSkip: 0 },
  // timeAware tdBN, TEBN on [T, N, C, H, W], NDropout, VotingLayer on [T, N, L], with gradients
  spikingjelly: { passed: 18, skipped: 0, checkedBeforeSkip: 0 },
  // Conv2d, the pools, Flatten, MeanOverTime, the losses (forward and backward) and the optimizers
  'torch-nn': { passed: 29, skipped: 0, checkedBeforeSkip: 0 },
  'torch-nn-f64': { passed: 29, skipped: 0, checkedBeforeSkip: 0 },
}
