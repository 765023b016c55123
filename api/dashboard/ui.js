// Shared UI pieces: skeletons, empty/error/unavailable states, stat cards, tables, toasts.
import { h } from './dom.js';
import { explain } from './api.js';
import { hue } from './format.js';
import { href } from './router.js';
import { userLabel } from './names.js';

export function pageHeader(title, subtitle, ...actions) {
  return h('header', { class: 'page-head' },
    h('div', {}, h('h1', { tabindex: '-1', class: 'page-title' }, title), subtitle ? h('p', { class: 'muted' }, subtitle) : null),
    actions.length ? h('div', { class: 'page-actions' }, actions) : null);
}

export function skeleton(kind = 'block', n = 1) {
  const cls = { card: 'skel skel-card', line: 'skel skel-line', block: 'skel skel-block', row: 'skel skel-row' }[kind];
  return Array.from({ length: n }, () => h('div', { class: cls, 'aria-hidden': 'true' }));
}

export function loadingPanel(label = 'Loading…') {
  return h('div', { class: 'panel', 'aria-busy': 'true' }, h('span', { class: 'sr-only' }, label), skeleton('line', 3), skeleton('block'));
}

export function emptyState(title, text, action) {
  return h('div', { class: 'empty' },
    h('div', { class: 'empty-icon', 'aria-hidden': 'true' }, '◌'),
    h('p', { class: 'empty-title' }, title),
    text ? h('p', { class: 'muted' }, text) : null,
    action || null);
}

export function errorPanel(err, retry) {
  return h('div', { class: 'alert alert-error', role: 'alert' },
    h('strong', {}, 'Something went wrong. '),
    h('span', {}, explain(err)),
    retry ? h('button', { class: 'btn btn-small', type: 'button', onclick: retry }, 'Retry') : null);
}

/** For admin routes the server does not have yet (404 not_found / 501). */
export function unavailablePanel(what, route, err) {
  if (err?.code === 'admin_unavailable') {
    // The build has the route, but this process runs without the admin plane (e.g. replay).
    return h('div', { class: 'alert alert-info unavailable', role: 'status' },
      h('strong', {}, `${what} is not available on this server. `), h('span', {}, err.message));
  }
  return h('div', { class: 'alert alert-info unavailable', role: 'status' },
    h('strong', {}, `${what} is not available on this server yet. `),
    h('span', {}, 'The API route '), h('code', {}, route),
    h('span', {}, ' answered “not found”. Update guildflow to a build that includes the admin API.'));
}

export function notice(text, kind = 'info') {
  return h('div', { class: `alert alert-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

/** A KPI card: label, big value, optional delta {value: %, text}, optional sub line. */
export function statCard({ label, value, sub, delta, icon, testid }) {
  let deltaEl = null;
  if (delta && delta.pct !== null && delta.pct !== undefined && Number.isFinite(delta.pct)) {
    const up = delta.pct >= 0;
    deltaEl = h('span', { class: `delta ${up ? 'up' : 'down'}`, title: delta.title || '' },
      `${up ? '▲' : '▼'} ${Math.abs(delta.pct).toFixed(0)}%`);
  } else if (delta && delta.text) {
    deltaEl = h('span', { class: `delta ${delta.kind || 'flat'}`, title: delta.title || '' }, delta.text);
  }
  return h('section', { class: 'stat card', 'data-testid': testid || null },
    h('div', { class: 'stat-top' }, icon ? h('span', { class: 'stat-icon', 'aria-hidden': 'true' }, icon) : null, h('h2', { class: 'stat-label' }, label)),
    h('div', { class: 'stat-value', 'data-value': '' }, value),
    h('div', { class: 'stat-sub' }, deltaEl, sub ? h('span', { class: 'muted' }, sub) : null));
}

export function avatar(id) {
  const el = h('span', { class: 'avatar', 'aria-hidden': 'true', 'data-initials': String(id).slice(-2) });
  el.style.setProperty('--h', String(hue(id)));
  return el;
}

/** A member link: the name when known (the id stays visible, small), else the id.
 * Call names.js `fillNames(guild, root)` after rendering to name the ones not cached yet. */
export function memberLink(guild, userId) {
  return h('a', { class: 'member', href: href(guild, 'member', userId), 'data-user': String(userId) }, avatar(userId), userLabel(guild, userId));
}

/** columns: [{label, cell: row => Node|string, class}] */
export function table(columns, rows, { caption, testid, rowClass } = {}) {
  return h('div', { class: 'table-wrap' },
    h('table', { class: 'table', 'data-testid': testid || null },
      caption ? h('caption', { class: 'sr-only' }, caption) : null,
      h('thead', {}, h('tr', {}, columns.map(c => h('th', { scope: 'col', class: c.class || null }, c.label)))),
      h('tbody', {}, rows.map(r => h('tr', { class: rowClass ? rowClass(r) : null }, columns.map(c => h('td', { class: c.class || null }, c.cell(r))))))));
}

let toastBox = null;
export function toast(text, kind = 'info', ms = 4000) {
  if (!toastBox) {
    toastBox = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.append(toastBox);
  }
  const t = h('div', { class: `toast toast-${kind}` }, text);
  toastBox.append(t);
  setTimeout(() => t.remove(), ms);
}

export function tabs(items, active, onPick) {
  return h('div', { class: 'seg', role: 'group' }, items.map(([v, label]) =>
    h('button', { type: 'button', class: `seg-btn${v === active ? ' active' : ''}`, 'aria-pressed': String(v === active), onclick: () => onPick(v) }, label)));
}

/** Runs `load()` into `box` with a skeleton, error+retry, and returns its result (or undefined). */
export async function loadInto(box, load, render, { what, route } = {}) {
  box.replaceChildren(loadingPanel());
  try {
    const data = await load();
    box.replaceChildren();
    render(data);
    return data;
  } catch (err) {
    if (err.name === 'AbortError') return undefined;
    if (err.unavailable && what) box.replaceChildren(unavailablePanel(what, route, err));
    else box.replaceChildren(errorPanel(err, () => loadInto(box, load, render, { what, route })));
    return undefined;
  }
}
