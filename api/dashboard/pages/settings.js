// Settings: modules, timezone, language, stats exclusions, XP, level rewards, public board;
// member privacy (opt-out, erase); the audit log of changes.
import { h, mount, field, select } from '../dom.js';
import { get, patch, put, del, post, guildPath, explain } from '../api.js';
import { pageHeader, skeleton, errorPanel, unavailablePanel, emptyState, table, toast, notice } from '../ui.js';
import { dateTime } from '../format.js';

const ids = v => String(v || '').split(/[\s,]+/).filter(x => /^[0-9]+$/.test(x));

export async function render(ctx) {
  const { guild, view, signal } = ctx;
  const formBox = h('div', { class: 'panel' }, skeleton('block'));
  const audit = h('div', { class: 'panel', 'data-testid': 'audit' }, skeleton('row', 3));
  mount(view,
    pageHeader('Settings', 'How guildflow counts, levels and shows this server.'),
    h('section', { class: 'card section' }, formBox),
    privacy(guild),
    h('section', { class: 'card section' }, h('h2', {}, 'Audit log'), audit));
  loadAudit(guild, audit);

  let settings;
  try {
    settings = await get(guildPath(guild, '/settings'), null, { signal });
  } catch (err) {
    if (err.name === 'AbortError') return;
    mount(formBox, err.unavailable ? unavailablePanel('Server settings', `GET ${guildPath(guild, '/settings')}`, err) : errorPanel(err, () => render(ctx)));
    return;
  }
  drawForm(guild, formBox, settings, () => loadAudit(guild, audit));
}

function drawForm(guild, box, st, onSaved) {
  const mod = k => h('input', { type: 'checkbox', checked: !!st.modules?.[k], 'data-testid': `mod-${k}` });
  const m = { stats: mod('stats'), levels: mod('levels'), automod: mod('automod') };
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : ['UTC'];
  const tz = h('input', { list: 'tz-list', value: st.timezone || 'UTC', 'data-testid': 'set-timezone' });
  const LANGS = [['en', 'English'], ['fr', 'Français'], ['de', 'Deutsch'], ['es', 'Español'], ['pt-BR', 'Português (Brasil)'], ['ja', '日本語']];
  const lang = select(LANGS.some(([v]) => v === st.language) ? LANGS : [[st.language, st.language], ...LANGS], st.language || 'en', { 'data-testid': 'set-language' });
  const exCh = h('textarea', { rows: 2, value: (st.stats_exclusions?.channels || []).join('\n') });
  const exRo = h('textarea', { rows: 2, value: (st.stats_exclusions?.roles || []).join('\n') });
  const rate = h('input', { type: 'number', min: 0, max: 1000, value: st.xp?.rate_percent ?? 100 });
  const cooldown = h('input', { type: 'number', min: 0, max: 3600, value: st.xp?.cooldown_seconds ?? 60 });
  const curve = select([['sqrt', 'Square root (level = √(XP/100))'], ['mee6', 'MEE6-compatible']], st.xp?.curve || 'sqrt');
  const pub = h('input', { type: 'checkbox', checked: !!st.leaderboard_public });
  const rewards = (st.level_rewards || []).map(r => ({ ...r }));
  const rewardRows = h('div', { class: 'panel' });
  const drawRewards = () => mount(rewardRows, rewards.length ? rewards.map((r, i) => h('div', { class: 'filters' },
    field('Level', h('input', { type: 'number', min: 1, value: r.level, onchange: e => { r.level = Number(e.target.value); } })),
    field('Role id', h('input', { inputmode: 'numeric', value: r.role_id, onchange: e => { r.role_id = e.target.value.trim(); } })),
    h('button', { type: 'button', class: 'btn btn-small btn-danger', onclick: () => { rewards.splice(i, 1); drawRewards(); } }, 'Remove'))) : h('p', { class: 'muted small' }, 'No role reward.'));
  drawRewards();
  const msg = h('div', { 'aria-live': 'polite' });
  const meta = h('p', { class: 'muted small' }, st.updated_at ? `Last changed ${dateTime(st.updated_at)}${st.updated_by ? ` by ${st.updated_by}` : ''}` : 'Never changed: defaults apply.');

  const read = () => ({
    modules: { stats: m.stats.checked, levels: m.levels.checked, automod: m.automod.checked },
    timezone: tz.value.trim(),
    language: lang.value.trim(),
    stats_exclusions: { channels: ids(exCh.value), roles: ids(exRo.value) },
    xp: { rate_percent: Number(rate.value), cooldown_seconds: Number(cooldown.value), curve: curve.value },
    level_rewards: rewards.filter(r => r.role_id).map(r => ({ level: r.level, role_id: r.role_id })),
    leaderboard_public: pub.checked,
  });
  const save = async e => {
    e.preventDefault();
    const next = read();
    const changes = Object.fromEntries(Object.entries(next).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(st[k])));
    if (!Object.keys(changes).length) { mount(msg, notice('Nothing changed.')); return; }
    try {
      const saved = await patch(guildPath(guild, '/settings'), changes);
      toast('Settings saved', 'ok');
      drawForm(guild, box, saved, onSaved);
      onSaved?.();
    } catch (err) { mount(msg, errorPanel(err)); }
  };
  mount(box, h('form', { class: 'panel', onsubmit: save, 'data-testid': 'settings-form' },
    h('fieldset', {}, h('legend', {}, 'Modules'), h('div', { class: 'filters' },
      h('label', { class: 'check switch' }, m.stats, 'Statistics'), h('label', { class: 'check switch' }, m.levels, 'Levels & XP'), h('label', { class: 'check switch' }, m.automod, 'Automod'))),
    h('div', { class: 'form-grid' },
      field('Timezone (IANA name, UTC or +02:00)', tz), field('Language', lang),
      h('datalist', { id: 'tz-list' }, zones.map(z => h('option', { value: z })))),
    h('fieldset', {}, h('legend', {}, 'Not counted in statistics'), h('div', { class: 'form-grid' }, field('Channel ids', exCh), field('Role ids', exRo))),
    h('fieldset', {}, h('legend', {}, 'XP'), h('div', { class: 'form-grid' }, field('XP rate (%)', rate), field('Cooldown between XP gains (s)', cooldown), field('Level curve', curve))),
    h('fieldset', {}, h('legend', {}, 'Level rewards'), rewardRows,
      h('div', {}, h('button', { type: 'button', class: 'btn btn-small', onclick: () => { rewards.push({ level: 5, role_id: '' }); drawRewards(); } }, '+ Add reward'))),
    h('label', { class: 'check switch' }, pub, 'Public leaderboard (visible without logging in)'),
    msg,
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'settings-save' }, 'Save settings'), meta)));
}

function privacy(guild) {
  const user = h('input', { inputmode: 'numeric', required: true, placeholder: 'member id' });
  const out = h('div', { 'aria-live': 'polite' });
  const act = (label, fn, danger) => h('button', { type: 'button', class: `btn${danger ? ' btn-danger' : ''}`, onclick: async () => {
    const id = user.value.trim();
    if (!/^[1-9][0-9]{0,19}$/.test(id)) { mount(out, notice('Enter a member id (digits).', 'error')); return; }
    if (danger && !confirm(`Erase every stored event of member ${id}? This cannot be undone.`)) return;
    try { await fn(id); mount(out, notice(`${label}: done for ${id}.`)); } catch (err) {
      mount(out, err.unavailable ? unavailablePanel(label, err.route || 'member privacy routes', err) : errorPanel(err));
    }
  } }, label);
  const base = id => guildPath(guild, `/members/${encodeURIComponent(id)}`);
  const wrap = fn => async id => { try { return await fn(id); } catch (e) { e.route = `${base(id)}/…`; throw e; } };
  return h('section', { class: 'card section' },
    h('div', {}, h('h2', {}, 'Member privacy'), h('p', { class: 'muted small' }, 'Opt a member out of statistics, or erase their raw events (GDPR requests).')),
    h('div', { class: 'filters' }, field('Member id', user),
      act('Opt out', wrap(id => put(`${base(id)}/opt-out`))),
      act('Opt back in', wrap(id => del(`${base(id)}/opt-out`))),
      act('Erase data', wrap(id => post(`${base(id)}/erase`)), true)),
    out);
}

async function loadAudit(guild, box, cursor, prev = []) {
  try {
    const res = await get(guildPath(guild, '/audit/logs'), { limit: 25, cursor });
    const entries = prev.concat(res.entries);
    const js = v => JSON.stringify(v);
    // Only what changed: the keys whose value differs (whole values for creations/deletions).
    const change = e => {
      const b = e.before, a = e.after;
      if (b && a && typeof b === 'object' && typeof a === 'object' && !Array.isArray(b)) {
        const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].filter(k => js(b[k]) !== js(a[k]));
        if (!keys.length) return h('span', { class: 'muted' }, 'no change');
        return h('ul', { class: 'diff' }, keys.map(k => h('li', {}, h('strong', {}, k), ': ', h('code', { class: 'small' }, (js(b[k]) ?? '—').slice(0, 120)), ' → ', h('code', { class: 'small' }, (js(a[k]) ?? '—').slice(0, 120)))));
      }
      if (a === null || a === undefined) return h('span', {}, 'removed ', h('code', { class: 'small' }, (js(b) || '').slice(0, 160)));
      return h('span', {}, b === null || b === undefined ? 'created ' : '', h('code', { class: 'small' }, (js(a) || '').slice(0, 160)));
    };
    mount(box, entries.length ? table([
      { label: 'When', cell: e => h('span', { class: 'small' }, dateTime(e.at)) },
      { label: 'Who', cell: e => h('span', { class: 'mono small' }, e.actor_id || 'guildflow') },
      { label: 'What', cell: e => h('span', {}, e.action, e.target ? h('span', { class: 'muted small' }, ` · ${typeof e.target === 'string' ? e.target : js(e.target)}`) : '') },
      { label: 'Change', class: 'wrap', cell: change },
    ], entries, { caption: 'Audit log' }) : emptyState('No change yet', 'Every settings, rule and warning change is recorded here.'),
    res.next_cursor ? h('button', { type: 'button', class: 'btn', onclick: () => loadAudit(guild, box, res.next_cursor, entries) }, 'Load more') : null);
  } catch (err) {
    mount(box, err.unavailable ? unavailablePanel('The audit log', `GET ${guildPath(guild, '/audit/logs')}`, err) : errorPanel(err));
  }
}
