// Automod: rules (enable toggle, edit, delete), editor with presets and a test box, escalation.
import { h, mount, field, select } from '../dom.js';
import { get, post, patch, put, del, guildPath, explain } from '../api.js';
import { pageHeader, skeleton, errorPanel, emptyState, unavailablePanel, toast, notice } from '../ui.js';
import { ruleForm, describeTrigger, describeAction, ACTIONS } from '../automod-form.js';
import { duration } from '../format.js';

export async function render(ctx) {
  const { guild, view, signal } = ctx;
  const base = guildPath(guild, '/automod');
  const editorBox = h('div', {});
  const listBox = h('div', { class: 'panel' }, skeleton('row', 4));
  const escBox = h('div', { class: 'panel' }, skeleton('row', 2));
  const newBtn = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'rule-new', onclick: () => openEditor(null) }, '+ New rule');
  mount(view,
    pageHeader('Automod', 'Rules run on every counted message, in order; actions are logged in Moderation.', newBtn),
    editorBox,
    h('section', { class: 'card section' }, h('h2', {}, 'Rules'), listBox),
    h('section', { class: 'card section' }, h('div', {}, h('h2', {}, 'Escalation'), h('p', { class: 'muted small' }, 'After each warning, the matching step with the most warnings wins.')), escBox));

  let config, presets = [];
  try {
    [config, presets] = await Promise.all([
      get(`${base}/rules`, null, { signal }),
      get(`${base}/presets`, null, { signal }).then(p => p.presets || []).catch(() => []),
    ]);
  } catch (err) {
    if (err.name === 'AbortError') return;
    newBtn.disabled = true;
    escBox.closest('section').remove();
    mount(listBox, err.unavailable ? unavailablePanel('Automod configuration', `GET ${base}/rules`, err) : errorPanel(err, () => render(ctx)));
    return;
  }

  const drawList = () => {
    if (!config.rules.length) {
      mount(listBox, emptyState('No rule yet', 'Start from a preset such as anti-spam or anti-links.', h('button', { type: 'button', class: 'btn btn-primary', onclick: () => openEditor(null) }, 'Create a rule')));
      return;
    }
    mount(listBox, h('ul', { class: 'rules', 'data-testid': 'rules' }, config.rules.map(rule => {
      const toggle = h('input', { type: 'checkbox', checked: rule.enabled, 'aria-label': `Enable ${rule.name}`, 'data-testid': `rule-toggle-${rule.id}` });
      toggle.addEventListener('change', async () => {
        toggle.disabled = true;
        try {
          const updated = await patch(`${base}/rules/${rule.id}`, { enabled: toggle.checked });
          Object.assign(rule, updated);
          toast(`${rule.name} ${rule.enabled ? 'enabled' : 'disabled'}`, 'ok');
        } catch (err) { toggle.checked = !toggle.checked; toast(explain(err), 'error'); }
        toggle.disabled = false;
      });
      return h('li', { class: 'rule card', 'data-rule-id': String(rule.id) },
        h('label', { class: 'switch' }, toggle),
        h('div', { class: 'rule-body' },
          h('strong', {}, rule.name),
          h('div', { class: 'rule-meta' },
            h('span', { class: 'chip accent' }, describeTrigger(rule.trigger)),
            rule.actions.map(a => h('span', { class: 'chip' }, describeAction(a))),
            rule.exempt_roles?.length || rule.exempt_channels?.length ? h('span', { class: 'chip' }, `${rule.exempt_roles.length} roles, ${rule.exempt_channels.length} channels exempt`) : null)),
        h('div', { class: 'form-actions' },
          h('button', { type: 'button', class: 'btn btn-small', onclick: () => openEditor(rule) }, 'Edit'),
          h('button', { type: 'button', class: 'btn btn-small btn-danger', onclick: async () => {
            if (!confirm(`Delete the rule “${rule.name}”?`)) return;
            try { await del(`${base}/rules/${rule.id}`); config.rules = config.rules.filter(x => x !== rule); drawList(); toast('Rule deleted', 'ok'); } catch (err) { toast(explain(err), 'error'); }
          } }, 'Delete')));
    })));
  };

  function openEditor(rule) {
    let form = ruleForm(rule);
    const formBox = h('div', {}, form.el);
    const msg = h('div', { 'aria-live': 'polite' });
    const presetSel = presets.length ? select([['', 'Start from a preset…'], ...presets.map(p => [p.name, p.name])], '', { 'data-testid': 'rule-preset' }) : null;
    presetSel?.addEventListener('change', () => {
      const p = presets.find(x => x.name === presetSel.value);
      if (p) { form = ruleForm({ ...p.rule }); mount(formBox, form.el); }
    });
    const testInput = h('textarea', { rows: 4, placeholder: 'One message per line', 'data-testid': 'rule-test-input' });
    const testOut = h('div', { class: 'panel', 'aria-live': 'polite', 'data-testid': 'rule-test-results' });
    const runTest = async () => {
      const messages = testInput.value.split('\n').filter(x => x.length).map(content => ({ content }));
      if (!messages.length) { mount(testOut, h('p', { class: 'muted' }, 'Type at least one message.')); return; }
      mount(testOut, skeleton('row', 2));
      try {
        const res = await post(`${base}/rules/test`, { rule: form.read(), messages });
        mount(testOut, res.results.map(r => h('div', { class: `result${r.fired ? ' fired' : ''}`, 'data-fired': String(r.fired) },
          h('strong', {}, r.fired ? `Fires: ${r.actions.map(describeAction).join(', ')}` : 'Passes'), ' — ',
          h('span', { class: 'mono' }, messages[r.index]?.content ?? ''),
          r.evidence ? h('div', { class: 'muted small' }, r.evidence.detail, r.evidence.matched ? ` (matched “${r.evidence.matched}”)` : '') : null)));
      } catch (err) {
        mount(testOut, err.unavailable ? unavailablePanel('Rule testing', `POST ${base}/rules/test`, err) : errorPanel(err));
      }
    };
    const save = async e => {
      e.preventDefault();
      const body = form.read();
      if (!body.actions.length) { mount(msg, notice('Choose at least one action.', 'error')); return; }
      try {
        if (rule) {
          const updated = await patch(`${base}/rules/${rule.id}`, body);
          Object.assign(rule, updated);
        } else {
          config.rules.push(await post(`${base}/rules`, body));
        }
        toast(rule ? 'Rule saved' : 'Rule created', 'ok');
        editorBox.replaceChildren();
        drawList();
      } catch (err) { mount(msg, errorPanel(err)); }
    };
    mount(editorBox, h('section', { class: 'card section', 'data-testid': 'rule-editor', 'aria-labelledby': 'editor-title' },
      h('div', { class: 'section-head' }, h('h2', { id: 'editor-title', tabindex: '-1' }, rule ? `Edit “${rule.name}”` : 'New rule'), presetSel),
      h('form', { class: 'panel', onsubmit: save }, formBox, msg,
        h('div', { class: 'form-actions' },
          h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'rule-save' }, rule ? 'Save rule' : 'Create rule'),
          h('button', { type: 'button', class: 'btn', onclick: () => editorBox.replaceChildren() }, 'Cancel'))),
      h('div', { class: 'panel' }, h('h3', {}, 'Try it'), field('Test messages (nothing is posted or stored)', testInput),
        h('div', {}, h('button', { type: 'button', class: 'btn', onclick: runTest, 'data-testid': 'rule-test-run' }, 'Test rule')), testOut)));
    editorBox.querySelector('#editor-title').focus();
  }

  const drawEscalation = () => {
    const steps = (config.escalation || []).map(s => ({ ...s }));
    const rows = h('div', { class: 'panel' });
    const drawRows = () => mount(rows, steps.length ? steps.map((st, i) => {
      const w = h('input', { type: 'number', min: 1, max: 100, value: st.warnings, 'aria-label': 'Warnings', onchange: e => { st.warnings = Number(e.target.value); } });
      const within = h('input', { type: 'number', min: 1, value: Math.round(st.within_seconds / 3600), 'aria-label': 'Within hours', onchange: e => { st.within_seconds = Number(e.target.value) * 3600; } });
      const act = select(ACTIONS.filter(([k]) => ['timeout', 'kick', 'ban'].includes(k)), st.action.type, { 'aria-label': 'Action', onchange: e => { st.action = e.target.value === 'timeout' ? { type: 'timeout', seconds: 3600 } : { type: e.target.value }; } });
      return h('div', { class: 'filters' }, w, h('span', {}, 'warnings within'), within, h('span', {}, 'hours →'), act,
        st.action.type === 'timeout' ? h('span', { class: 'muted small' }, `(${duration(st.action.seconds)})`) : null,
        h('button', { type: 'button', class: 'btn btn-small btn-danger', onclick: () => { steps.splice(i, 1); drawRows(); } }, 'Remove'));
    }) : h('p', { class: 'muted' }, 'No escalation: warnings are only recorded.'));
    drawRows();
    mount(escBox, rows, h('div', { class: 'form-actions' },
      h('button', { type: 'button', class: 'btn', onclick: () => { steps.push({ warnings: 3, within_seconds: 86400, action: { type: 'timeout', seconds: 3600 } }); drawRows(); } }, '+ Add step'),
      h('button', { type: 'button', class: 'btn btn-primary', onclick: async () => {
        try { const res = await put(`${base}/escalation`, steps); config.escalation = res.escalation || steps; toast('Escalation saved', 'ok'); } catch (err) { toast(explain(err), 'error'); }
      } }, 'Save escalation')));
  };
  drawList();
  drawEscalation();
}
