// The guild's live websocket (/api/guilds/{g}/live): one shared connection per guild,
// subscriptions re-sent after a reconnect, listeners per frame type.

let conn = null;

class LiveConnection {
  constructor(guild) {
    this.guild = guild;
    this.subs = new Map(); // "metric|period" -> limit
    this.listeners = new Set();
    this.statusListeners = new Set();
    this.retry = 0;
    this.closed = false;
    this.status = 'connecting';
    this.open();
  }

  open() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${proto}//${location.host}/api/guilds/${encodeURIComponent(this.guild)}/live`);
    this.ws = ws;
    this.setStatus('connecting');
    ws.addEventListener('open', () => {
      this.retry = 0;
      this.setStatus('live');
      for (const [key, limit] of this.subs) {
        const [metric, period] = key.split('|');
        this.send({ subscribe: { metric, period, limit } });
      }
    });
    ws.addEventListener('message', ev => {
      let frame;
      try { frame = JSON.parse(ev.data); } catch { return; }
      for (const l of this.listeners) l(frame);
    });
    ws.addEventListener('close', ev => {
      if (this.closed) return;
      // 1008: policy (logged out, access revoked): do not hammer the server.
      this.setStatus(ev.code === 1008 ? 'refused' : 'offline');
      const delay = Math.min(15000, 500 * 2 ** this.retry++);
      this.timer = setTimeout(() => this.open(), ev.code === 1008 ? 15000 : delay);
    });
  }

  setStatus(st) {
    this.status = st;
    for (const l of this.statusListeners) l(st);
  }

  send(msg) { if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg)); }

  subscribe(metric, period, limit = 10) {
    this.subs.set(`${metric}|${period}`, limit);
    this.send({ subscribe: { metric, period, limit } });
  }

  unsubscribe(metric, period) {
    if (this.subs.delete(`${metric}|${period}`)) this.send({ unsubscribe: { metric, period } });
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    this.ws?.close(1000);
  }
}

/** The connection of `guild` (closing another guild's). */
export function live(guild) {
  if (conn && conn.guild !== guild) { conn.close(); conn = null; }
  if (!conn) conn = new LiveConnection(guild);
  return conn;
}

/** Adds a frame listener; returns a function removing it. */
export function onFrame(guild, fn) {
  const c = live(guild);
  c.listeners.add(fn);
  return () => c.listeners.delete(fn);
}

export function onStatus(guild, fn) {
  const c = live(guild);
  c.statusListeners.add(fn);
  fn(c.status);
  return () => c.statusListeners.delete(fn);
}

export function closeLive() { conn?.close(); conn = null; }
