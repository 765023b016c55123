// Who is using the dashboard: /api/me (auth on) or nothing (auth off), and which guilds.
import { get, post, setCsrf, ApiError } from './api.js';

const RECENT = 'gf-recent-guilds';

export const session = {
  auth: false,      // the server authenticates (so /api/me exists)
  me: null,         // /api/me body when logged in
  guilds: [],       // [{id, name, members}]
  guildsSource: '', // 'api' | 'me' | 'recent'
};

/** Resolves to 'ok' | 'login' (auth on, not logged in). Throws ApiError for anything else. */
export async function loadSession() {
  try {
    session.me = await get('/api/me');
    session.auth = true;
    setCsrf(session.me.csrf_token);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (err.status === 401) { session.auth = true; return 'login'; }
    if (err.status === 404) { session.auth = false; session.me = null; }
    else throw err;
  }
  await loadGuilds();
  return 'ok';
}

export async function loadGuilds() {
  try {
    const body = await get('/api/guilds');
    session.guilds = body.guilds || [];
    session.guildsSource = 'api';
  } catch (err) {
    // Older builds: 404 not_found (auth off) or 400 invalid_id (the auth guard reads "" as a guild id).
    const missing = err instanceof ApiError && (err.unavailable || (err.status === 400 && err.code === 'invalid_id'));
    if (!missing) throw err;
    if (session.me) {
      session.guilds = (session.me.guilds || []).map(id => ({ id, name: null, members: null }));
      session.guildsSource = 'me';
    } else {
      session.guilds = recentGuilds().map(id => ({ id, name: null, members: null }));
      session.guildsSource = 'recent';
    }
  }
}

export function recentGuilds() {
  try { return JSON.parse(localStorage.getItem(RECENT) || '[]').filter(x => /^[1-9][0-9]{0,19}$/.test(x)); } catch { return []; }
}

/** Remembers a guild opened by id (auth off and no guild list). */
export function rememberGuild(id) {
  const list = [id, ...recentGuilds().filter(x => x !== id)].slice(0, 12);
  localStorage.setItem(RECENT, JSON.stringify(list));
  if (session.guildsSource === 'recent' && !session.guilds.some(g => g.id === id)) {
    session.guilds.unshift({ id, name: null, members: null });
  }
}

export function guildName(id) {
  const g = session.guilds.find(x => x.id === id);
  return g?.name || `Server ${id}`;
}

export async function logout() {
  await post('/auth/logout');
  location.href = '/';
}
