// Hand-drawn SVG charts (no library): bar/area time series, sparklines, horizontal bar lists.
// Charts are drawn at the container's pixel width and redrawn when it changes.
import { h, s } from './dom.js';

function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** Keeps a chart drawn at the box's width. draw(width) returns an SVG. */
function responsive(box, draw) {
  let last = 0;
  const render = () => {
    const w = Math.max(240, Math.floor(box.clientWidth || 600));
    if (w === last) return;
    last = w;
    box.replaceChildren(draw(w));
  };
  const ro = new ResizeObserver(render);
  ro.observe(box);
  requestAnimationFrame(render);
  return box;
}

/**
 * Column chart of a daily series.
 * points: [{label, value, title}]; opts: {height, fmt (axis/tooltip), kind: 'bar'|'area', tone, label}
 */
export function columnChart(points, opts = {}) {
  const { height = 200, fmt = String, kind = 'bar', tone = 'c1', label = 'chart' } = opts;
  const box = h('div', { class: 'chart', role: 'img', 'aria-label': `${label}: ${points.map(p => `${p.label} ${fmt(p.value)}`).join(', ')}` });
  return responsive(box, width => {
    const padL = 44, padR = 8, padT = 10, padB = 24;
    const iw = width - padL - padR, ih = height - padT - padB;
    const max = niceMax(Math.max(0, ...points.map(p => p.value)));
    const svg = s('svg', { width, height, viewBox: `0 0 ${width} ${height}`, class: `chart-svg tone-${tone}`, 'aria-hidden': 'true', focusable: 'false' });
    for (let i = 0; i <= 4; i++) {
      const y = padT + ih - (ih * i) / 4;
      svg.append(s('line', { x1: padL, x2: width - padR, y1: y, y2: y, class: 'grid' }));
      svg.append(s('text', { x: padL - 6, y: y + 4, class: 'axis', 'text-anchor': 'end' }, fmt((max * i) / 4, true)));
    }
    const n = points.length || 1, step = iw / n;
    const every = Math.ceil(n / Math.max(2, Math.floor(iw / 56)));
    if (kind === 'area') {
      const xy = points.map((p, i) => [padL + step * (i + 0.5), padT + ih - (ih * p.value) / max]);
      if (xy.length) {
        const line = xy.map(([x, y], i) => `${i ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`).join('');
        svg.append(s('path', { d: `${line}L${xy[xy.length - 1][0]},${padT + ih}L${xy[0][0]},${padT + ih}Z`, class: 'area' }));
        svg.append(s('path', { d: line, class: 'line' }));
      }
    }
    points.forEach((p, i) => {
      const x = padL + step * i;
      const bh = (ih * p.value) / max;
      if (kind === 'bar') {
        const bw = Math.max(2, step * 0.7);
        svg.append(s('rect', { x: x + (step - bw) / 2, y: padT + ih - bh, width: bw, height: Math.max(bh, p.value > 0 ? 1 : 0), rx: Math.min(4, bw / 3), class: 'bar' },
          s('title', {}, p.title || `${p.label}: ${fmt(p.value)}`)));
      } else {
        svg.append(s('circle', { cx: x + step / 2, cy: padT + ih - bh, r: 2.5, class: 'dot' }, s('title', {}, p.title || `${p.label}: ${fmt(p.value)}`)));
      }
      if ((n - 1 - i) % every === 0) {
        svg.append(s('text', { x: x + step / 2, y: height - 6, class: 'axis', 'text-anchor': 'middle' }, p.label));
      }
    });
    return svg;
  });
}

/** A small line without axes, e.g. events/s over the last minutes. */
export function sparkline(values, { height = 44, tone = 'c1', label = 'trend' } = {}) {
  const box = h('div', { class: 'spark', role: 'img', 'aria-label': `${label}: ${values.slice(-1)[0] ?? 'no data'}` });
  return responsive(box, width => {
    const svg = s('svg', { width, height, viewBox: `0 0 ${width} ${height}`, class: `chart-svg tone-${tone}`, 'aria-hidden': 'true' });
    if (values.length < 2) return svg;
    const max = Math.max(1, ...values), step = width / (values.length - 1);
    const pts = values.map((v, i) => `${(i * step).toFixed(1)},${(height - 3 - ((height - 6) * v) / max).toFixed(1)}`);
    svg.append(s('path', { d: `M${pts.join('L')}L${width},${height}L0,${height}Z`, class: 'area' }));
    svg.append(s('path', { d: `M${pts.join('L')}`, class: 'line' }));
    return svg;
  });
}

/** Horizontal bars: [{label (Node|string), value, display}] */
export function barList(items, { tone = 'c1', testid } = {}) {
  const max = Math.max(1, ...items.map(i => i.value));
  return h('ol', { class: `barlist tone-${tone}`, 'data-testid': testid || null }, items.map(it => {
    const fill = h('span', { class: 'barlist-fill', 'aria-hidden': 'true' });
    fill.style.width = `${Math.max(2, (100 * it.value) / max)}%`;
    return h('li', { class: 'barlist-item' }, fill,
      h('span', { class: 'barlist-label' }, it.label),
      h('span', { class: 'barlist-value' }, it.display ?? String(it.value)));
  }));
}

/** A ring gauge (e.g. level progress), 0..1. */
export function ring(fraction, text, { size = 96, tone = 'c1' } = {}) {
  const r = size / 2 - 8, c = 2 * Math.PI * r, f = Math.max(0, Math.min(1, fraction || 0));
  return s('svg', { width: size, height: size, viewBox: `0 0 ${size} ${size}`, class: `ring tone-${tone}`, role: 'img', 'aria-label': `${Math.round(f * 100)}%` },
    s('circle', { cx: size / 2, cy: size / 2, r, class: 'ring-bg' }),
    s('circle', { cx: size / 2, cy: size / 2, r, class: 'ring-fg', 'stroke-dasharray': `${(c * f).toFixed(2)} ${c.toFixed(2)}`, transform: `rotate(-90 ${size / 2} ${size / 2})` }),
    s('text', { x: size / 2, y: size / 2 + 6, 'text-anchor': 'middle', class: 'ring-text' }, text));
}
