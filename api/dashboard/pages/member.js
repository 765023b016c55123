// Member page: cards vs the server average, 30-day activity, favourite channels, ranks, level.
import { h, mount, field } from '../dom.js';
import { get, guildPath } from '../api.js';
import { pageHeader, statCard, skeleton, errorPanel, emptyState, memberLink, avatar, table, tabs, notice } from '../ui.js';
import { columnChart, barList, ring } from '../charts.js';
import { num, short, duration, durationAxis, dateTime, shortDate, METRICS, LIVE_PERIODS, metricValue } from '../format.js';
import { href, navigate } from '../router.js';
import { detectCurve, progress } from '../levels.js';
import { channelLabel, userLabel, fillNames } from '../names.js';

export async function render(ctx) {
  return ctx.arg ? renderMember(ctx) : renderLookup(ctx);
}

async function renderLookup({ guild, view, signal }) {
  const input = h('input', { name: 'uid', inputmode: 'numeric', autocomplete: 'off', required: true, placeholder: 'e.g. 985843678167695439', 'data-testid': 'member-id' });
  const hint = h('p', { class: 'muted small' });
  const top = h('div', { class: 'panel' }, skeleton('row', 5));
  mount(view,
    pageHeader('Members', 'Open a member’s statistics by Discord id, or pick one of the most active members below (find one by name on the leaderboard page).'),
    h('section', { class: 'card section' },
      h('form', { class: 'inline-form', role: 'search', onsubmit: e => {
        e.preventDefault();
        const id = input.value.trim();
        if (/^[1-9][0-9]{0,19}$/.test(id)) navigate(href(guild, 'member', id));
        else hint.textContent = 'A member id is a Discord snowflake: digits only.';
      } }, field('Member id', input), h('button', { class: 'btn btn-primary', type: 'submit' }, 'Open')), hint),
    h('section', { class: 'card section' }, h('h2', {}, 'Most active members (score, all time)'), top));
  try {
    const data = await get(guildPath(guild, '/leaderboard'), { metric: 'score', period: 'all', per_page: 12 }, { signal });
    mount(top, data.entries.length
      ? h('ul', { class: 'guild-grid' }, data.entries.map(e => h('li', {}, h('div', { class: 'guild-card card' }, h('span', { class: `rank rank-${e.rank}` }, String(e.rank)), memberLink(guild, e.user_id), h('span', { class: 'muted small' }, num(e.value))))))
      : emptyState('Nobody yet', 'No counted activity in this server yet.'));
    fillNames(guild, top);
  } catch (err) { if (err.name !== 'AbortError') mount(top, errorPanel(err)); }
}

async function renderMember(ctx) {
  const { guild, arg: user, view, signal } = ctx;
  const cards = h('div', { class: 'grid grid-4' }, skeleton('card', 4));
  const body = h('div', { class: 'panel' }, skeleton('block', 2));
  mount(view,
    h('header', { class: 'page-head' },
      h('div', { class: 'member-head' }, avatar(user),
        h('div', {}, h('h1', { class: 'page-title member-title', tabindex: '-1', 'data-testid': 'member-title' }, userLabel(guild, user)), h('p', { class: 'muted', 'data-testid': 'member-sub' }, 'Member statistics'))),
      h('div', { class: 'page-actions' }, h('a', { class: 'btn', href: href(guild, 'moderation', null, { user_id: user }) }, 'Moderation history'))),
    cards, body);

  let m, g, totals;
  try {
    [m, g, totals] = await Promise.all([
      get(guildPath(guild, `/members/${encodeURIComponent(user)}/stats`), null, { signal }),
      get(guildPath(guild, '/stats'), null, { signal }).catch(() => null),
      Promise.all(METRICS.map(([metric]) => get(guildPath(guild, '/leaderboard'), { metric, period: 'all', per_page: 1 }, { signal }).then(r => r.total).catch(() => null))),
    ]);
  } catch (err) {
    if (err.name === 'AbortError') return;
    mount(cards, err.code === 'unknown_member'
      ? emptyState('No activity counted for this member', 'They have sent no counted message, reaction or voice time in this server (or opted out).', h('a', { class: 'btn', href: href(guild, 'member') }, 'Find another member'))
      : errorPanel(err, () => renderMember(ctx)));
    body.replaceChildren();
    fillNames(guild, view);
    return;
  }
  view.querySelector('[data-testid="member-sub"]').textContent = `Statistics as of ${dateTime(m.watermark)}`;

  // 30-day sums vs the server's average per active member over the same 30 days.
  const sum = (arr, k) => (arr || []).reduce((a, d) => a + (d[k] ?? d.value ?? 0), 0);
  const me30 = { messages: sum(m.daily, 'messages'), reactions: sum(m.daily, 'reactions'), voice: sum(m.daily, 'voice_seconds') };
  const active30 = g?.active_members?.['30d'] || 0;
  const avg30 = g && active30 ? {
    messages: sum(g.daily.messages, 'value') / active30,
    reactions: sum(g.daily.reactions, 'value') / active30,
    voice: sum(g.daily.voice_seconds, 'value') / active30,
  } : null;
  const cmp = (key, fmt) => {
    if (!avg30) return { sub: 'server average not available', delta: null };
    const a = avg30[key];
    const ratio = a ? me30[key] / a : null;
    return {
      sub: `server avg ${fmt(a)} per active member`,
      delta: ratio === null ? null : { text: `${ratio >= 10 ? Math.round(ratio) : ratio.toFixed(1)}× avg`, kind: ratio >= 1 ? 'up' : 'down', title: 'compared with the average of the members active in the last 30 days' },
    };
  };
  const curve = detectCurve(m.xp, m.level, null);
  const prog = curve ? progress(curve, m.xp, m.level) : null;
  mount(cards,
    statCard({ label: 'Messages (30 d)', testid: 'm-messages', value: num(me30.messages), ...cmp('messages', v => short(v)) }),
    statCard({ label: 'Voice (30 d)', testid: 'm-voice', value: duration(me30.voice), ...cmp('voice', duration) }),
    statCard({ label: 'Reactions (30 d)', testid: 'm-reactions', value: num(me30.reactions), ...cmp('reactions', v => short(v)) }),
    statCard({ label: 'Level', testid: 'm-level', value: String(m.level), sub: `${num(m.xp)} XP${prog ? ` · ${num(prog.need)} XP to level ${m.level + 1}` : ''}` }));

  // Activity chart with a metric switch.
  let which = 'messages';
  const chartBox = h('div', {});
  const chartTabs = h('div', {});
  const drawChart = () => {
    const key = which === 'voice' ? 'voice_seconds' : which;
    mount(chartTabs, tabs([['messages', 'Messages'], ['voice', 'Voice'], ['reactions', 'Reactions']], which, w => { which = w; drawChart(); }));
    mount(chartBox, columnChart(m.daily.map(d => ({ label: shortDate(d.date), value: d[key] })),
      { fmt: (v, axis) => (which === 'voice' ? (axis ? durationAxis(v) : duration(v)) : axis ? short(v) : num(v)), tone: which === 'voice' ? 'c2' : which === 'reactions' ? 'c3' : 'c1', kind: 'area', label: `${which} per day, last 30 days` }));
  };
  drawChart();

  const rankRows = [['messages', 'Messages'], ['reactions', 'Reactions'], ['voice', 'Voice time'], ['score', 'Score'], ['xp', 'XP']].map(([k, label], i) => ({ k, label, rank: m.ranks?.[k] ?? null, total: totals[METRICS.findIndex(x => x[0] === k)] ?? null, value: k === 'voice' ? m.periods.all.voice_seconds : m.periods.all[k] }));
  const ranks = table([
    { label: 'Metric', cell: r => r.label },
    { label: 'All-time value', class: 'num', cell: r => metricValue(r.k, r.value) },
    { label: 'Rank', class: 'num', cell: r => (r.rank ? h('a', { href: href(guild, 'leaderboard', null, { metric: r.k, period: 'all', page: Math.ceil(r.rank / 25), user }), 'data-rank': String(r.rank) }, `#${r.rank}${r.total ? ` of ${num(r.total)}` : ''}`) : h('span', { class: 'muted' }, 'not ranked')) },
  ], rankRows, { caption: 'Rank per metric (all time)', testid: 'm-ranks' });

  const periods = table([
    { label: 'Period', cell: r => r.label },
    { label: 'Messages', class: 'num', cell: r => num(r.p.messages) },
    { label: 'Reactions', class: 'num', cell: r => num(r.p.reactions) },
    { label: 'Voice', class: 'num', cell: r => duration(r.p.voice_seconds) },
    { label: 'Score', class: 'num', cell: r => num(r.p.score) },
    { label: 'XP', class: 'num', cell: r => num(r.p.xp) },
  ], LIVE_PERIODS.map(([k, label]) => ({ label, p: m.periods[k] })), { caption: 'Totals per period', testid: 'm-periods' });

  const level = h('section', { class: 'card section', 'data-testid': 'm-level-box' },
    h('h2', {}, 'Level progress'),
    prog ? h('div', { class: 'level-box' },
      ring(prog.fraction, `L${m.level}`),
      h('div', {}, h('p', {}, h('strong', {}, `${num(prog.into)} / ${num(prog.to - prog.from)} XP`), ` towards level ${m.level + 1}`),
        h('p', { class: 'muted small' }, `${num(m.xp)} XP in total · ${curve === 'mee6' ? 'MEE6' : 'square-root'} level curve`)))
      : notice('The level curve of this server could not be determined from the API.'));

  mount(body,
    h('div', { class: 'grid grid-main' },
      h('section', { class: 'card section' }, h('div', { class: 'section-head' }, h('h2', {}, 'Activity, last 30 days'), chartTabs), chartBox),
      level),
    h('div', { class: 'grid grid-2' },
      h('section', { class: 'card section' }, h('h2', {}, 'Rank per metric'), ranks),
      h('section', { class: 'card section' }, h('div', {}, h('h2', {}, 'Favourite channels'), h('p', { class: 'muted small' }, 'Messages, all time')),
        m.top_channels.length ? barList(m.top_channels.map(c => ({ label: channelLabel(guild, c.channel_id), value: c.messages, display: num(c.messages) })), { tone: 'c1', testid: 'm-channels' }) : emptyState('No messages yet', null))),
    h('section', { class: 'card section' }, h('h2', {}, 'Totals per period'), periods));
  fillNames(guild, view); // one request: the title and the favourite channels
}
