// A live top-N leaderboard fed by the websocket (metric × period chooser, level-up feed).
import { h, mount, select } from './dom.js';
import { live, onFrame } from './live.js';
import { memberLink, emptyState } from './ui.js';
import { fillNames } from './names.js';
import { METRICS, LIVE_PERIODS, metricValue, num, dateTime } from './format.js';

/** Returns {el, destroy}. */
export function liveBoard(guild, { metric = 'score', period = 'day', limit = 10 } = {}) {
  let cur = { metric, period };
  let last = new Map();
  const list = h('ol', { class: 'live-board', 'data-testid': 'live-board', 'aria-live': 'polite', 'aria-busy': 'true' },
    Array.from({ length: 5 }, () => h('li', { class: 'skel skel-row', 'aria-hidden': 'true' })));
  const stamp = h('span', { class: 'muted small', 'data-testid': 'live-watermark' }, 'waiting for the first frame…');
  const feed = h('ul', { class: 'feed', 'aria-label': 'Level-ups' });
  const feedBox = h('div', { class: 'panel', hidden: true }, h('h3', {}, 'Level-ups'), feed);

  const conn = live(guild);
  const metricSel = select(METRICS, cur.metric, { 'aria-label': 'Live leaderboard metric', 'data-testid': 'live-metric' });
  const periodSel = select(LIVE_PERIODS, cur.period, { 'aria-label': 'Live leaderboard period', 'data-testid': 'live-period' });
  const change = () => {
    conn.unsubscribe(cur.metric, cur.period);
    cur = { metric: metricSel.value, period: periodSel.value };
    last = new Map();
    list.setAttribute('aria-busy', 'true');
    conn.subscribe(cur.metric, cur.period, limit);
  };
  metricSel.addEventListener('change', change);
  periodSel.addEventListener('change', change);

  const off = onFrame(guild, frame => {
    if (frame.type === 'leaderboard' && frame.metric === cur.metric && frame.period === cur.period) {
      list.setAttribute('aria-busy', 'false');
      list.dataset.frames = String(Number(list.dataset.frames || 0) + 1);
      stamp.textContent = frame.watermark ? `as of ${dateTime(frame.watermark)}` : 'no events yet';
      if (!frame.entries.length) { mount(list, h('li', {}, emptyState('Nobody yet', 'No counted activity in this period.'))); return; }
      const next = new Map();
      mount(list, frame.entries.map(e => {
        next.set(e.user_id, e.value);
        const changed = last.size && last.get(e.user_id) !== e.value;
        const row = h('li', { class: `live-row${changed ? ' changed' : ''}`, 'data-user': e.user_id, 'data-value': String(e.value), 'data-rank': String(e.rank) },
          h('span', { class: `rank rank-${e.rank}` }, String(e.rank)),
          memberLink(guild, e.user_id),
          h('span', { class: 'value' }, metricValue(cur.metric, e.value)));
        if (changed) setTimeout(() => row.classList.remove('changed'), 1200);
        return row;
      }));
      last = next;
      fillNames(guild, list);
    } else if (frame.type === 'activity' && frame.events?.length) {
      feedBox.hidden = false;
      for (const ev of frame.events) {
        feed.prepend(h('li', {}, memberLink(guild, ev.user_id), ` reached level ${ev.level} (${num(ev.xp)} XP)`));
      }
      while (feed.children.length > 20) feed.lastChild.remove();
      fillNames(guild, feed);
    } else if (frame.type === 'error') {
      stamp.textContent = `live error: ${frame.error?.message || frame.error?.code}`;
    }
  });
  conn.subscribe(cur.metric, cur.period, limit);

  const el = h('section', { class: 'card section', 'aria-labelledby': 'live-title' },
    h('div', { class: 'section-head' },
      h('div', {}, h('h2', { id: 'live-title' }, 'Live leaderboard'), stamp),
      h('div', { class: 'filters' }, metricSel, periodSel)),
    list, feedBox);
  return { el, destroy: () => { off(); conn.unsubscribe(cur.metric, cur.period); } };
}
