// Guild overview: KPI cards, daily charts (7/30 days), top channels, live top 10.
import { h, mount } from '../dom.js';
import { get, guildPath } from '../api.js';
import { pageHeader, statCard, skeleton, errorPanel, emptyState } from '../ui.js';
import { columnChart, barList } from '../charts.js';
import { liveBoard } from '../liveboard.js';
import { num, short, duration, durationAxis, pct, dateTime, shortDate } from '../format.js';
import { guildName } from '../session.js';
import { replaceQuery } from '../router.js';
import { icon } from '../icons.js';
import { channelLabel, fillNames } from '../names.js';

export async function render(ctx) {
  const { guild, view, signal } = ctx;
  let days = ctx.query.days === '30' ? 30 : 7;
  const sub = h('p', { class: 'muted' }, 'Loading…');
  const head = h('header', { class: 'page-head' },
    h('div', {}, h('h1', { class: 'page-title', tabindex: '-1' }, guildName(guild)), sub));
  const cards = h('div', { class: 'grid grid-4', 'data-testid': 'kpis' }, skeleton('card', 4));
  const charts = h('div', { class: 'grid grid-3' }, skeleton('block', 3));
  const channels = h('section', { class: 'card section', 'aria-labelledby': 'tc-title' },
    h('div', { class: 'section-head' }, h('div', {}, h('h2', { id: 'tc-title' }, 'Top channels'), h('p', { class: 'muted' }, 'Messages this month'))),
    skeleton('row', 4));
  const board = liveBoard(guild, { metric: 'score', period: 'day' });
  mount(view, head, cards, charts, h('div', { class: 'grid grid-main' }, board.el, channels));

  let stats;
  try {
    stats = await get(guildPath(guild, '/stats'), null, { signal });
  } catch (err) {
    if (err.name === 'AbortError') return board.destroy;
    sub.textContent = '';
    const panel = err.code === 'unknown_guild'
      ? emptyState('No statistics yet', 'This server has no counted events yet. They appear here within a second of arriving.')
      : errorPanel(err, () => render(ctx));
    mount(cards, panel);
    charts.replaceChildren();
    channels.remove();
    return board.destroy;
  }
  sub.textContent = `Figures as of ${dateTime(stats.watermark)} · server ${guild}`;

  const series = stats.daily || {};
  const msgs = series.messages || [];
  const voice = series.voice_seconds || [];
  const yesterday = arr => (arr.length >= 2 ? arr[arr.length - 2].value : null);
  const growth = stats.growth || {};
  const active = stats.active_members || {};
  mount(cards,
    statCard({
      label: 'Members', icon: icon('users'), testid: 'stat-members',
      value: stats.member_count === null ? 'n/a' : num(stats.member_count),
      delta: { text: `${growth.this_week >= 0 ? '+' : ''}${num(growth.this_week)} this week`, kind: growth.this_week > 0 ? 'up' : growth.this_week < 0 ? 'down' : 'flat', title: 'joins minus leaves this ISO week' },
      sub: stats.member_count === null ? 'not known before the server’s first GUILD_CREATE' : `last week ${growth.last_week >= 0 ? '+' : ''}${num(growth.last_week)}`,
    }),
    statCard({
      label: 'Active members (7 d)', icon: icon('bolt'), testid: 'stat-active',
      value: num(active['7d']),
      sub: `${num(active['1d'])} today · ${num(active['30d'])} in 30 d`,
      delta: stats.member_count ? { text: `${Math.round((100 * (active['7d'] || 0)) / stats.member_count)}% of members`, kind: 'flat' } : null,
    }),
    statCard({
      label: 'Messages today', icon: icon('chat'), testid: 'stat-messages',
      value: num(stats.messages_today),
      delta: { pct: pct(stats.messages_today, yesterday(msgs)), title: 'vs yesterday (whole day)' },
      sub: `${num(stats.messages_7d)} in 7 d · ${num(stats.messages_30d)} in 30 d`,
    }),
    statCard({
      label: 'Voice today', icon: icon('mic'), testid: 'stat-voice',
      value: duration(stats.voice_seconds_today),
      delta: { pct: pct(stats.voice_seconds_today, yesterday(voice)), title: 'vs yesterday (whole day)' },
      sub: yesterday(voice) !== null ? `yesterday ${duration(yesterday(voice))}` : '',
    }));
  cards.querySelector('[data-testid="stat-members"] .stat-value').dataset.value = String(stats.member_count);
  cards.querySelector('[data-testid="stat-active"] .stat-value').dataset.value = String(active['7d']);
  cards.querySelector('[data-testid="stat-messages"] .stat-value').dataset.value = String(stats.messages_today);
  cards.querySelector('[data-testid="stat-voice"] .stat-value').dataset.value = String(stats.voice_seconds_today);

  const drawCharts = () => {
    const pick = arr => (arr || []).slice(-days).map(p => ({ label: shortDate(p.date), value: p.value, date: p.date }));
    const chartCard = (title, arr, fmt, tone, id) => {
      const pts = pick(arr);
      const total = pts.reduce((a, p) => a + p.value, 0);
      return h('section', { class: 'card section', 'data-testid': id },
        h('div', { class: 'chart-title' }, h('h2', {}, title), h('span', { class: 'chart-total', 'data-total': String(total) }, fmt(total))),
        columnChart(pts, { fmt: (v, axis) => (axis && fmt === duration ? durationAxis(v) : axis ? short(v) : fmt(v)), tone, label: title, kind: days > 7 ? 'area' : 'bar' }));
    };
    mount(charts,
      chartCard(`Messages per day`, series.messages, num, 'c1', 'chart-messages'),
      chartCard(`Voice per day`, series.voice_seconds, duration, 'c2', 'chart-voice'),
      chartCard(`Reactions per day`, series.reactions, num, 'c3', 'chart-reactions'));
  };
  const rangeTabs = h('div', { class: 'seg', role: 'group', 'aria-label': 'Chart range' });
  const drawTabs = () => mount(rangeTabs, [[7, '7 days'], [30, '30 days']].map(([d, label]) =>
    h('button', { type: 'button', class: `seg-btn${d === days ? ' active' : ''}`, 'aria-pressed': String(d === days), 'data-testid': `range-${d}`,
      onclick: () => { days = d; replaceQuery(d === 30 ? { days: 30 } : {}); drawTabs(); drawCharts(); } }, label)));
  drawTabs();
  head.append(h('div', { class: 'page-actions' }, rangeTabs));
  drawCharts();

  const tc = stats.top_channels || [];
  channels.querySelectorAll('.skel').forEach(x => x.remove());
  channels.append(tc.length
    ? barList(tc.map(c => ({ label: channelLabel(guild, c.channel_id), value: c.messages, display: num(c.messages) })), { tone: 'c2', testid: 'top-channels' })
    : emptyState('No messages this month', null));
  fillNames(guild, channels);
  return board.destroy;
}
