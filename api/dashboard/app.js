// Boot: theme, session (login or not), shell (guild switcher, nav, user box), router.
import { h, mount } from './dom.js';
import { initTheme } from './theme.js';
import { session, loadSession, logout, guildName, rememberGuild } from './session.js';
import { startRouter, href, navigate } from './router.js';
import { errorPanel } from './ui.js';
import { closeLive, onStatus } from './live.js';
import { renderHome, renderLogin } from './pages/home.js';
import { icon } from './icons.js';

const PAGES = [
  ['overview', 'Overview', 'grid'],
  ['leaderboard', 'Leaderboard', 'star'],
  ['member', 'Members', 'user'],
  ['automod', 'Automod', 'shield'],
  ['moderation', 'Moderation', 'flag'],
  ['settings', 'Settings', 'gear'],
  ['sql', 'SQL console', 'code'],
  ['health', 'Pipeline health', 'pulse'],
];

const loaders = {
  overview: () => import('./pages/overview.js'),
  leaderboard: () => import('./pages/leaderboard.js'),
  member: () => import('./pages/member.js'),
  automod: () => import('./pages/automod.js'),
  moderation: () => import('./pages/moderation.js'),
  settings: () => import('./pages/settings.js'),
  sql: () => import('./pages/sql.js'),
  health: () => import('./pages/health.js'),
};

const view = () => document.getElementById('view');
let cleanup = null;
let controller = null;
let liveUnsub = null;

function renderUserBox() {
  const box = document.getElementById('user-box');
  if (!session.auth) { mount(box, h('span', { class: 'chip muted', title: 'This server runs without authentication' }, 'Open access')); return; }
  if (!session.me) { mount(box, h('a', { class: 'btn btn-primary', href: '/auth/login' }, 'Log in')); return; }
  const name = session.me.user?.username || session.me.user?.id;
  mount(box,
    h('span', { class: 'user-name', title: `User ${session.me.user?.id}` }, name),
    h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => logout().catch(e => alert(e.message)) }, 'Log out'));
}

function renderGuildSwitch(current) {
  const box = document.getElementById('guild-switch');
  if (!current) { box.replaceChildren(); return; }
  const options = session.guilds.some(g => g.id === current) ? session.guilds : [{ id: current, name: null }, ...session.guilds];
  const sel = h('select', { id: 'guild-select', 'aria-label': 'Server', onchange: e => navigate(href(e.target.value, 'overview')) },
    options.map(g => h('option', { value: g.id, selected: g.id === current }, g.name || `Server ${g.id}`)));
  mount(box, sel);
}

function renderNav(r) {
  const nav = document.getElementById('nav');
  if (!r.guild) { nav.hidden = true; return; }
  nav.hidden = false;
  mount(nav, h('ul', {}, PAGES.map(([page, label, ic]) => h('li', {},
    h('a', { href: href(r.guild, page), class: `nav-link${r.page === page ? ' active' : ''}`, 'aria-current': r.page === page ? 'page' : null },
      h('span', { class: 'nav-icon', 'aria-hidden': 'true' }, icon(ic)), h('span', {}, label))))));
}

function renderLiveStatus(guild) {
  liveUnsub?.();
  liveUnsub = null;
  const pill = document.getElementById('live-status');
  if (!guild) { pill.hidden = true; closeLive(); return; }
  pill.hidden = false;
  liveUnsub = onStatus(guild, st => {
    pill.className = `live-pill ${st}`;
    pill.textContent = { live: 'Live', connecting: 'Connecting…', offline: 'Reconnecting…', refused: 'Live updates refused' }[st] || st;
  });
}

async function onRoute(r) {
  if (cleanup) { try { cleanup(); } catch { /* ignore */ } cleanup = null; }
  controller?.abort();
  controller = new AbortController();
  const el = view();
  el.replaceChildren();
  renderNav(r);
  renderGuildSwitch(r.guild);
  if (!r.guild) {
    renderLiveStatus(null);
    document.title = 'guildflow dashboard';
    renderHome(el);
    return;
  }
  if (!/^[1-9][0-9]{0,19}$/.test(r.guild)) {
    el.append(errorPanel(new Error(`"${r.guild}" is not a server id (a Discord snowflake, digits only).`)));
    return;
  }
  if (session.guildsSource === 'recent') rememberGuild(r.guild);
  renderLiveStatus(r.guild);
  const load = loaders[r.page];
  if (!load) { el.append(errorPanel(new Error(`No page called "${r.page}".`))); return; }
  const label = (PAGES.find(p => p[0] === r.page) || [])[1];
  document.title = `${label} · ${guildName(r.guild)} · guildflow`;
  try {
    const mod = await load();
    const ctx = { ...r, view: el, signal: controller.signal, session };
    cleanup = (await mod.render(ctx)) || null;
    // Move focus to the page title for keyboard and screen-reader users after navigation.
    if (document.activeElement === document.body || document.activeElement?.closest('.sidenav')) {
      el.querySelector('.page-title')?.focus({ preventScroll: true });
    }
  } catch (err) {
    if (err.name !== 'AbortError') { console.warn(err); el.append(errorPanel(err)); }
  }
}

async function boot() {
  initTheme();
  let state;
  try {
    state = await loadSession();
  } catch (err) {
    mount(view(), errorPanel(err, () => location.reload()));
    return;
  }
  renderUserBox();
  if (state === 'login') { renderLogin(view()); return; }
  startRouter(onRoute);
}

boot();
