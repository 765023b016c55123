// fetch wrapper: JSON in/out, CSRF header on writes, typed errors.

let csrfToken = null;
export function setCsrf(token) { csrfToken = token || null; }

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code || (status === 0 ? 'network' : `http_${status}`);
  }
  /** The route does not exist (yet) on this server. */
  get unavailable() {
    return (this.status === 404 && this.code === 'not_found') || this.status === 501 || this.status === 405
      || (this.status === 503 && this.code === 'admin_unavailable');
  }
}

/**
 * request('GET', '/api/...') → parsed JSON (null for 204).
 * opts: {body, query, accept, raw (return Response), signal}
 */
export async function request(method, path, opts = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(opts.query || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, v);
  }
  const headers = { Accept: opts.accept || 'application/json' };
  // Writes are JSON even without a body: the server refuses other types (CSRF defence).
  if (opts.body !== undefined || ['POST', 'PATCH', 'PUT'].includes(method)) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let res;
  try {
    res = await fetch(url, {
      method, headers, credentials: 'same-origin', signal: opts.signal,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'The server could not be reached. Is guildflow running?');
  }
  if (!res.ok) {
    let code, message;
    try {
      const body = await res.json();
      code = body?.error?.code; message = body?.error?.message;
    } catch { /* not JSON */ }
    if (res.status === 429 && !message) message = 'Too many requests; retry in a moment.';
    const retry = res.headers.get('Retry-After');
    if (res.status === 429 && retry) message = `${message} (retry in ${retry} s)`;
    throw new ApiError(res.status, code, message || res.statusText);
  }
  if (opts.raw) return res;
  if (res.status === 204) return null;
  const type = res.headers.get('Content-Type') || '';
  return type.includes('json') ? res.json() : res.text();
}

export const get = (path, query, opts = {}) => request('GET', path, { ...opts, query });
export const post = (path, body, opts = {}) => request('POST', path, { ...opts, body });
export const patch = (path, body) => request('PATCH', path, { body });
export const put = (path, body) => request('PUT', path, { body });
export const del = path => request('DELETE', path);

export const guildPath = (g, rest = '') => `/api/guilds/${encodeURIComponent(g)}${rest}`;

/** A human sentence for an error, by code. */
export function explain(err) {
  if (!(err instanceof ApiError)) return String(err?.message || err);
  switch (err.code) {
    case 'unauthorized': return 'Your session has expired. Log in again.';
    case 'forbidden': return 'You do not administer this server (or it does not exist).';
    case 'csrf_failed': return 'The request was refused (CSRF check). Reload the page and retry.';
    case 'unknown_guild': return 'No statistics for this server yet: its first events have not arrived.';
    case 'unknown_member': return 'This member has no counted activity in this server.';
    case 'sql_unavailable': return 'This process has no event store, so SQL and rolling windows are unavailable.';
    default: return `${err.message}${err.code ? ` (${err.code}` + (err.status ? `, HTTP ${err.status})` : ')') : ''}`;
  }
}
