/** A small hand-written SVG line chart (no chart library): panels side by side, one line per series. */

export interface Series { name: string, points: Array<{ x: number, y: number }>, dashed?: boolean, color?: string }
export interface Panel { title: string, yLabel: string, series: Series[], format: (y: number) => string }

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf']

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** a "nice" upper bound and step for an axis from 0 to max */
function niceScale (max: number): { top: number, step: number } {
  if (!(max > 0)) return { top: 1, step: 0.25 }
  const raw = max / 4
  const mag = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 2.5, 5, 10].map(m => m * mag).find(s => s >= raw) ?? 10 * mag
  return { top: Math.ceil(max / step) * step, step }
}

export { COLORS }

export function lineChart (opts: { title: string, xLabel: string, xs: number[], panels: Panel[], note?: string }): string {
  const pw = 440
  const ph = 300
  const m = { l: 78, r: 16, t: 40, b: 48 }
  const legendH = 20 * Math.max(...opts.panels.map(p => p.series.length)) + 10
  const width = opts.panels.length * (pw + m.l + m.r)
  const height = ph + m.t + m.b + legendH + 40 + (opts.note == null ? 0 : 20)
  const out: string[] = []
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`)
  out.push(`<rect width="100%" height="100%" fill="white"/>`)
  out.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="16" font-weight="bold">${esc(opts.title)}</text>`)
  const xs = [...opts.xs].sort((a, b) => a - b)
  // x positions: log2 spacing when the values double (2, 4, 8), linear otherwise
  const log = xs.every(x => x > 0)
  const fx = (x: number): number => log ? Math.log2(x) : x
  const x0 = fx(xs[0] ?? 0)
  const x1 = fx(xs[xs.length - 1] ?? 1)
  opts.panels.forEach((p, pi) => {
    const ox = pi * (pw + m.l + m.r) + m.l
    const oy = 40 + m.t
    const maxY = Math.max(...p.series.flatMap(s => s.points.map(q => q.y)), 0)
    const { top, step } = niceScale(maxY * 1.05)
    const px = (x: number): number => ox + (x1 === x0 ? pw / 2 : (fx(x) - x0) / (x1 - x0) * (pw - 40) + 20)
    const py = (y: number): number => oy + ph - (y / top) * ph
    out.push(`<text x="${ox + pw / 2}" y="${oy - 12}" text-anchor="middle" font-size="13" font-weight="bold">${esc(p.title)}</text>`)
    out.push(`<rect x="${ox}" y="${oy}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`)
    for (let y = 0; y <= top + step / 2; y += step) {
      out.push(`<line x1="${ox}" x2="${ox + pw}" y1="${py(y)}" y2="${py(y)}" stroke="#e5e5e5"/>`)
      out.push(`<text x="${ox - 6}" y="${py(y) + 4}" text-anchor="end">${esc(p.format(y))}</text>`)
    }
    for (const x of xs) {
      out.push(`<line x1="${px(x)}" x2="${px(x)}" y1="${oy + ph}" y2="${oy + ph + 5}" stroke="#999"/>`)
      out.push(`<text x="${px(x)}" y="${oy + ph + 18}" text-anchor="middle">${x}</text>`)
    }
    out.push(`<text x="${ox + pw / 2}" y="${oy + ph + 36}" text-anchor="middle">${esc(opts.xLabel)}</text>`)
    out.push(`<text transform="translate(${ox - 62},${oy + ph / 2}) rotate(-90)" text-anchor="middle">${esc(p.yLabel)}</text>`)
    p.series.forEach((s, si) => {
      const color = s.color ?? COLORS[si % COLORS.length] ?? '#000'
      const pts = [...s.points].sort((a, b) => a.x - b.x)
      out.push(`<polyline fill="none" stroke="${color}" stroke-width="2.5"${s.dashed === true ? ' stroke-dasharray="7,4"' : ''} points="${pts.map(q => `${px(q.x).toFixed(1)},${py(q.y).toFixed(1)}`).join(' ')}"/>`)
      for (const q of pts) out.push(`<circle cx="${px(q.x).toFixed(1)}" cy="${py(q.y).toFixed(1)}" r="3.5" fill="${color}"/>`)
      const ly = oy + ph + m.b + 10 + si * 20
      out.push(`<line x1="${ox}" x2="${ox + 26}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2.5"${s.dashed === true ? ' stroke-dasharray="7,4"' : ''}/>`)
      out.push(`<text x="${ox + 32}" y="${ly + 4}">${esc(s.name)}</text>`)
    })
  })
  if (opts.note != null) out.push(`<text x="10" y="${height - 8}" font-size="11" fill="#555">${esc(opts.note)}</text>`)
  out.push('</svg>')
  return out.join('\n')
}
