// Number, duration, date and id formatting.

const nf = new Intl.NumberFormat('en');
const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 });

export const num = n => (n === null || n === undefined || Number.isNaN(n) ? '—' : nf.format(n));
export const short = n => (n === null || n === undefined ? '—' : Math.abs(n) >= 10000 ? compact.format(n) : nf.format(Math.round(n * 10) / 10));

/** 10121 → "2 h 48 m"; 59 → "59 s". */
export function duration(sec) {
  if (sec === null || sec === undefined) return '—';
  sec = Math.round(sec);
  if (sec < 60) return `${sec} s`;
  const d = Math.floor(sec / 86400), hh = Math.floor((sec % 86400) / 3600), m = Math.floor((sec % 3600) / 60);
  if (d) return `${d} d ${hh} h`;
  if (hh) return `${hh} h ${m} m`;
  return sec % 60 ? `${m} m ${sec % 60} s` : `${m} m`;
}

/** Value of a metric for display: voice is seconds. */
/** Axis label of a duration: 2h, 45m, 30s. */
export function durationAxis(sec) {
  if (sec >= 3600) return `${Math.round((sec / 3600) * 10) / 10}h`;
  if (sec >= 60) return `${Math.round(sec / 60)}m`;
  return `${Math.round(sec)}s`;
}

export function metricValue(metric, v) {
  return metric === 'voice' || metric === 'voice_seconds' ? duration(v) : num(v);
}

export function pct(a, b) {
  if (!b) return null;
  return ((a - b) / b) * 100;
}

export function dateTime(v) {
  if (v === null || v === undefined || v === '') return '—';
  const d = typeof v === 'number' ? new Date(v) : new Date(v);
  if (Number.isNaN(d.getTime())) return String(v);
  return d.toLocaleString('en-GB', { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZone: 'UTC' }) + ' UTC';
}

export function shortDate(iso) {
  const d = new Date(`${iso}T00:00:00Z`);
  return d.toLocaleDateString('en-GB', { day: 'numeric', month: 'short', timeZone: 'UTC' });
}

/** Ids are strings; shows the full id (members have no names in the API). */
export const idLabel = id => (id ? String(id) : '—');

/** A stable hue for an id, for avatars. */
export function hue(id) {
  let x = 0;
  for (const c of String(id)) x = (x * 31 + c.charCodeAt(0)) % 360;
  return x;
}

export const METRICS = [['score', 'Score'], ['messages', 'Messages'], ['voice', 'Voice time'], ['reactions', 'Reactions'], ['xp', 'XP']];
export const LIVE_PERIODS = [['day', 'Today'], ['week', 'This week'], ['month', 'This month'], ['all', 'All time']];
export const WINDOW_PERIODS = [['24h', 'Last 24 hours'], ['7d', 'Last 7 days'], ['30d', 'Last 30 days'], ['3m', 'Last 3 months'], ['12m', 'Last 12 months']];
export const metricName = m => (METRICS.find(x => x[0] === m) || [m, m])[1];
export const periodName = p => ([...LIVE_PERIODS, ...WINDOW_PERIODS].find(x => x[0] === p) || [p, p])[1];
