/**
 * pure-rand's xoroshiro128+ in 64-bit arithmetic. pure-rand keeps the state as four int32
 * words [s0 high, s0 low, s1 high, s1 low] and returns the low 32 bits of s0 + s1; here the
 * state is two u64 (the same bits), the step the reference one (rotl 24, shift 16, rotl 37).
 */

/** 2^-24: a 24-bit integer times this is exact in float32. */
const UNIT: f32 = 5.9604645e-8

/**
 * Writes `n` float32 draws to `out`: the low 24 bits of each output times 2^-24. `state`
 * points at four u32 words (a Key, pure-rand's order) and is advanced in place, so a long
 * fill may run in slices.
 */
export function uniformFill(out: usize, n: i32, state: usize): void {
  let s0 = (<u64>load<u32>(state) << 32) | <u64>load<u32>(state, 4)
  let s1 = (<u64>load<u32>(state, 8) << 32) | <u64>load<u32>(state, 12)
  for (let i = 0; i < n; i++) {
    store<f32>(out + <usize>i * 4, <f32>(<u32>(s0 + s1) & 0xffffff) * UNIT)
    const a = s1 ^ s0
    s0 = rotl<u64>(s0, 24) ^ a ^ (a << 16)
    s1 = rotl<u64>(a, 37)
  }
  store<u32>(state, <u32>(s0 >> 32))
  store<u32>(state, <u32>s0, 4)
  store<u32>(state, <u32>(s1 >> 32), 8)
  store<u32>(state, <u32>s1, 12)
}
