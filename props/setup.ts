/**
 * fast-check defaults for every property: a fixed seed (override with FC_SEED to explore) so
 * failures replay, and enough runs to bite.
 */
import fc from 'fast-check'

const seed = Number(process.env.FC_SEED ?? 20261128)
fc.configureGlobal({ seed, numRuns: Number(process.env.FC_RUNS ?? 100) })
