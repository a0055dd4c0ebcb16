/**
 * Matmul: with `A` and `B` the operands as read (`a` or `a^T`, `b` or `b^T`) and G the output's
 * cotangent, `dA = G B^T`, `dB = A^T G`, `dbias = sum of G's rows`; the transposes are read in
 * place by the matmul kernel itself, and an operand stored transposed gets its cotangent
 * transposed back the same way.
 */
import type { GradRule } from '../rule.js'
import { rule } from '../rule.js'

export const matmulGrad: GradRule<'matmul'> = rule([0, 1], (d, [g], { inputs: [a, b], attrs, needs }) => {
  const { m, k, n } = attrs
  const tA = attrs.transA === true
  const tB = attrs.transB === true
  const cot = g!
  // dA as stored: [m, k] (or [k, m] when transA)
  const da = !needs[0]
    ? null
    : tA
      ? d.matmul(b!, cot, null, { m: k, k: n, n: m, transA: tB, transB: true })
      : d.matmul(cot, b!, null, { m, k: n, n: k, transB: !tB })
  // dB as stored: [k, n] (or [n, k] when transB)
  const db = !needs[1]
    ? null
    : tB
      ? d.matmul(cot, a!, null, { m: n, k: m, n: k, transA: true, transB: tA })
      : d.matmul(a!, cot, null, { m: k, k: m, n, transA: !tA })
  const dbias = needs[2] ? d.sumAlongAxis(cot, { outer: 1, axis: m, inner: n }) : null
  return [da, db, dbias]
})
