// Moderation: action log (filters, pages, CSV export, live entries) and warnings.
import { h, mount, field, select } from '../dom.js';
import { get, post, del, guildPath, explain } from '../api.js';
import { pageHeader, skeleton, errorPanel, emptyState, unavailablePanel, table, memberLink, toast, tabs } from '../ui.js';
import { dateTime, duration } from '../format.js';
import { onFrame } from '../live.js';
import { href, navigate } from '../router.js';
import { userLabel, fillNames } from '../names.js';

const toRfc3339 = v => (v ? new Date(v).toISOString() : '');

export async function render(ctx) {
  const { guild, view, query } = ctx;
  const tab = query.tab === 'warnings' ? 'warnings' : 'logs';
  const body = h('div', { class: 'panel' });
  mount(view,
    pageHeader('Moderation', 'What automod and moderators did, with the evidence.',
      tabs([['logs', 'Action log'], ['warnings', 'Warnings']], tab, t => navigate(href(guild, 'moderation', null, { ...query, tab: t })))),
    body);
  return tab === 'warnings' ? warnings(ctx, body) : logs(ctx, body);
}

function logs({ guild, query }, body) {
  const base = guildPath(guild, '/moderation/logs');
  const f = {
    user_id: h('input', { name: 'user_id', inputmode: 'numeric', value: query.user_id || '', placeholder: 'any' }),
    action: select([['', 'any'], ['delete_message', 'delete message'], 'warn', 'timeout', 'kick', 'ban'], query.action || ''),
    source: select([['', 'any'], ['automod', 'automod'], ['manual', 'manual']], query.source || ''),
    from: h('input', { type: 'datetime-local', value: query.from || '' }),
    to: h('input', { type: 'datetime-local', value: query.to || '' }),
  };
  const filters = () => ({ user_id: f.user_id.value.trim(), action: f.action.value, source: f.source.value, from: toRfc3339(f.from.value), to: toRfc3339(f.to.value) });
  const csv = h('a', { class: 'btn', 'data-testid': 'modlog-csv' }, 'Export CSV');
  const setCsv = () => {
    const p = new URLSearchParams(Object.entries({ ...filters(), format: 'csv' }).filter(([, v]) => v));
    csv.href = `${base}?${p}`;
    csv.download = 'moderation-log.csv';
  };
  const rowsBox = h('div', { class: 'panel', 'data-testid': 'modlog' }, skeleton('row', 5));
  const more = h('div', {});
  let entries = [];
  let cursor = null;

  const columns = [
    { label: 'When', cell: e => h('span', { class: 'small' }, dateTime(e.at)) },
    { label: 'Member', cell: e => (e.user_id ? memberLink(guild, e.user_id) : '—') },
    { label: 'Action', cell: e => h('span', { class: 'chip accent' }, String(e.action).replace(/_/g, ' '), e.seconds ? ` ${duration(e.seconds)}` : '') },
    { label: 'By', cell: e => (e.source === 'automod' ? h('span', {}, 'automod', e.rule_name ? h('span', { class: 'muted small' }, ` · ${e.rule_name}`) : '') : (e.moderator_id ? h('span', { class: 'small' }, userLabel(guild, e.moderator_id)) : h('span', { class: 'small' }, 'manual'))) },
    { label: 'Evidence / reason', class: 'wrap', cell: e => (e.evidence ? h('span', {}, e.evidence.detail || '', e.evidence.matched ? h('span', { class: 'muted' }, ` “${e.evidence.matched}”`) : '', e.evidence.content_excerpt ? h('div', { class: 'muted small mono' }, e.evidence.content_excerpt) : '') : e.reason || '—') },
    { label: 'Status', cell: e => h('span', { class: `chip ${e.status === 'done' ? 'ok' : e.status === 'failed' ? 'bad' : ''}`, title: e.error || (e.attempts ? `${e.attempts} attempt(s)` : '') }, e.status || '—', e.error ? ` · ${e.error}` : '') },
  ];
  const draw = () => {
    mount(rowsBox, entries.length ? table(columns, entries, { caption: 'Moderation log', testid: 'modlog-table' }) : emptyState('No moderation action', 'Nothing matches these filters yet. Automod actions appear here as they happen.'));
    mount(more, cursor ? h('button', { type: 'button', class: 'btn', onclick: () => load(true) }, 'Load more') : null);
    fillNames(guild, rowsBox);
  };
  const load = async append => {
    if (!append) { entries = []; cursor = null; mount(rowsBox, skeleton('row', 5)); }
    try {
      const res = await get(base, { ...filters(), limit: 50, cursor: append ? cursor : undefined });
      entries = append ? entries.concat(res.entries) : res.entries;
      cursor = res.next_cursor || null;
      draw();
    } catch (err) {
      mount(rowsBox, err.unavailable ? unavailablePanel('The moderation log', `GET ${base}`, err) : errorPanel(err, () => load(false)));
      csv.hidden = true;
    }
  };
  const form = h('form', { class: 'filters', onsubmit: e => { e.preventDefault(); setCsv(); load(false); } },
    field('Member id', f.user_id), field('Action', f.action), field('Source', f.source), field('From', f.from), field('To', f.to),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Apply'), csv);
  mount(body, h('section', { class: 'card section' }, form, rowsBox, more));
  setCsv();
  load(false);
  // New entries over the websocket (only when no filter is set, so the list stays true to it).
  return onFrame(guild, frame => {
    if (frame.type !== 'moderation' || !frame.entry) return;
    const fl = filters();
    if (Object.values(fl).some(Boolean)) return;
    entries.unshift(frame.entry);
    draw();
  });
}

function warnings({ guild, query }, body) {
  const base = guildPath(guild, '/warnings');
  const user = h('input', { inputmode: 'numeric', required: true, value: query.user_id || '', 'data-testid': 'warn-user' });
  const reason = h('input', { required: true, maxlength: 500, 'data-testid': 'warn-reason' });
  const filterUser = h('input', { inputmode: 'numeric', value: query.user_id || '', placeholder: 'any member' });
  const list = h('div', { class: 'panel', 'data-testid': 'warnings' }, skeleton('row', 4));
  const more = h('div', {});
  let items = [], cursor = null;
  const draw = () => {
    mount(list, items.length ? table([
      { label: 'When', cell: w => h('span', { class: 'small' }, dateTime(w.created_at)) },
      { label: 'Member', cell: w => memberLink(guild, w.user_id) },
      { label: 'Reason', class: 'wrap', cell: w => w.reason },
      { label: 'By', cell: w => (w.moderator_id ? h('span', { class: 'small' }, userLabel(guild, w.moderator_id)) : h('span', { class: 'small' }, 'automod')) },
      { label: '', cell: w => h('button', { type: 'button', class: 'btn btn-small btn-danger', onclick: async () => {
        if (!confirm('Remove this warning?')) return;
        try { await del(`${base}/${encodeURIComponent(w.id)}`); items = items.filter(x => x !== w); draw(); toast('Warning removed', 'ok'); } catch (err) { toast(explain(err), 'error'); }
      } }, 'Remove') },
    ], items, { caption: 'Warnings' }) : emptyState('No warning', 'Warnings given by moderators or automod appear here.'));
    mount(more, cursor ? h('button', { type: 'button', class: 'btn', onclick: () => load(true) }, 'Load more') : null);
    fillNames(guild, list);
  };
  const load = async append => {
    if (!append) { items = []; cursor = null; mount(list, skeleton('row', 4)); }
    try {
      const res = await get(base, { user_id: filterUser.value.trim(), limit: 50, cursor: append ? cursor : undefined });
      items = append ? items.concat(res.warnings) : res.warnings;
      cursor = res.next_cursor || null;
      draw();
    } catch (err) {
      mount(list, err.unavailable ? unavailablePanel('Warnings', `GET ${base}`, err) : errorPanel(err, () => load(false)));
    }
  };
  const msg = h('div', { 'aria-live': 'polite' });
  mount(body,
    h('section', { class: 'card section' }, h('h2', {}, 'Warn a member'),
      h('form', { class: 'filters', onsubmit: async e => {
        e.preventDefault();
        try {
          const w = await post(base, { user_id: user.value.trim(), reason: reason.value.trim() });
          items.unshift(w); draw(); reason.value = ''; msg.replaceChildren(); toast('Warning recorded', 'ok');
        } catch (err) { mount(msg, err.unavailable ? unavailablePanel('Warnings', `POST ${base}`, err) : errorPanel(err)); }
      } }, field('Member id', user), field('Reason', reason), h('button', { type: 'submit', class: 'btn btn-primary' }, 'Warn')), msg),
    h('section', { class: 'card section' },
      h('form', { class: 'filters', onsubmit: e => { e.preventDefault(); load(false); } }, field('Filter by member id', filterUser), h('button', { type: 'submit', class: 'btn' }, 'Filter')),
      list, more));
  load(false);
  return undefined;
}
