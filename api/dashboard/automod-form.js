// The automod rule editor form: AutomodRule JSON (dataflow/src/automod/config.rs) <-> inputs.
import { h, mount, field, select } from './dom.js';

export const TRIGGERS = [
  ['message_rate', 'Message rate (spam)'],
  ['duplicate_content', 'Duplicate messages'],
  ['caps', 'Excessive caps'],
  ['links', 'Links'],
  ['invites', 'Discord invites'],
  ['banned_words', 'Banned words'],
  ['regex', 'Regular expressions'],
  ['mention_spam', 'Mention spam'],
];
export const ACTIONS = [['delete', 'Delete message'], ['warn', 'Warn'], ['timeout', 'Timeout'], ['kick', 'Kick'], ['ban', 'Ban']];

const lines = v => String(v || '').split(/[\n,]+/).map(x => x.trim()).filter(Boolean);
const ids = v => lines(v).filter(x => /^[0-9]+$/.test(x));

export function describeTrigger(t) {
  switch (t.type) {
    case 'message_rate': return `more than ${t.max_messages} messages in ${t.per_seconds} s`;
    case 'duplicate_content': return `same message more than ${t.max_repeats}× in ${t.per_seconds} s`;
    case 'caps': return `over ${t.max_ratio_percent}% capitals (≥ ${t.min_letters ?? 6} letters)`;
    case 'links': return t.mode?.type === 'block_all' ? 'any link' : t.mode?.type === 'allow_list' ? `links outside ${t.mode.domains.join(', ')}` : `links to ${(t.mode?.domains || []).join(', ')}`;
    case 'invites': return t.allowed_codes?.length ? `invites except ${t.allowed_codes.join(', ')}` : 'any server invite';
    case 'banned_words': return `${t.words.length} banned word${t.words.length === 1 ? '' : 's'}`;
    case 'regex': return `${t.patterns.length} pattern${t.patterns.length === 1 ? '' : 's'}`;
    case 'mention_spam': return `more than ${t.max_mentions} mentions`;
    default: return t.type;
  }
}

export const describeAction = a => (a.type === 'timeout' ? `timeout ${a.seconds} s` : a.type);

/** Builds the form for `rule` (or a blank one). Returns {el, read(): rule (without id)}. */
export function ruleForm(rule) {
  const r = rule || { name: '', enabled: true, trigger: { type: 'message_rate', max_messages: 5, per_seconds: 5 }, actions: [{ type: 'delete' }], exempt_roles: [], exempt_channels: [] };
  const name = h('input', { name: 'name', required: true, maxlength: 100, value: r.name, 'data-testid': 'rule-name' });
  const enabled = h('input', { type: 'checkbox', checked: r.enabled !== false, 'data-testid': 'rule-enabled' });
  const type = select(TRIGGERS, r.trigger.type, { 'data-testid': 'rule-trigger' });
  const params = h('div', { class: 'form-grid' });
  const inputs = {};
  const numInput = (key, val, min, max) => (inputs[key] = h('input', { type: 'number', min, max, required: true, value: val ?? '', 'data-testid': `t-${key}` }));
  const textArea = (key, val) => (inputs[key] = h('textarea', { rows: 3, value: (val || []).join('\n'), 'data-testid': `t-${key}` }));
  const drawParams = (t) => {
    for (const k of Object.keys(inputs)) delete inputs[k];
    const T = t || {};
    switch (type.value) {
      case 'message_rate': mount(params, field('Messages allowed', numInput('max_messages', T.max_messages ?? 5, 1, 1000)), field('Per seconds', numInput('per_seconds', T.per_seconds ?? 5, 1, 3600))); break;
      case 'duplicate_content': mount(params, field('Repeats allowed', numInput('max_repeats', T.max_repeats ?? 2, 1, 50)), field('Per seconds', numInput('per_seconds', T.per_seconds ?? 30, 1, 3600))); break;
      case 'caps': mount(params, field('Max uppercase %', numInput('max_ratio_percent', T.max_ratio_percent ?? 70, 0, 100)), field('Ignore messages under (letters)', numInput('min_letters', T.min_letters ?? 6, 0, 10000))); break;
      case 'links': {
        inputs.mode = select([['block_all', 'Block every link'], ['allow_list', 'Only allow these domains'], ['deny_list', 'Block these domains']], T.mode?.type || 'block_all', { 'data-testid': 't-mode' });
        mount(params, field('Mode', inputs.mode), field('Domains (one per line)', textArea('domains', T.mode?.domains)));
        break;
      }
      case 'invites': mount(params, field('Allowed invite codes (one per line)', textArea('allowed_codes', T.allowed_codes))); break;
      case 'banned_words': mount(params, field('Words (one per line; * is a wildcard at either end)', textArea('words', T.words))); break;
      case 'regex': mount(params, field('Patterns (one per line, Rust regex syntax)', textArea('patterns', T.patterns))); break;
      case 'mention_spam': mount(params, field('Mentions allowed per message', numInput('max_mentions', T.max_mentions ?? 5, 0, 1000))); break;
      default: break;
    }
  };
  type.addEventListener('change', () => drawParams(null));
  drawParams(r.trigger);

  const acts = {};
  const timeoutSecs = h('input', { type: 'number', min: 1, max: 2419200, value: (r.actions.find(a => a.type === 'timeout') || {}).seconds || 600, 'aria-label': 'Timeout seconds', 'data-testid': 'a-timeout-seconds' });
  const actionBox = h('fieldset', {}, h('legend', {}, 'Actions'), h('div', { class: 'filters' }, ACTIONS.map(([k, label]) => {
    acts[k] = h('input', { type: 'checkbox', checked: r.actions.some(a => a.type === k), 'data-testid': `a-${k}` });
    return h('label', { class: 'check' }, acts[k], label, k === 'timeout' ? [' for ', timeoutSecs, ' s'] : null);
  })));
  const roles = h('textarea', { rows: 2, value: (r.exempt_roles || []).join('\n') });
  const chans = h('textarea', { rows: 2, value: (r.exempt_channels || []).join('\n') });

  const el = h('div', { class: 'panel' },
    h('div', { class: 'form-grid' }, field('Name', name), field('Trigger', type), h('label', { class: 'check switch' }, enabled, 'Enabled')),
    params, actionBox,
    h('details', {}, h('summary', {}, 'Exemptions'), h('div', { class: 'form-grid' }, field('Exempt role ids (one per line)', roles), field('Exempt channel ids (one per line)', chans))));

  const read = () => {
    const t = { type: type.value };
    const n = k => Number(inputs[k].value);
    switch (t.type) {
      case 'message_rate': Object.assign(t, { max_messages: n('max_messages'), per_seconds: n('per_seconds') }); break;
      case 'duplicate_content': Object.assign(t, { max_repeats: n('max_repeats'), per_seconds: n('per_seconds') }); break;
      case 'caps': Object.assign(t, { max_ratio_percent: n('max_ratio_percent'), min_letters: n('min_letters') }); break;
      case 'links': t.mode = inputs.mode.value === 'block_all' ? { type: 'block_all' } : { type: inputs.mode.value, domains: lines(inputs.domains.value) }; break;
      case 'invites': t.allowed_codes = lines(inputs.allowed_codes.value); break;
      case 'banned_words': t.words = lines(inputs.words.value); break;
      case 'regex': t.patterns = String(inputs.patterns.value).split('\n').map(x => x.trim()).filter(Boolean); break;
      case 'mention_spam': t.max_mentions = n('max_mentions'); break;
      default: break;
    }
    const actions = ACTIONS.filter(([k]) => acts[k].checked).map(([k]) => (k === 'timeout' ? { type: 'timeout', seconds: Number(timeoutSecs.value) } : { type: k }));
    return { name: name.value.trim(), enabled: enabled.checked, trigger: t, actions, exempt_roles: ids(roles.value), exempt_channels: ids(chans.value) };
  };
  return { el, read };
}
