// SQL console: one read-only query over the guild's stored events, table + chart of a numeric column.
import { h, mount, field, select } from '../dom.js';
import { post, request, guildPath } from '../api.js';
import { pageHeader, table, errorPanel, emptyState, skeleton, toast } from '../ui.js';
import { columnChart } from '../charts.js';
import { num, short } from '../format.js';

const EXAMPLES = [
  ['Messages per day', `SELECT date_trunc('day', ts) AS day, count(DISTINCT message_id) AS messages
FROM events
WHERE kind = 'message_create' AND NOT bot
GROUP BY 1 ORDER BY 1`],
  ['Top posters', `SELECT user_id, count(DISTINCT message_id) AS messages
FROM events
WHERE kind = 'message_create' AND NOT bot
GROUP BY user_id ORDER BY messages DESC LIMIT 10`],
  ['Busiest hours (UTC)', `SELECT extract(hour FROM ts) AS hour, count(*) AS events
FROM events
WHERE kind = 'message_create'
GROUP BY 1 ORDER BY 1`],
  ['Voice time per member', `SELECT user_id, sum(seconds) AS voice_seconds, count(*) AS sessions
FROM voice_sessions
GROUP BY user_id ORDER BY voice_seconds DESC LIMIT 10`],
  ['Daily activity', `SELECT * FROM daily_activity ORDER BY 1 DESC LIMIT 30`],
  ['Event kinds', `SELECT kind, count(*) AS n FROM events GROUP BY kind ORDER BY n DESC`],
];

const MAX_SHOWN = 500;

export async function render({ guild, view }) {
  const key = `gf-sql-${guild}`;
  const input = h('textarea', { class: 'sql-input', spellcheck: 'false', 'data-testid': 'sql-input', rows: 8, 'aria-describedby': 'sql-help' });
  input.value = sessionStorage.getItem(key) || EXAMPLES[1][1];
  const out = h('div', { class: 'panel', 'aria-live': 'polite', 'data-testid': 'sql-output' },
    emptyState('Run a query', 'Results appear here. Ctrl+Enter runs the query.'));
  const runBtn = h('button', { class: 'btn btn-primary', type: 'submit', 'data-testid': 'sql-run' }, 'Run query');

  const run = async () => {
    const sql = input.value.trim();
    if (!sql) return;
    sessionStorage.setItem(key, sql);
    runBtn.disabled = true;
    mount(out, skeleton('row', 4));
    const t0 = performance.now();
    try {
      const res = await post(guildPath(guild, '/sql'), { sql });
      showResult(out, res, performance.now() - t0);
    } catch (err) {
      mount(out, errorPanel(err));
    } finally { runBtn.disabled = false; }
  };
  const downloadCsv = async () => {
    try {
      const res = await request('POST', guildPath(guild, '/sql'), { body: { sql: input.value.trim() }, accept: 'text/csv', raw: true });
      const url = URL.createObjectURL(await res.blob());
      const a = h('a', { href: url, download: 'query.csv' });
      document.body.append(a); a.click(); a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (err) { toast(err.message, 'error'); }
  };
  input.addEventListener('keydown', e => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); run(); } });

  mount(view,
    pageHeader('SQL console', 'Ask anything of this server’s stored events: one read-only statement, at most 10,000 rows, 10 s.'),
    h('section', { class: 'card section' },
      h('div', { class: 'examples', role: 'group', 'aria-label': 'Example queries' },
        h('span', { class: 'muted small' }, 'Examples:'),
        EXAMPLES.map(([label, sql]) => h('button', { type: 'button', class: 'btn btn-small', onclick: () => { input.value = sql; input.focus(); } }, label))),
      h('form', { class: 'panel', onsubmit: e => { e.preventDefault(); run(); } },
        field('Query', input),
        h('p', { class: 'muted small', id: 'sql-help' }, 'Tables: events (ts, channel_id, user_id, kind, message_id, bot, frame), voice_sessions, voice_days, daily_activity. Times are UTC.'),
        h('div', { class: 'form-actions' }, runBtn,
          h('button', { type: 'button', class: 'btn', onclick: downloadCsv }, 'Download CSV')))),
    h('section', { class: 'card section' }, h('h2', {}, 'Result'), out));
  return undefined;
}

function showResult(out, res, ms) {
  const { columns, rows, truncated } = res;
  if (!rows.length) {
    mount(out, h('p', { class: 'muted', 'data-testid': 'sql-meta' }, `No rows · ${Math.round(ms)} ms`), emptyState('The query returned no rows', null));
    return;
  }
  const numeric = columns.map((c, i) => rows.every(r => r[i] === null || typeof r[i] === 'number' || (typeof r[i] === 'string' && /^-?\d+(\.\d+)?$/.test(r[i]) && r[i].length < 16)) && rows.some(r => r[i] !== null));
  const shown = rows.slice(0, MAX_SHOWN);
  const tbl = table(columns.map((c, i) => ({
    label: c, class: numeric[i] ? 'num' : 'wrap',
    cell: r => (r[i] === null ? h('span', { class: 'muted' }, 'NULL') : typeof r[i] === 'object' ? JSON.stringify(r[i]) : String(r[i])),
  })), shown, { caption: 'Query result', testid: 'sql-table' });

  const chartBox = h('div', {});
  const yCols = columns.map((c, i) => [i, c]).filter(([i]) => numeric[i]);
  let chartUi = null;
  if (yCols.length && rows.length > 1) {
    const xCols = columns.map((c, i) => [i, c]);
    const firstNonY = xCols.find(([i]) => !numeric[i] || i !== yCols[yCols.length - 1][0]);
    const xSel = select(xCols, firstNonY ? firstNonY[0] : 0, { 'data-testid': 'sql-x' });
    const ySel = select(yCols, yCols[yCols.length - 1][0], { 'data-testid': 'sql-y' });
    const draw = () => {
      const xi = +xSel.value, yi = +ySel.value;
      const pts = rows.slice(0, 60).map(r => ({ label: fmtLabel(r[xi]), value: Number(r[yi]) || 0 }));
      mount(chartBox, columnChart(pts, { fmt: (v, axis) => (axis ? short(v) : num(v)), tone: 'c1', label: `${columns[yi]} by ${columns[xi]}`, kind: pts.length > 24 ? 'area' : 'bar' }),
        rows.length > 60 ? h('p', { class: 'muted small' }, 'The chart shows the first 60 rows.') : null);
    };
    xSel.addEventListener('change', draw);
    ySel.addEventListener('change', draw);
    chartUi = h('div', { class: 'panel' }, h('div', { class: 'filters' }, field('Label column', xSel), field('Value column', ySel)), chartBox);
    draw();
  }
  mount(out,
    h('p', { class: 'muted small', 'data-testid': 'sql-meta' }, `${num(rows.length)} row${rows.length === 1 ? '' : 's'}${truncated ? ' (truncated by the server)' : ''} · ${Math.round(ms)} ms${rows.length > MAX_SHOWN ? ` · showing the first ${MAX_SHOWN}` : ''}`),
    chartUi, tbl);
}

function fmtLabel(v) {
  if (v === null) return 'NULL';
  const s = String(v);
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(s);
  if (m) return m[2] === '00:00' ? m[1].slice(5) : `${m[1].slice(5)} ${m[2]}`;
  if (/^\d{13,}$/.test(s)) return `…${s.slice(-6)}`; // ids: their end differs
  return s.length > 14 ? `${s.slice(0, 13)}…` : s;
}
