/** Convolution: the input's cotangent is the transposed convolution, the weight's the correlation with x; the bias's the cotangent summed per output channel. */
import { convOutputSize } from '../../kernel/kernels.js'
import type { GradRule } from '../rule.js'
import { rule } from '../rule.js'

export const conv2dGrad: GradRule<'conv2d'> = rule([0, 1], (d, [g], { inputs: [x, weight], attrs, needs }) => {
  const [oh, ow] = convOutputSize(attrs)
  let dbias = null
  if (needs[2]) {
    // [n, o, oh*ow] summed over n, then over the plane
    const perImage = d.sumAlongAxis(g!, { outer: 1, axis: attrs.n, inner: attrs.o * oh * ow })
    dbias = d.sumAlongAxis(perImage, { outer: attrs.o, axis: oh * ow, inner: 1 })
    d.free(perImage)
  }
  return [
    needs[0] ? d.conv2dGradInput(g!, weight!, attrs) : null,
    needs[1] ? d.conv2dGradWeight(g!, x!, attrs) : null,
    dbias,
  ]
})
