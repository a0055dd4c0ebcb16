/**
 * The GPU rows in a browser (`npx tsx bench/gpu.ts --browser`): runs {@link runGpuBench} with
 * the options in the page's query (`quick`, `only`) and publishes the result on
 * `window.__gpuBench`.
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

runGpuBench({
  quick: query.has('quick'),
  only: query.get('only')?.split(','),
  where: `${navigator.userAgent.replace(/.*(Chrome\/[\d.]+).*/, '$1')} WebGL2 (${renderer ?? 'none'})`,
}).then(
  (r) => {
    window.__gpuBench = r
  },
  (e: unknown) => {
    window.__gpuBench = { error: e instanceof Error ? (e.stack ?? e.message) : String(e) }
  },
)
