// Display names of members and channels (GET /api/guilds/{g}/names), cached per guild.
// Elements are rendered with the id at once and named in place once the (batched) answer
// arrives; a missing or failing route just leaves the ids. Names are set as text (no markup).
import { h } from './dom.js';
import { get, guildPath } from './api.js';

const MAX_IDS = 500;          // the route's limit per request
const RETRY_MS = 30000;       // after a failed request, keep ids for a while
const caches = new Map();     // guild -> {users/channels: Map(id -> name|null), off, failedAt, pending: Map(key -> promise)}

function cache(guild) {
  let c = caches.get(guild);
  if (!c) { c = { users: new Map(), channels: new Map(), off: false, failedAt: 0, pending: new Map() }; caches.set(guild, c); }
  return c;
}

/** The known name of a member / channel, or null. */
export const userName = (guild, id) => cache(guild).users.get(String(id)) || null;
export const channelName = (guild, id) => cache(guild).channels.get(String(id)) || null;

/**
 * Fetches the names of the ids not cached yet (one request per 500 ids); never throws.
 * ids: {users: [...], channels: [...]}
 */
export async function loadNames(guild, { users = [], channels = [] } = {}) {
  const c = cache(guild);
  if (c.off || Date.now() - c.failedAt < RETRY_MS) return;
  const waits = new Set();
  const want = (list, map, kind) => [...new Set(list.map(String))]
    .filter(id => /^[0-9]+$/.test(id) && !map.has(id))
    .filter(id => { const p = c.pending.get(kind + id); if (p) waits.add(p); return !p; })
    .map(id => [kind, id]);
  const todo = [...want(users, c.users, 'u'), ...want(channels, c.channels, 'c')];
  for (let i = 0; i < todo.length; i += MAX_IDS) {
    const batch = todo.slice(i, i + MAX_IDS);
    const p = fetchBatch(guild, c, batch);
    batch.forEach(([k, id]) => c.pending.set(k + id, p));
    await p; // one request at a time
  }
  await Promise.all(waits);
}

async function fetchBatch(guild, c, batch) {
  const q = kind => batch.filter(([k]) => k === kind).map(([, id]) => id).join(',');
  try {
    const res = await get(guildPath(guild, '/names'), { users: q('u'), channels: q('c') });
    // Unknown ids are absent: remember them as null so they are not asked again.
    for (const [k, id] of batch) {
      const [map, got] = k === 'u' ? [c.users, res?.users] : [c.channels, res?.channels];
      const name = got?.[id];
      map.set(id, typeof name === 'string' && name.trim() ? name : null);
    }
  } catch (err) {
    if (err?.unavailable) c.off = true; // route missing on this build: ids only
    else c.failedAt = Date.now();
  } finally {
    batch.forEach(([k, id]) => c.pending.delete(k + id));
  }
}

/** A member's label: the name (id as title and small muted text) or just the id. */
export function userLabel(guild, id) {
  const el = h('span', { class: 'named', 'data-name-user': String(id) });
  paint(el, userName(guild, id), String(id), '');
  return el;
}

/** A channel's label: "# name" (id as title and small muted text) or "# id". */
export function channelLabel(guild, id) {
  const el = h('span', { class: 'named', 'data-name-channel': String(id) });
  paint(el, channelName(guild, id), String(id), '# ');
  return el;
}

function paint(el, name, id, prefix) {
  if (el.dataset.named === '1') return;
  if (name) {
    el.dataset.named = '1';
    el.title = id;
    el.replaceChildren(h('span', { class: 'name' }, prefix + name), ' ', h('span', { class: 'id-sub mono' }, id));
  } else {
    el.replaceChildren(h('span', { class: 'mono' }, prefix + id));
  }
}

/**
 * Names every label under `root` whose name is not known yet: one batched fetch, then the
 * labels are updated in place. Safe to call after every render; never throws.
 */
export async function fillNames(guild, root) {
  if (!root) return;
  const pick = attr => [...root.querySelectorAll(`[${attr}]:not([data-named="1"])`)];
  const users = pick('data-name-user'), channels = pick('data-name-channel');
  if (!users.length && !channels.length) return;
  await loadNames(guild, { users: users.map(e => e.dataset.nameUser), channels: channels.map(e => e.dataset.nameChannel) });
  users.forEach(e => paint(e, userName(guild, e.dataset.nameUser), e.dataset.nameUser, ''));
  channels.forEach(e => paint(e, channelName(guild, e.dataset.nameChannel), e.dataset.nameChannel, '# '));
}
