/**
 * The GPU rows in a browser (`npx tsx bench/gpu.ts --browser`): runs {@link runGpuBench} with
 * the options in the page's query (`quick`, `only`) and publishes the result on
 * `window.__gpuBench`. With `post` in the query it also POSTs the result to `/result`, for
 * bench/gpu-page/collect.py on machines where no Node drives the browser; with `probe` it only
 * reports the WebGL2 renderer; with `pack` the resident rows pack their textures.
 */
import { type GpuBenchResult, runGpuBench } from '../gpuRows.js'

declare global {
  interface Window {
    __gpuBench?: GpuBenchResult | { readonly error: string }
  }
}

const query = new URLSearchParams(location.search)
const gl = document.createElement('canvas').getContext('webgl2')
const debug = gl?.getExtension('WEBGL_debug_renderer_info')
const renderer = gl?.getParameter(debug ? debug.UNMASKED_RENDERER_WEBGL : gl.RENDERER) as string | undefined

const where = `${navigator.userAgent.replace(/.*(Chrome\/[\d.]+).*/, '$1')} WebGL2 (${renderer ?? 'none'})`

const publish = (r: GpuBenchResult | { readonly error: string }): void => {
  window.__gpuBench = r
  if (query.has('post')) void fetch('/result', { method: 'POST', body: JSON.stringify(r) })
}

if (query.has('probe')) publish({ quick: true, where, requested: 'probe', mode: 'probe', rows: [], scans: [], calls: [] })
else
  runGpuBench({
    quick: query.has('quick'),
    only: query.get('only')?.split(','),
    where,
    packTextures: query.has('pack'),
  }).then(publish, (e: unknown) => publish({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) }))
