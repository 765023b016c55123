// Leaderboard: metric × period (live periods and rolling windows), pages, CSV export, find a member.
import { h, mount, field } from '../dom.js';
import { get, guildPath, request } from '../api.js';
import { pageHeader, table, memberLink, emptyState, errorPanel, skeleton, tabs } from '../ui.js';
import { METRICS, LIVE_PERIODS, WINDOW_PERIODS, metricValue, num, metricName, periodName } from '../format.js';
import { href, navigate } from '../router.js';
import { loadNames, userName, fillNames } from '../names.js';

const PER_PAGE = 25;
const NAME_SCAN = 5000; // search: names are fetched for the board's first places only (500 per request)
const isWindow = p => !LIVE_PERIODS.some(([v]) => v === p);

export async function render(ctx) {
  const { guild, view, signal, query } = ctx;
  const metric = METRICS.some(([m]) => m === query.metric) ? query.metric : 'score';
  let period = query.period || 'all';
  if (metric === 'xp' && isWindow(period)) period = 'all';
  const page = Math.max(1, parseInt(query.page || '1', 10) || 1);
  const highlight = query.user || null;
  const go = changes => navigate(href(guild, 'leaderboard', null, { metric, period, page: 1, ...changes }));

  const periodSel = h('select', { id: 'lb-period', 'data-testid': 'lb-period', onchange: e => go({ period: e.target.value }) },
    h('optgroup', { label: 'Current period (live)' }, LIVE_PERIODS.map(([v, l]) => h('option', { value: v, selected: v === period }, l))),
    h('optgroup', { label: 'Rolling window (from the event store)' }, WINDOW_PERIODS.map(([v, l]) => h('option', { value: v, selected: v === period, disabled: metric === 'xp' }, l))));
  const csvHref = `${guildPath(guild, '/leaderboard')}?${new URLSearchParams({ metric, period, format: 'csv' })}`;
  const box = h('div', { class: 'panel' }, skeleton('row', 8));
  const search = searchBox(guild, metric, period);
  mount(view,
    pageHeader('Leaderboard', `${metricName(metric)} · ${periodName(period)}`,
      h('a', { class: 'btn', href: csvHref, download: `leaderboard-${metric}-${period}.csv`, 'data-testid': 'lb-csv' }, 'Export CSV')),
    h('section', { class: 'card section' },
      h('div', { class: 'filters' },
        h('div', { class: 'field' }, h('span', { class: 'muted small', id: 'lb-metric-label' }, 'Metric'),
          tabs(METRICS, metric, m => go({ metric: m, period: m === 'xp' && isWindow(period) ? 'all' : period }))),
        field('Period', periodSel)),
      metric === 'xp' ? h('p', { class: 'muted small' }, 'XP is ranked for the live periods only (rolling windows are computed from stored events, which carry no XP).') : null,
      box),
    search.el);

  try {
    const res = await request('GET', guildPath(guild, '/leaderboard'), { query: { metric, period, page, per_page: PER_PAGE }, signal, raw: true });
    const data = await res.json();
    const pages = Math.max(1, Math.ceil(data.total / PER_PAGE));
    const win = res.headers.get('X-Guildflow-Window-From');
    if (!data.entries.length) {
      mount(box, emptyState(page > 1 ? 'Past the last page' : 'Nobody on this board yet', page > 1 ? `The board has ${num(data.total)} members.` : 'No counted activity for this metric and period.'));
      return;
    }
    mount(box,
      table([
        { label: '#', cell: e => h('span', { class: `rank rank-${e.rank}` }, String(e.rank)) },
        { label: 'Member', cell: e => memberLink(guild, e.user_id) },
        { label: metricName(metric), class: 'num', cell: e => h('span', { 'data-value': String(e.value) }, metricValue(metric, e.value)) },
      ], data.entries, { caption: `${metricName(metric)} leaderboard, ${periodName(period)}`, testid: 'lb-table', rowClass: e => (e.user_id === highlight ? 'highlight' : null) }),
      h('nav', { class: 'pager', 'aria-label': 'Pages' },
        h('span', { class: 'muted small', 'data-testid': 'lb-total' }, `${num(data.total)} members ranked${win ? ` · window ${new Date(+win).toISOString().slice(0, 16).replace('T', ' ')} UTC → ${new Date(+res.headers.get('X-Guildflow-Window-To')).toISOString().slice(0, 16).replace('T', ' ')} UTC` : ''}`),
        h('div', { class: 'form-actions' },
          page > 1 ? h('a', { class: 'btn btn-small', href: href(guild, 'leaderboard', null, { metric, period, page: page - 1 }), rel: 'prev' }, '← Previous') : null,
          h('span', { class: 'small' }, `Page ${page} of ${pages}`),
          page < pages ? h('a', { class: 'btn btn-small', href: href(guild, 'leaderboard', null, { metric, period, page: page + 1 }), rel: 'next', 'data-testid': 'lb-next' }, 'Next →') : null)));
    fillNames(guild, box);
    if (highlight) box.querySelector('tr.highlight')?.scrollIntoView({ block: 'center' });
  } catch (err) {
    if (err.name === 'AbortError') return undefined;
    mount(box, err.code === 'unknown_guild' ? emptyState('No statistics yet', 'This server has no counted events yet.') : errorPanel(err, () => render(ctx)));
  }
  return undefined;
}

/** Finds members by (part of) their id or known name on the whole board and links to their page of it. */
function searchBox(guild, metric, period) {
  const out = h('div', { class: 'panel', 'aria-live': 'polite', 'data-testid': 'lb-search-results' });
  const input = h('input', { name: 'q', autocomplete: 'off', placeholder: 'name or id (or part of it)', 'data-testid': 'lb-search' });
  const form = h('form', { class: 'inline-form', role: 'search', onsubmit: async e => {
    e.preventDefault();
    const q = input.value.trim();
    if (!q) { mount(out, h('p', { class: 'muted' }, 'Type a member’s name or Discord id (or part of either).')); return; }
    mount(out, skeleton('row', 2));
    try {
      const { rows, partial } = await wholeBoard(guild, metric, period);
      // Names of the board's first NAME_SCAN members (batched, cached; ids only if the route fails).
      await loadNames(guild, { users: rows.slice(0, NAME_SCAN).map(r => r.user_id) });
      const needle = q.toLowerCase();
      const digits = /^[0-9]+$/.test(q);
      const hits = rows.filter(r => (digits && r.user_id.includes(q)) || (userName(guild, r.user_id) || '').toLowerCase().includes(needle)).slice(0, 20);
      mount(out, hits.length
        ? table([
          { label: '#', cell: r => h('span', { class: `rank rank-${r.rank}` }, String(r.rank)) },
          { label: 'Member', cell: r => memberLink(guild, r.user_id) },
          { label: metricName(metric), class: 'num', cell: r => metricValue(metric, r.value) },
          { label: '', cell: r => h('a', { href: href(guild, 'leaderboard', null, { metric, period, page: Math.ceil(r.rank / PER_PAGE), user: r.user_id }) }, `Show on page ${Math.ceil(r.rank / PER_PAGE)}`) },
        ], hits, { caption: 'Search results' })
        : emptyState('Not ranked', `No member whose ${digits ? 'id or name' : 'name'} contains “${q}” is on this board${partial ? ' (searched its first 500 places)' : rows.length > NAME_SCAN && !digits ? ` (names searched in its first ${NAME_SCAN} places)` : ''}. Members with a value of 0 are not listed.`));
      fillNames(guild, out);
    } catch (err) { mount(out, errorPanel(err)); }
  } },
  field('Find a member', input), h('button', { class: 'btn btn-primary', type: 'submit' }, 'Find rank'));
  return { el: h('section', { class: 'card section' }, h('h2', {}, 'Find a member’s rank'), form, out) };
}

async function wholeBoard(guild, metric, period) {
  if (!isWindow(period)) {
    // Live periods: the CSV export without page/per_page is the whole board.
    const text = await request('GET', guildPath(guild, '/leaderboard'), { query: { metric, period, format: 'csv' }, accept: 'text/csv' });
    return { rows: parseCsv(text), partial: false };
  }
  // Rolling windows are one page per request (store queries with a budget): the top 500 at most.
  const rows = [];
  for (let page = 1; page <= 5; page++) {
    const data = await get(guildPath(guild, '/leaderboard'), { metric, period, page, per_page: 100 });
    rows.push(...data.entries);
    if (rows.length >= data.total) return { rows, partial: false };
  }
  return { rows, partial: true };
}

function parseCsv(text) {
  return text.trim().split(/\r?\n/).slice(1).filter(Boolean).map(line => {
    const [rank, user_id, value] = line.split(',');
    return { rank: +rank, user_id, value: +value };
  });
}
