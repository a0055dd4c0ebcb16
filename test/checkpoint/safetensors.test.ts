/**
 * safetensors bytes: the layout written (header padding, alignment, little-endian data, the
 * names), named entries and templates, and hostile files, which must give a LayerError quickly
 * and never throw.
 */
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import {
  flattenTree,
  fromSafetensors,
  MAX_HEADER_BYTES,
  orThrow,
  tensor,
  toNested,
  toSafetensors,
  treeFromSafetensors,
  unflattenTree,
  zeros,
} from '../../src/index.js'
import { expectLayerError } from '../layers/layerError.js'

/** A file from a header object (or text) and data bytes, as a hostile writer might make it. */
const file = (header: unknown, data: readonly number[] = [], length?: number): Uint8Array => {
  const text = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header))
  const out = new Uint8Array(8 + text.length + data.length)
  new DataView(out.buffer).setUint32(0, length ?? text.length, true)
  out.set(text, 8)
  out.set(data, 8 + text.length)
  return out
}

const headerOf = (bytes: Uint8Array): { readonly length: number; readonly text: string } => {
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true)
  return { length, text: new TextDecoder().decode(bytes.subarray(8, 8 + length)) }
}

describe('toSafetensors', () => {
  it('writes the reference layout: padded header, 8-byte types first, little-endian data', () => {
    const bytes = orThrow(toSafetensors({ b: tensor([1], [1]), a: tensor([2], [1], 'float64'), n: 7 }, { format: 'pt' }))
    const { length, text } = headerOf(bytes)
    expect(length % 8).toBe(0)
    expect(text.trimEnd()).toBe(
      '{"__metadata__":{"format":"pt"},"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},' +
        '"n":{"dtype":"I64","shape":[],"data_offsets":[8,16]},"b":{"dtype":"F32","shape":[1],"data_offsets":[16,20]}}',
    )
    expect(/^ *$/.test(text.slice(text.trimEnd().length))).toBe(true)
    const data = bytes.subarray(8 + length)
    expect(Array.from(data.subarray(0, 8))).toEqual([0, 0, 0, 0, 0, 0, 0, 0x40]) // 2.0 as f64
    expect(Array.from(data.subarray(8, 16))).toEqual([7, 0, 0, 0, 0, 0, 0, 0])
    expect(Array.from(data.subarray(16, 20))).toEqual([0, 0, 0x80, 0x3f]) // 1.0 as f32
  })

  it('names leaves by their dotted paths, leaves nulls out, and writes strided views in row-major order', () => {
    const t = tensor([1, 2, 3, 4, 5, 6], [2, 3]).transpose(1, 0)
    const tree = [{ weight: t, mask: null }, {}, { p: zeros([0]), deep: [{ x: 0.5 }] }]
    const { entries } = orThrow(fromSafetensors(orThrow(toSafetensors(tree))))
    expect(Object.keys(entries).sort()).toEqual(['0.weight', '2.deep.0.x', '2.p'])
    expect(toNested(entries['0.weight'] as never)).toEqual([
      [1, 4],
      [2, 5],
      [3, 6],
    ])
    // a non-integer number is a 0-d F64 tensor in the file; through a template it is a number again
    expect((entries['2.deep.0.x'] as { readonly shape: number[] }).shape).toEqual([])
    const template = [{ weight: zeros([3, 2]), mask: null }, {}, { p: zeros([0]), deep: [{ x: 0 }] }]
    const back = orThrow(treeFromSafetensors(orThrow(toSafetensors(tree)), template))
    expect((back[2] as { readonly deep: readonly { readonly x: number }[] }).deep[0].x).toBe(0.5)
  })

  it('rejects leaves it cannot write, clashing names and bad metadata', () => {
    expectLayerError(toSafetensors({ a: 'text' }), { layer: 'toSafetensors', argument: 'tree["a"]', got: '"text"' })
    expectLayerError(toSafetensors({ 'a.b': tensor([1], [1]), a: { b: tensor([2], [1]) } }), {
      layer: 'toSafetensors',
      argument: 'tree["a.b"]',
      got: 'a second entry',
    })
    expectLayerError(toSafetensors({ __metadata__: tensor([1], [1]) }), { layer: 'toSafetensors', argument: 'tree["__metadata__"]' })
    expectLayerError(toSafetensors(tensor([1], [1])), { layer: 'toSafetensors', argument: 'tree' })
    expectLayerError(toSafetensors({}, { epoch: 3 } as never), { layer: 'toSafetensors', argument: 'metadata.epoch' })
  })
})

describe('fromSafetensors', () => {
  it('reads Uint8Arrays at any offset (unaligned data), ArrayBuffers and Node Buffers, copying the data', () => {
    const bytes = orThrow(toSafetensors({ w: tensor([1.5, -2], [2]) }))
    const shifted = new Uint8Array(bytes.length + 3)
    shifted.set(bytes, 3)
    for (const source of [bytes, bytes.slice().buffer, shifted.subarray(3), Buffer.from(bytes)]) {
      const w = orThrow(fromSafetensors(source)).entries.w as ReturnType<typeof tensor>
      expect(toNested(w)).toEqual([1.5, -2])
      expect(w.data.buffer).not.toBe(bytes.buffer)
    }
  })

  it('reads 0-d I64 and I32 entries as numbers', () => {
    const i32 = file({ n: { dtype: 'I32', shape: [], data_offsets: [0, 4] } }, [0xfe, 0xff, 0xff, 0xff])
    expect(orThrow(fromSafetensors(i32)).entries.n).toBe(-2)
    const big = file({ n: { dtype: 'I64', shape: [], data_offsets: [0, 8] } }, [0, 0, 0, 0, 0, 0, 0x40, 0])
    expectLayerError(fromSafetensors(big), { layer: 'fromSafetensors', argument: 'header["n"]', expected: 'within 2^53' })
  })

  const bad = (name: string, bytes: Uint8Array, argument: string, text?: string) => [name, bytes, argument, text] as const
  const f32 = (shape: unknown, offsets: unknown, data: readonly number[] = [0, 0, 0, 0]) =>
    file({ w: { dtype: 'F32', shape, data_offsets: offsets } }, data)
  it.each([
    bad('7 bytes', new Uint8Array(7), 'bytes'),
    bad('a header longer than the file', file('{}', [], 1000), 'header', 'inside the file'),
    bad('a header length past 2^32', (() => {
      const b = file('{}')
      new DataView(b.buffer).setUint32(4, 1, true)
      return b
    })(), 'header', 'inside the file'),
    bad('a header that is not UTF-8', file('{"\xff"}').map((v, i) => (i === 10 ? 0xff : v)), 'header', 'UTF-8'),
    bad('a header that is not an object', file('[1, 2]'), 'header', 'starting with "{"'),
    bad('a header that is not JSON', file('{"w": '), 'header', 'not JSON'),
    bad('an entry that is not an object', file({ w: 3 }), 'header["w"]'),
    bad('an unknown dtype', file({ w: { dtype: 'BF16', shape: [1], data_offsets: [0, 2] } }, [0, 0]), 'header["w"].dtype', 'F32'),
    bad('a negative dimension', f32([-1], [0, 4]), 'header["w"].shape'),
    bad('a fractional dimension', f32([0.5], [0, 4]), 'header["w"].shape'),
    bad('a shape that is not an array', f32('4', [0, 4]), 'header["w"].shape'),
    bad('too many dimensions', f32(new Array(65).fill(1), [0, 4]), 'header["w"].shape'),
    bad('one offset', f32([1], [0]), 'header["w"].data_offsets'),
    bad('a negative offset', f32([1], [-4, 0]), 'header["w"].data_offsets'),
    bad('begin after end', f32([1], [4, 0]), 'header["w"].data_offsets'),
    bad('an end past the data', f32([1], [0, 8]), 'header["w"].data_offsets', '<= 4'),
    bad('too few bytes for the shape', f32([2], [0, 4]), 'header["w"].data_offsets', '8 bytes for [2]'),
    bad('a shape whose size overflows', f32([2 ** 52, 2 ** 52, 2 ** 52], [0, 4]), 'header["w"].data_offsets'),
    bad('an I64 tensor', file({ n: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, new Array(8).fill(0)), 'header["n"].shape', '0-d'),
    bad(
      'overlapping entries',
      file(
        { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } },
        [0, 0, 0, 0],
      ),
      'header["b"].data_offsets',
      'overlaps',
    ),
    bad('a gap between entries', f32([1], [4, 8], new Array(8).fill(0)), 'header["w"].data_offsets', 'unused'),
    bad('bytes after the last entry', f32([1], [0, 4], new Array(6).fill(0)), 'bytes'),
    bad('metadata that is not text', file({ __metadata__: { epoch: 3 } }), 'header.__metadata__'),
    bad('a deeply nested value', file(`{"w": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`), 'header["w"]'),
  ])('rejects %s', (_, bytes, argument, text) => {
    const r = fromSafetensors(bytes)
    expectLayerError(r, { layer: 'fromSafetensors', argument })
    if (text !== undefined && E.isLeft(r)) expect(r.left.message).toContain(text)
  })

  it('rejects a header over 100 MB without reading it', () => {
    const huge = new Uint8Array(8 + MAX_HEADER_BYTES + 8)
    new DataView(huge.buffer).setUint32(0, MAX_HEADER_BYTES + 1, true)
    expectLayerError(fromSafetensors(huge), { layer: 'fromSafetensors', argument: 'header', expected: 'at most' })
  })

  it('keeps prototype names as plain entries', () => {
    const bytes = file(
      '{"__proto__": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, ' +
        '"constructor": {"dtype": "F32", "shape": [], "data_offsets": [4, 8]}}',
      [0, 0, 0x80, 0x3f, 0, 0, 0, 0x40],
    )
    const { entries } = orThrow(fromSafetensors(bytes))
    expect(Object.keys(entries)).toEqual(['__proto__', 'constructor'])
    expect(Object.getPrototypeOf(entries)).toBe(Object.prototype)
    expect(({} as Record<string, unknown>).dtype).toBeUndefined()
  })

  it('never throws: random bytes and corrupted files give a value, quickly', () => {
    const valid = orThrow(toSafetensors({ a: tensor([1, 2, 3], [3]), n: 4, b: [tensor([5], [1], 'float64')] }))
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          fc
            .array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 })
            .map((flips) => {
              const b = valid.slice()
              for (const [i, v] of flips) b[i] = v
              return b
            }),
          fc.nat(valid.length).map((n) => valid.slice(0, n)),
        ),
        (bytes) => {
          const r = fromSafetensors(bytes)
          expect(E.isLeft(r) || E.isRight(r)).toBe(true)
        },
      ),
      { numRuns: 500 },
    )
  })
})

describe('flattenTree and unflattenTree', () => {
  it('rebuild a tree from its entries, taking state tensors where the template has null', () => {
    const template = { params: [{ weight: zeros([2]), bias: null }], state: [{ v: null, count: 0 }] }
    const filled = { params: [{ weight: tensor([1, 2], [2]), bias: null }], state: [{ v: tensor([3], [1]), count: 5 }] }
    const back = orThrow(unflattenTree(template, orThrow(flattenTree(filled))))
    expect(toNested(back.params[0].weight)).toEqual([1, 2])
    expect(back.params[0].bias).toBeNull()
    expect(toNested(back.state[0].v as never)).toEqual([3])
    expect(back.state[0].count).toBe(5)
  })

  it('name the entry and both shapes when something does not fit', () => {
    const template = [{ weight: zeros([2, 3]) }, { n: 0 }]
    const entries = { '0.weight': zeros([3, 2]), '1.n': 1 }
    expectLayerError(unflattenTree(template, entries), {
      layer: 'unflattenTree',
      argument: 'entries["0.weight"]',
      expected: 'a float32 tensor [2, 3]',
      got: 'a float32 tensor [3, 2]',
    })
    expectLayerError(unflattenTree(template, { '0.weight': zeros([2, 3], 'float64'), '1.n': 1 }), {
      layer: 'unflattenTree',
      argument: 'entries["0.weight"]',
      got: 'a float64 tensor [2, 3]',
    })
    expectLayerError(unflattenTree(template, { '1.n': 1 }), {
      layer: 'unflattenTree',
      argument: 'entries["0.weight"]',
      got: 'nothing',
    })
    expectLayerError(unflattenTree(template, { '0.weight': zeros([2, 3]), '1.n': zeros([2]) }), {
      layer: 'unflattenTree',
      argument: 'entries["1.n"]',
      expected: 'a number',
    })
    expectLayerError(unflattenTree(template, { '0.weight': zeros([2, 3]), '1.n': 1, '2.bias': zeros([3]), x: 1 }), {
      layer: 'unflattenTree',
      argument: 'entries["2.bias"]',
      got: 'and 1 more',
    })
    expectLayerError(treeFromSafetensors(orThrow(toSafetensors({ '0.weight': zeros([2]) })), template), {
      layer: 'treeFromSafetensors',
      argument: 'entries["0.weight"]',
    })
  })
})
