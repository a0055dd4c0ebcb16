/**
 * Hand-written SVG: grey-level images and line charts, enough for the demos' pictures and no
 * plotting dependency.
 *
 * @module
 */

/** A positioned piece of SVG. */
export type Svg = string

const fmt = (v: number): string => (Number.isInteger(v) ? String(v) : v.toFixed(2))

/** Escapes text for SVG content. */
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** Text at (x, y). */
export const text = (
  x: number,
  y: number,
  s: string,
  opts: { size?: number; anchor?: string; weight?: string } = {},
): Svg =>
  `<text x="${fmt(x)}" y="${fmt(y)}" font-size="${opts.size ?? 12}" text-anchor="${opts.anchor ?? 'start'}"` +
  `${opts.weight ? ` font-weight="${opts.weight}"` : ''} font-family="sans-serif">${esc(s)}</text>`

/**
 * A `width x height` image of values in [0, 1] (row-major, 1 = white on black) at (x, y), each
 * pixel `scale` units wide. Values are quantized to 16 grey levels and equal neighbours on a
 * row merged into one rectangle, which keeps the file small.
 */
export const image = (
  values: ArrayLike<number>,
  width: number,
  height: number,
  x: number,
  y: number,
  scale: number,
): Svg => {
  const parts = [`<rect x="${fmt(x)}" y="${fmt(y)}" width="${fmt(width * scale)}" height="${fmt(height * scale)}" fill="#000"/>`]
  const level = (v: number): number => Math.max(0, Math.min(15, Math.round(v * 15)))
  for (let r = 0; r < height; r++) {
    let c = 0
    while (c < width) {
      const l = level(values[r * width + c])
      let end = c + 1
      while (end < width && level(values[r * width + end]) === l) end++
      if (l > 0) {
        const grey = Math.round((l / 15) * 255)
        parts.push(
          `<rect x="${fmt(x + c * scale)}" y="${fmt(y + r * scale)}" width="${fmt((end - c) * scale)}" height="${fmt(scale)}" fill="rgb(${grey},${grey},${grey})"/>`,
        )
      }
      c = end
    }
  }
  return parts.join('')
}

/** One line of a chart. */
export interface Series {
  readonly label: string
  readonly color: string
  readonly points: readonly (readonly [number, number])[]
}

/** Chart placement, axis ranges and labels. */
export interface ChartOptions {
  readonly x: number
  readonly y: number
  readonly width: number
  readonly height: number
  readonly title: string
  readonly xLabel: string
  readonly yLabel: string
  readonly xRange: readonly [number, number]
  readonly yRange: readonly [number, number]
  /** Log-2 x axis (for T = 8, 16, ..., 256). */
  readonly log2X?: boolean
  readonly xTicks: readonly number[]
  readonly yTicks: readonly number[]
}

/** A line chart with axes, ticks, a title and a legend. */
export const lineChart = (series: readonly Series[], o: ChartOptions): Svg => {
  const tx = (v: number): number => (o.log2X ? Math.log2(v) : v)
  const [x0, x1] = [tx(o.xRange[0]), tx(o.xRange[1])]
  const px = (v: number): number => o.x + ((tx(v) - x0) / (x1 - x0 || 1)) * o.width
  const py = (v: number): number => o.y + o.height - ((v - o.yRange[0]) / (o.yRange[1] - o.yRange[0] || 1)) * o.height
  const parts: string[] = [
    text(o.x + o.width / 2, o.y - 12, o.title, { size: 14, anchor: 'middle', weight: 'bold' }),
    `<rect x="${fmt(o.x)}" y="${fmt(o.y)}" width="${fmt(o.width)}" height="${fmt(o.height)}" fill="none" stroke="#444"/>`,
  ]
  for (const t of o.xTicks) {
    parts.push(`<line x1="${fmt(px(t))}" y1="${fmt(o.y + o.height)}" x2="${fmt(px(t))}" y2="${fmt(o.y + o.height + 4)}" stroke="#444"/>`)
    parts.push(text(px(t), o.y + o.height + 16, String(t), { size: 10, anchor: 'middle' }))
  }
  for (const t of o.yTicks) {
    parts.push(`<line x1="${fmt(o.x)}" y1="${fmt(py(t))}" x2="${fmt(o.x + o.width)}" y2="${fmt(py(t))}" stroke="#ddd"/>`)
    parts.push(text(o.x - 6, py(t) + 3, String(t), { size: 10, anchor: 'end' }))
  }
  parts.push(text(o.x + o.width / 2, o.y + o.height + 32, o.xLabel, { size: 11, anchor: 'middle' }))
  parts.push(
    `<text transform="translate(${fmt(o.x - 40)},${fmt(o.y + o.height / 2)}) rotate(-90)" font-size="11" text-anchor="middle" font-family="sans-serif">${esc(o.yLabel)}</text>`,
  )
  series.forEach((s, i) => {
    const d = s.points.map(([a, b], j) => `${j === 0 ? 'M' : 'L'}${fmt(px(a))},${fmt(py(b))}`).join(' ')
    parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`)
    for (const [a, b] of s.points) parts.push(`<circle cx="${fmt(px(a))}" cy="${fmt(py(b))}" r="2.5" fill="${s.color}"/>`)
    const ly = o.y + 14 + i * 16
    parts.push(`<line x1="${fmt(o.x + o.width - 150)}" y1="${fmt(ly - 4)}" x2="${fmt(o.x + o.width - 130)}" y2="${fmt(ly - 4)}" stroke="${s.color}" stroke-width="2"/>`)
    parts.push(text(o.x + o.width - 125, ly, s.label, { size: 11 }))
  })
  return parts.join('\n')
}

/** A complete SVG document of the given size. */
export const document = (width: number, height: number, body: readonly Svg[]): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">\n` +
  `<rect width="100%" height="100%" fill="#fff"/>\n${body.join('\n')}\n</svg>\n`
