// The start page: log-in screen (auth on, no session) and the server picker.
import { h, mount, field } from '../dom.js';
import { session } from '../session.js';
import { href, navigate } from '../router.js';
import { emptyState, notice, avatar } from '../ui.js';
import { num } from '../format.js';

export function renderLogin(view) {
  mount(view, h('section', { class: 'login card' },
    h('img', { src: '/dashboard/icon.svg', alt: '', width: 64, height: 64 }),
    h('h1', { class: 'page-title', tabindex: '-1' }, 'Your server, in numbers'),
    h('p', { class: 'muted' }, 'Live statistics, leaderboards, automod and SQL over every event of the Discord servers you administer.'),
    h('a', { class: 'btn btn-primary btn-discord', href: '/auth/login', 'data-testid': 'login' }, h('span', { 'aria-hidden': 'true' }, '⎆ '), 'Log in with Discord'),
    h('p', { class: 'muted small' }, 'We only ask Discord who you are (scope “identify”). Access to a server follows its owner, Administrator and Manage Server permissions.')));
}

export function renderHome(view) {
  const list = session.guilds;
  const openById = h('form', { class: 'inline-form', onsubmit: e => {
    e.preventDefault();
    const id = e.target.elements.gid.value.trim();
    if (/^[1-9][0-9]{0,19}$/.test(id)) navigate(href(id, 'overview'));
    else e.target.querySelector('.hint').textContent = 'A server id is a Discord snowflake: digits only.';
  } },
  field('Server id', h('input', { name: 'gid', inputmode: 'numeric', autocomplete: 'off', placeholder: 'e.g. 553503713839284297', required: true }), ' '),
  h('button', { class: 'btn btn-primary', type: 'submit' }, 'Open'));

  mount(view,
    h('header', { class: 'page-head' }, h('div', {},
      h('h1', { class: 'page-title', tabindex: '-1' }, 'Choose a server'),
      h('p', { class: 'muted' }, session.me ? `Logged in as ${session.me.user?.username || session.me.user?.id}.` : 'This server runs without authentication: every server it knows is open.'))),
    session.guildsSource === 'me' ? notice('Server names and member counts come with the /api/guilds route, which this server does not have yet: servers are listed by id.') : null,
    list.length
      ? h('ul', { class: 'guild-grid', 'data-testid': 'guild-list' }, list.map(g => h('li', {},
        h('a', { class: 'guild-card card', href: href(g.id, 'overview') },
          avatar(g.id),
          h('span', { class: 'guild-card-text' },
            h('strong', {}, g.name || 'Unnamed server'),
            h('span', { class: 'muted mono small' }, g.id),
            g.members !== null && g.members !== undefined ? h('span', { class: 'muted small' }, `${num(g.members)} members`) : null),
          h('span', { class: 'chev', 'aria-hidden': 'true' }, '›')))))
      : emptyState(session.auth ? 'No server to show' : 'No server list on this server',
        session.auth ? 'You do not administer any server the bot is in. Add the bot to a server you own, or ask its owner for access.'
          : 'The /api/guilds route is not available here. Open a server by its id:'),
    session.guildsSource === 'recent' || !list.length && !session.auth ? h('section', { class: 'card pad' }, h('h2', {}, 'Open a server by id'), openById) : null);
}
