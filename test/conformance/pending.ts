/**
 * Layers that the in-repo fixture sets hold and braincog-fn does not implement yet. A case of one
 * of these is counted as skipped, with the reason; a layer that is neither here nor registered in
 * `adapters/index.ts` fails the case (unknown layer). Registering an adapter under one of these
 * names is what brings its cases in: the adapter wins, and `runner.test.ts` then asks for the
 * name to be struck from this list.
 */
export const pendingLayers: ReadonlyMap<string, string> = new Map([
  ['SGD', 'torch.optim.SGD (torch-nn)'],
  ['Adam', 'torch.optim.Adam (torch-nn)'],
  ['AdamW', 'torch.optim.AdamW (torch-nn)'],
])
