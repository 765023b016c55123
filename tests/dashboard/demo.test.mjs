// The dashboard on a live demo (simulated Discord gateway, real shards, OAuth through the
// simulator): log in, every page, the live leaderboard moving, SQL with the session's CSRF
// token, automod firing (when the admin API is there), log out.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitHealthy, launchBrowser, openPage, shot, apiGet, apiFetch, routeExists } from './lib.mjs';

let server, browser, context, page, guild;

const settle = p => p.waitForFunction(() => !document.querySelector('.skel, [aria-busy="true"]'), null, { timeout: 20000 });
async function goto(p, hash) {
  await p.goto(`${server.url}/${hash}`);
  await p.locator('.page-title').first().waitFor();
  await settle(p);
}

describe('dashboard on the live demo (auth on)', () => {
  before(async () => {
    server = await startServer(['demo', '--rate', '400', '--guilds', '20', '--duration', '900']);
    await waitHealthy(server.url);
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await openPage(context);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('logs in with Discord (the simulator) and lists the administered servers', async () => {
    await page.goto(`${server.url}/`);
    const login = page.locator('[data-testid="login"]');
    await login.waitFor();
    assert.equal(await login.getAttribute('href'), '/auth/login');
    await shot(page, 'demo-login');
    await login.click();
    await page.waitForURL(`${server.url}/`);
    await page.locator('[data-testid="guild-list"]').waitFor();
    const me = (await apiGet(page, '/api/me')).body;
    assert.equal(me.credential, 'session');
    assert.ok(me.guilds.length > 0, 'the simulated owner administers some guild');
    assert.equal(await page.locator('.user-name').innerText(), me.user.username || me.user.id);
    const listed = await page.locator('[data-testid="guild-list"] a').evaluateAll(as => as.map(a => decodeURIComponent(a.getAttribute('href').split('/')[2])));
    const expected = (await routeExists(page, '/api/guilds')) ? (await apiGet(page, '/api/guilds')).body.guilds.map(g => g.id) : me.guilds;
    assert.deepEqual(listed.sort(), [...expected].sort());
    // The guild with the most activity, for the next tests.
    let best = -1;
    for (const g of me.guilds) {
      const r = await apiGet(page, `/api/guilds/${g}/stats`);
      const n = r.status === 200 ? r.body.messages_today : -1;
      if (n > best) { best = n; guild = g; }
    }
    assert.ok(guild);
    await shot(page, 'demo-guilds');
    assert.deepEqual(page.problems, []);
  });

  test('the live leaderboard changes while the simulator sends traffic', async () => {
    await goto(page, `#/g/${guild}/overview`);
    const board = page.locator('[data-testid="live-board"]');
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="live-board"]')?.dataset.frames || 0) > 0, null, { timeout: 20000 });
    const snapshot = () => board.locator('.live-row').evaluateAll(els => els.map(e => `${e.dataset.user}=${e.dataset.value}`).join(','));
    const first = await snapshot();
    const frames0 = Number(await board.getAttribute('data-frames'));
    await page.waitForFunction(([before, n0]) => {
      const b = document.querySelector('[data-testid="live-board"]');
      const now = [...b.querySelectorAll('.live-row')].map(e => `${e.dataset.user}=${e.dataset.value}`).join(',');
      return Number(b.dataset.frames) > n0 && now !== before;
    }, [first, frames0], { timeout: 30000 });
    assert.notEqual(await snapshot(), first);
    assert.equal(await page.locator('#live-status').innerText(), 'Live');
    await shot(page, 'demo-overview');
    assert.deepEqual(page.problems, []);
  });

  test('every page renders without console errors', async () => {
    const member = (await apiGet(page, `/api/guilds/${guild}/leaderboard?per_page=1`)).body.entries[0].user_id;
    for (const [hash, name] of [
      [`#/g/${guild}/leaderboard?metric=messages&period=day`, 'leaderboard'],
      [`#/g/${guild}/leaderboard?metric=score&period=24h`, 'leaderboard-window'],
      [`#/g/${guild}/member/${member}`, 'member'],
      [`#/g/${guild}/automod`, 'automod'],
      [`#/g/${guild}/moderation`, 'moderation'],
      [`#/g/${guild}/moderation?tab=warnings`, 'warnings'],
      [`#/g/${guild}/settings`, 'settings'],
      [`#/g/${guild}/sql`, 'sql'],
      [`#/g/${guild}/health`, 'health'],
    ]) {
      await goto(page, hash);
      await page.waitForTimeout(300);
      assert.deepEqual(page.problems, [], `${name}: ${page.problems.join('\n')}`);
      await shot(page, `demo-${name}`);
    }
  });

  test('pipeline health shows every shard and a positive event rate', async () => {
    await goto(page, `#/g/${guild}/health`);
    const health = (await apiGet(page, '/health')).body;
    await page.locator('[data-testid="h-shards"]').waitFor();
    assert.equal(await page.locator('[data-testid="h-shards"] tbody tr').count(), health.shards.length);
    await page.waitForFunction(() => /^[0-9.,k]+$/i.test(document.querySelector('[data-testid="h-rate"] .stat-value')?.innerText || ''), null, { timeout: 10000 });
    const rate = Number((await page.locator('[data-testid="h-rate"] .stat-value').innerText()).replace(/,/g, ''));
    assert.ok(rate > 0, `events/s shown: ${rate}`);
    await shot(page, 'demo-health');
  });

  test('runs a SQL query with the session (CSRF header) and shows the table', async () => {
    await goto(page, `#/g/${guild}/sql`);
    await page.fill('[data-testid="sql-input"]', "SELECT kind, count(*) AS n FROM events GROUP BY kind ORDER BY n DESC");
    await page.click('[data-testid="sql-run"]');
    await page.locator('[data-testid="sql-table"]').waitFor({ timeout: 20000 });
    const rows = await page.locator('[data-testid="sql-table"] tbody tr').count();
    assert.ok(rows > 0);
    assert.match(await page.locator('[data-testid="sql-table"]').innerText(), /message_create/);
    assert.match(await page.locator('[data-testid="sql-meta"]').innerText(), new RegExp(`^${rows} rows?`));
    await shot(page, 'demo-sql');
    assert.deepEqual(page.problems, []);
  });

  test('an automod rule created in the editor fires and its action appears in the moderation log', async t => {
    const rulesRoute = `/api/guilds/${guild}/automod/rules`;
    if (!(await routeExists(page, rulesRoute))) {
      // The page must say so rather than break.
      await goto(page, `#/g/${guild}/automod`);
      assert.match(await page.locator('.unavailable').innerText(), /not available/);
      t.skip(`TODO(admin API): GET ${rulesRoute} is not on this build yet; re-run when it lands`);
      return;
    }
    const name = `e2e burst ${Date.now()}`;
    await goto(page, `#/g/${guild}/automod`);
    await page.click('[data-testid="rule-new"]');
    await page.fill('[data-testid="rule-name"]', name);
    await page.selectOption('[data-testid="rule-trigger"]', 'message_rate');
    await page.fill('[data-testid="t-max_messages"]', '1');
    await page.fill('[data-testid="t-per_seconds"]', '3600');
    await page.uncheck('[data-testid="a-delete"]');
    await page.check('[data-testid="a-warn"]');
    // The test box evaluates the rule on sample messages.
    if (await routeExists(page, `${rulesRoute}/test`)) {
      await page.fill('[data-testid="rule-test-input"]', 'hello\nhello again');
      await page.click('[data-testid="rule-test-run"]');
      await page.locator('[data-testid="rule-test-results"] .result').first().waitFor();
      // One message an hour allowed: the second sample fires.
      assert.deepEqual(await page.locator('[data-testid="rule-test-results"] .result').evaluateAll(rs => rs.map(r => r.dataset.fired)), ['false', 'true']);
    }
    await page.click('[data-testid="rule-save"]');
    const item = page.locator('[data-testid="rules"] li', { hasText: name });
    await item.waitFor();
    const ruleId = await item.getAttribute('data-rule-id');
    await shot(page, 'demo-automod-rule');
    // The simulator's members post more than one message an hour: the rule fires.
    if (!(await routeExists(page, `/api/guilds/${guild}/moderation/logs`))) {
      t.todo(`TODO(admin API): GET /api/guilds/${guild}/moderation/logs is not on this build yet; the firing is not checked`);
    } else {
      await goto(page, `#/g/${guild}/moderation?source=automod`);
      const entry = page.locator('[data-testid="modlog-table"] tbody tr', { hasText: name });
      for (let i = 0; i < 30 && !(await entry.count()); i++) {
        await page.waitForTimeout(1000);
        if (i % 5 === 4) await page.click('form.filters button[type="submit"]');
      }
      assert.ok(await entry.count() > 0, 'a moderation log entry of the new rule appears');
      await shot(page, 'demo-moderation');
    }
    const csrf = (await apiGet(page, '/api/me')).body.csrf_token;
    assert.equal((await apiFetch(page, `${rulesRoute}/${ruleId}`, { method: 'DELETE', csrf })).status, 204);
    assert.deepEqual(page.problems, []);
  });

  test('settings: the form saves a change (PATCH) and the audit log records it', async t => {
    const path = `/api/guilds/${guild}/settings`;
    if (!(await routeExists(page, path))) {
      t.skip(`TODO(admin API): GET ${path} is not on this build yet`);
      return;
    }
    await goto(page, `#/g/${guild}/settings`);
    await page.locator('[data-testid="settings-form"]').waitFor();
    await page.fill('[data-testid="set-timezone"]', 'Europe/Paris');
    await page.click('[data-testid="settings-save"]');
    await page.locator('.toast', { hasText: 'Settings saved' }).waitFor();
    assert.equal((await apiGet(page, path)).body.timezone, 'Europe/Paris');
    // The audit log below the form is reloaded after a save.
    if (await routeExists(page, `/api/guilds/${guild}/audit/logs`)) {
      await page.locator('[data-testid="audit"] tbody tr', { hasText: 'settings.update' }).first().waitFor();
    }
    await page.reload();
    await page.locator('[data-testid="settings-form"]').waitFor();
    assert.equal(await page.inputValue('[data-testid="set-timezone"]'), 'Europe/Paris');
    await shot(page, 'demo-settings-saved');
    assert.deepEqual(page.problems, []);
  });

  test('warnings: a warning given in the form is listed and can be removed', async t => {
    const path = `/api/guilds/${guild}/warnings`;
    if (!(await routeExists(page, path))) {
      t.skip(`TODO(admin API): GET ${path} is not on this build yet`);
      return;
    }
    const member = (await apiGet(page, `/api/guilds/${guild}/leaderboard?per_page=1`)).body.entries[0].user_id;
    const reason = `e2e warning ${Date.now()}`;
    await goto(page, `#/g/${guild}/moderation?tab=warnings`);
    await page.fill('[data-testid="warn-user"]', member);
    await page.fill('[data-testid="warn-reason"]', reason);
    await page.getByRole('button', { name: 'Warn', exact: true }).click();
    const row = page.locator('[data-testid="warnings"] tbody tr', { hasText: reason });
    await row.waitFor();
    const listed = (await apiGet(page, `${path}?user_id=${member}`)).body.warnings;
    assert.ok(listed.some(w => w.reason === reason && w.user_id === member), 'the API lists the warning');
    await shot(page, 'demo-warnings-added');
    page.once('dialog', d => d.accept());
    await row.getByRole('button', { name: 'Remove' }).click();
    await row.waitFor({ state: 'detached' });
    assert.ok(!(await apiGet(page, `${path}?user_id=${member}`)).body.warnings.some(w => w.reason === reason));
    assert.deepEqual(page.problems, []);
  });

  test('logs out', async () => {
    await goto(page, `#/g/${guild}/overview`);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.locator('[data-testid="login"]').waitFor();
    assert.equal((await apiGet(page, '/api/me')).status, 401);
  });
});
