// Hash router: #/ (guild picker), #/g/{guild}/{page}[/{arg}][?query].

const routes = new Map();
let onChange = null;

export function route(name, render) { routes.set(name, render); }

/** Parses location.hash into {guild, page, arg, query}. */
export function parseHash(hash = location.hash) {
  const raw = hash.replace(/^#/, '') || '/';
  const [path, qs] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const query = Object.fromEntries(new URLSearchParams(qs || ''));
  if (parts[0] === 'g' && parts[1]) {
    return { guild: parts[1], page: parts[2] || 'overview', arg: parts[3] || null, query };
  }
  return { guild: null, page: parts[0] || 'home', arg: parts[1] || null, query };
}

export function href(guild, page, arg, query) {
  let out = guild ? `#/g/${encodeURIComponent(guild)}/${page}` : `#/${page || ''}`;
  if (arg) out += `/${encodeURIComponent(arg)}`;
  const qs = query ? new URLSearchParams(Object.entries(query).filter(([, v]) => v !== '' && v !== null && v !== undefined)).toString() : '';
  return qs ? `${out}?${qs}` : out;
}

/** Changes the query part without re-rendering the page. */
export function replaceQuery(query) {
  const r = parseHash();
  history.replaceState(null, '', href(r.guild, r.page, r.arg, query));
}

export function navigate(to) { location.hash = to; }

export function startRouter(handler) {
  onChange = handler;
  window.addEventListener('hashchange', () => onChange(parseHash(), routes));
  onChange(parseHash(), routes);
}
