// Pipeline health: /health (status, shards) and /metrics (rates from two samples), every 2 s.
import { h, mount } from '../dom.js';
import { pageHeader, statCard, table, skeleton, errorPanel, emptyState } from '../ui.js';
import { sparkline, barList } from '../charts.js';
import { parseMetrics, pick, one, total } from '../metrics.js';
import { num, short, dateTime, duration } from '../format.js';

const EVERY_MS = 2000;

export async function render({ view }) {
  const cards = h('div', { class: 'grid grid-4', 'data-testid': 'health-cards' }, skeleton('card', 4));
  const shards = h('section', { class: 'card section' }, h('h2', {}, 'Shards'), skeleton('row', 4));
  const types = h('section', { class: 'card section' }, h('h2', {}, 'Events per second by type'), skeleton('row', 4));
  const http = h('section', { class: 'card section' }, h('h2', {}, 'HTTP requests'), skeleton('row', 3));
  const stamp = h('span', { class: 'muted small', 'aria-live': 'off' }, '');
  mount(view, pageHeader('Pipeline health', 'Shards, throughput and lag of this guildflow process (public /health and /metrics), refreshed every 2 s.', stamp),
    cards, shards, h('div', { class: 'grid grid-2' }, types, http));

  let prev = null;
  const rates = [];
  let timer = null, stopped = false;

  const tick = async () => {
    try {
      const [hres, mres] = await Promise.all([fetch('/health', { headers: { Accept: 'application/json' } }), fetch('/metrics')]);
      const health = await hres.json();
      const ms = parseMetrics(await mres.text());
      const now = performance.now();
      const sample = { t: now, decoded: one(ms, 'guildflow_decoded_events_total') ?? health.events_processed, byType: Object.fromEntries(pick(ms, 'guildflow_events_processed_total').map(m => [m.labels.type, m.value])) };
      let rate = null, typeRates = null;
      if (prev && now > prev.t) {
        const dt = (now - prev.t) / 1000;
        rate = Math.max(0, (sample.decoded - prev.decoded) / dt);
        typeRates = Object.entries(sample.byType).map(([k, v]) => [k, Math.max(0, (v - (prev.byType[k] || 0)) / dt)]);
        rates.push(rate);
        if (rates.length > 60) rates.shift();
      }
      prev = sample;
      if (stopped) return;
      draw(health, ms, rate, typeRates);
      stamp.textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (err) {
      if (!stopped) mount(cards, errorPanel(err));
    }
    if (!stopped) timer = setTimeout(tick, EVERY_MS);
  };

  const draw = (health, ms, rate, typeRates) => {
    const status = health.status || 'unknown';
    const sinkRows = one(ms, 'guildflow_sink_lag_rows', { sink: 'parquet' });
    const sinkSec = one(ms, 'guildflow_sink_lag_seconds', { sink: 'parquet' });
    const rateCard = statCard({ label: 'Events / s', testid: 'h-rate', value: rate === null ? '…' : short(rate), sub: `${num(health.events_processed)} processed in total` });
    rateCard.append(sparkline(rates, { label: 'events per second' }));
    mount(cards,
      statCard({ label: 'Status', testid: 'h-status', value: h('span', { class: `chip ${status === 'ok' ? 'ok' : status === 'starting' ? '' : 'bad'}`, 'data-status': status }, status),
        sub: health.watermark ? `watermark ${dateTime(health.watermark)}` : 'no event yet' }),
      rateCard,
      statCard({ label: 'Dataflow lag', testid: 'h-lag', value: health.lag_seconds === null || health.lag_seconds === undefined ? 'n/a' : health.lag_seconds > 120 ? duration(health.lag_seconds) : `${health.lag_seconds.toFixed(2)} s`,
        sub: sinkRows !== null ? `Parquet sink: ${num(sinkRows)} rows, ${sinkSec === null ? '—' : `${sinkSec.toFixed(2)} s`} behind` : 'no Parquet sink metric', delta: health.lag_seconds > 120 ? { text: 'replayed capture: lag is the age of its events', kind: 'flat' } : null }),
      statCard({ label: 'Errors & clients', testid: 'h-errors', value: num(health.decode_errors), sub: `decode errors · ${num(health.websocket_clients)} websocket clients` }));

    const list = health.shards;
    mount(shards, h('h2', {}, 'Shards'), list?.length
      ? table([
        { label: 'Shard', cell: s => `#${s.id}` },
        { label: 'State', cell: s => h('span', { class: `chip ${s.phase === 'ready' ? 'ok' : 'bad'}` }, s.phase) },
        { label: 'Heartbeat', class: 'num', cell: s => (s.heartbeat_latency_ms === null ? '—' : `${s.heartbeat_latency_ms.toFixed(1)} ms`) },
        { label: 'Events', class: 'num', cell: s => num(s.events) },
        { label: 'Guilds', class: 'num', cell: s => num(s.guilds) },
        { label: 'Resumes', class: 'num', cell: s => num(s.resumes) },
        { label: 'Last error', class: 'wrap', cell: s => s.last_error || h('span', { class: 'muted' }, 'none') },
      ], list, { caption: 'Shards', testid: 'h-shards' })
      : emptyState('No shards in this process', 'It replays a capture file (replay --serve) instead of connecting to Discord.'));

    mount(types, h('h2', {}, 'Events per second by type'), typeRates === null
      ? h('p', { class: 'muted' }, 'Measuring (two samples needed)…')
      : typeRates.filter(([, v]) => v > 0).length
        ? barList(typeRates.filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]).map(([k, v]) => ({ label: k, value: v, display: short(v) })), { tone: 'c2' })
        : emptyState('Idle', 'No event processed in the last 2 s.'));

    const reqs = pick(ms, 'guildflow_http_requests_total');
    const byRoute = {};
    for (const m of reqs) {
      const r = (byRoute[m.labels.route] ||= { route: m.labels.route, ok: 0, err: 0 });
      if (/^[123]/.test(m.labels.status)) r.ok += m.value; else r.err += m.value;
    }
    const rows = Object.values(byRoute).sort((a, b) => b.ok + b.err - a.ok - a.err);
    mount(http, h('h2', {}, 'HTTP requests'), rows.length
      ? table([{ label: 'Route', cell: r => r.route }, { label: 'OK', class: 'num', cell: r => num(r.ok) }, { label: 'Errors', class: 'num', cell: r => num(r.err) }], rows, { caption: 'HTTP requests by route' })
      : emptyState('No requests counted', null),
      h('p', { class: 'muted small' }, `${num(total(ms, 'guildflow_websocket_frames_total'))} websocket frames sent · ${num(one(ms, 'guildflow_websocket_rooms'))} rooms`));
  };

  tick();
  return () => { stopped = true; clearTimeout(timer); };
}
