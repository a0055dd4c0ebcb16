/**
 * Layers that the in-repo fixture sets hold and braincog-fn does not implement yet. A case of one
 * of these is counted as skipped, with the reason; a layer that is neither here nor registered in
 * `adapters/index.ts` (as a layer or an optimizer) fails the case (unknown layer). Registering an
 * adapter under one of these names is what brings its cases in: the adapter wins, and
 * `runner.test.ts` then asks for the name to be struck from this list.
 */
export const pendingLayers: ReadonlyMap<string, string> = new Map<string, string>([
  // every layer of the in-repo sets is supported
])
