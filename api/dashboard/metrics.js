// Prometheus text format 0.0.4 → [{name, labels, value}] (what /health page needs).

export function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    if (m[3]) for (const l of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, '$1');
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

export const pick = (ms, name, labels = {}) => ms.filter(m => m.name === name && Object.entries(labels).every(([k, v]) => m.labels[k] === v));
export const one = (ms, name, labels) => pick(ms, name, labels)[0]?.value ?? null;
export const total = (ms, name) => pick(ms, name).reduce((a, m) => a + m.value, 0);
