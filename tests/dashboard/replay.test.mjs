// The dashboard over the fixed capture (replay --serve, auth off): every page renders without
// console errors, and the figures shown equal the API's JSON.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, waitHealthy, launchBrowser, openPage, shot, FIXTURE } from './lib.mjs';

const G = '553503713839284297';
const GUILDS = ['553503713839284297', '503450714173866110', '1179163838730207253'];
const TOP = '985843678167695439';
let server, browser, context;

const api = async path => {
  const r = await fetch(`${server.url}${path}`);
  assert.equal(r.status, 200, `${path} answered ${r.status}`);
  return r.json();
};
const settle = page => page.waitForFunction(() => !document.querySelector('.skel, [aria-busy="true"]'), null, { timeout: 15000 });
async function open(hash, { width = 1280, theme } = {}) {
  const page = await openPage(context);
  await page.setViewportSize({ width, height: 900 });
  if (theme) await page.emulateMedia({ colorScheme: theme });
  await page.goto(`${server.url}/${hash}`);
  await page.locator('.page-title').first().waitFor();
  await settle(page);
  return page;
}

describe('dashboard over the fixture capture (replay --serve)', () => {
  before(async () => {
    server = await startServer(['replay', FIXTURE, '--serve']);
    await waitHealthy(server.url);
    browser = await launchBrowser();
    context = await browser.newContext();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('every page renders without console errors', async () => {
    const pages = [
      ['#/', 'home'],
      [`#/g/${G}/overview`, 'overview'],
      [`#/g/${G}/leaderboard`, 'leaderboard'],
      [`#/g/${G}/member`, 'members'],
      [`#/g/${G}/member/${TOP}`, 'member'],
      [`#/g/${G}/automod`, 'automod'],
      [`#/g/${G}/moderation`, 'moderation'],
      [`#/g/${G}/moderation?tab=warnings`, 'warnings'],
      [`#/g/${G}/settings`, 'settings'],
      [`#/g/${G}/sql`, 'sql'],
      [`#/g/${G}/health`, 'health'],
    ];
    for (const [hash, name] of pages) {
      const page = await open(hash);
      if (name === 'health') await page.waitForFunction(() => document.querySelector('[data-testid="h-status"] [data-status]'));
      await page.waitForTimeout(300);
      assert.deepEqual(page.problems, [], `${name}: ${page.problems.join('\n')}`);
      await shot(page, `replay-${name}`);
      await page.close();
    }
  });

  test('overview figures equal GET /stats and the live top 10 equals GET /leaderboard', async () => {
    for (const g of GUILDS) {
      const stats = await api(`/api/guilds/${g}/stats`);
      const page = await open(`#/g/${g}/overview`);
      const val = id => page.locator(`[data-testid="${id}"] .stat-value`).getAttribute('data-value');
      assert.equal(await val('stat-members'), String(stats.member_count));
      assert.equal(await val('stat-active'), String(stats.active_members['7d']));
      assert.equal(await val('stat-messages'), String(stats.messages_today));
      assert.equal(await val('stat-voice'), String(stats.voice_seconds_today));
      assert.equal((await page.locator('[data-testid="stat-messages"] .stat-value').innerText()).replace(/,/g, ''), String(stats.messages_today));
      const sum = (arr, n) => arr.slice(-n).reduce((a, p) => a + p.value, 0);
      for (const [id, key] of [['chart-messages', 'messages'], ['chart-voice', 'voice_seconds'], ['chart-reactions', 'reactions']]) {
        assert.equal(await page.locator(`[data-testid="${id}"] .chart-total`).getAttribute('data-total'), String(sum(stats.daily[key], 7)), `${g} ${id} 7 d`);
      }
      await page.click('[data-testid="range-30"]');
      assert.equal(await page.locator('[data-testid="chart-messages"] .chart-total').getAttribute('data-total'), String(sum(stats.daily.messages, 30)));
      // Top channels: same ids and counts, same order (ids from the label's data attribute:
      // the text may be the channel's name).
      const shown = await page.locator('[data-testid="top-channels"] li').evaluateAll(lis => lis.map(li => [li.querySelector('[data-name-channel]')?.dataset.nameChannel, li.querySelector('.barlist-value').innerText.replace(/,/g, '')]));
      assert.deepEqual(shown, stats.top_channels.map(c => [c.channel_id, String(c.messages)]));
      // Live board (websocket snapshot) = REST top 10 of score/day.
      const board = await api(`/api/guilds/${g}/leaderboard?metric=score&period=day&per_page=10`);
      await page.waitForFunction(() => Number(document.querySelector('[data-testid="live-board"]')?.dataset.frames || 0) > 0);
      const rows = await page.locator('[data-testid="live-board"] .live-row').evaluateAll(els => els.map(e => [e.dataset.rank, e.dataset.user, e.dataset.value]));
      assert.deepEqual(rows, board.entries.map(e => [String(e.rank), e.user_id, String(e.value)]));
      assert.deepEqual(page.problems, []);
      await page.close();
    }
  });

  test('the overview shows the names GET /names returns for the live top 10 and top channels', async t => {
    const withNames = [];
    for (const g of GUILDS) {
      const board = await api(`/api/guilds/${g}/leaderboard?metric=score&period=day&per_page=10`);
      const stats = await api(`/api/guilds/${g}/stats`);
      const users = board.entries.map(e => e.user_id), channels = (stats.top_channels || []).map(c => c.channel_id);
      const r = await fetch(`${server.url}/api/guilds/${g}/names?users=${users.join(',')}&channels=${channels.join(',')}`);
      if (r.status === 404 || r.status === 405 || r.status === 501) { t.skip(`TODO: this build has no GET /api/guilds/{g}/names (HTTP ${r.status}); the dashboard shows ids`); return; }
      assert.equal(r.status, 200, `/names answered ${r.status}`);
      const names = await r.json();
      if (Object.keys(names.users || {}).length || Object.keys(names.channels || {}).length) withNames.push([g, users, channels, names]);
    }
    if (!withNames.length) { t.skip('GET /names returns no member or channel name for the fixture capture (its events carry no member lists or channel names)'); return; }
    for (const [g, users, channels, names] of withNames) {
      const page = await open(`#/g/${g}/overview`);
      await page.waitForFunction(() => Number(document.querySelector('[data-testid="live-board"]')?.dataset.frames || 0) > 0);
      // Every id with a name shows it (the id stays in the title and the small text); the others show the id.
      const expectUsers = users.map(id => [id, names.users?.[id] ?? null]);
      const expectChannels = channels.map(id => [id, names.channels?.[id] ? `# ${names.channels[id]}` : null]);
      const read = () => page.evaluate(() => ({
        users: [...document.querySelectorAll('[data-testid="live-board"] .live-row [data-name-user]')].map(e => [e.dataset.nameUser, e.querySelector('.name')?.textContent ?? null, e.title || null]),
        channels: [...document.querySelectorAll('[data-testid="top-channels"] [data-name-channel]')].map(e => [e.dataset.nameChannel, e.querySelector('.name')?.textContent ?? null, e.title || null]),
      }));
      const want = { users: expectUsers.map(([id, n]) => [id, n, n ? id : null]), channels: expectChannels.map(([id, n]) => [id, n, n ? id : null]) };
      await page.waitForFunction(w => {
        const named = sel => [...document.querySelectorAll(sel)].filter(e => e.dataset.named === '1').length;
        return named('[data-testid="live-board"] .live-row [data-name-user]') === w.users.filter(x => x[1]).length
          && named('[data-testid="top-channels"] [data-name-channel]') === w.channels.filter(x => x[1]).length;
      }, want, { timeout: 10000 }).catch(() => {});
      assert.deepEqual(await read(), want, `${g}: names shown`);
      assert.deepEqual(page.problems, []);
      await shot(page, `replay-overview-names-${g}`);
      await page.close();
    }
  });

  test('leaderboard pages equal GET /leaderboard (live periods and a rolling window) and search finds a rank', async () => {
    for (const [metric, period] of [['score', 'all'], ['messages', 'week'], ['voice', 'all'], ['xp', 'all'], ['score', '7d'], ['messages', '30d']]) {
      const board = await api(`/api/guilds/${G}/leaderboard?metric=${metric}&period=${period}&page=1&per_page=25`);
      const page = await open(`#/g/${G}/leaderboard?metric=${metric}&period=${period}`);
      const rows = await page.locator('[data-testid="lb-table"] tbody tr').evaluateAll(trs => trs.map(tr => [tr.cells[0].innerText.trim(), tr.cells[1].querySelector('[data-user]').dataset.user, tr.cells[2].querySelector('[data-value]').dataset.value]));
      assert.deepEqual(rows, board.entries.map(e => [String(e.rank), e.user_id, String(e.value)]), `${metric}/${period}`);
      assert.match(await page.locator('[data-testid="lb-total"]').innerText(), new RegExp(`^${board.total} members ranked`));
      assert.deepEqual(page.problems, []);
      await page.close();
    }
    // Search by part of an id → its rank on the whole board.
    const board = await api(`/api/guilds/${G}/leaderboard?metric=score&period=all&per_page=100`);
    const target = board.entries[board.entries.length - 1];
    const page = await open(`#/g/${G}/leaderboard`);
    await page.fill('[data-testid="lb-search"]', target.user_id.slice(-9));
    await page.keyboard.press('Enter');
    const hit = page.locator('[data-testid="lb-search-results"] tbody tr').filter({ has: page.locator(`[data-user="${target.user_id}"]`) });
    await hit.waitFor();
    assert.equal((await hit.locator('td').first().innerText()).trim(), String(target.rank));
    // Clicking through to its page highlights the member.
    await hit.getByRole('link', { name: /Show on page/ }).click();
    await page.locator('[data-testid="lb-table"] tr.highlight').waitFor();
    assert.equal(await page.locator('[data-testid="lb-table"] tr.highlight [data-user]').getAttribute('data-user'), target.user_id);
    await shot(page, 'replay-leaderboard-search');
    // Search by a known name (case-insensitive), when the build has GET /names and knows one.
    const nr = await fetch(`${server.url}/api/guilds/${G}/names?users=${target.user_id}`);
    const name = nr.status === 200 ? (await nr.json()).users?.[target.user_id] : null;
    if (name) {
      await page.fill('[data-testid="lb-search"]', name.toUpperCase());
      await page.keyboard.press('Enter');
      const byName = page.locator('[data-testid="lb-search-results"] tbody tr').filter({ has: page.locator(`[data-user="${target.user_id}"]`) });
      await byName.waitFor();
      assert.equal((await byName.locator('td').first().innerText()).trim(), String(target.rank));
    }
    assert.deepEqual(page.problems, []);
    await page.close();
  });

  test('member page figures equal GET /members/{u}/stats', async () => {
    const m = await api(`/api/guilds/${G}/members/${TOP}/stats`);
    const page = await open(`#/g/${G}/member/${TOP}`);
    const sum = k => m.daily.reduce((a, d) => a + d[k], 0);
    assert.equal((await page.locator('[data-testid="m-messages"] .stat-value').innerText()).replace(/,/g, ''), String(sum('messages')));
    assert.equal((await page.locator('[data-testid="m-reactions"] .stat-value').innerText()).replace(/,/g, ''), String(sum('reactions')));
    assert.equal(await page.locator('[data-testid="m-level"] .stat-value').innerText(), String(m.level));
    assert.match(await page.locator('[data-testid="m-level"]').innerText(), new RegExp(`${m.xp} XP`));
    const ranks = await page.locator('[data-testid="m-ranks"] tbody tr').evaluateAll(trs => trs.map(tr => tr.cells[2].querySelector('[data-rank]')?.dataset.rank ?? null));
    assert.deepEqual(ranks, ['messages', 'reactions', 'voice', 'score', 'xp'].map(k => (m.ranks[k] === null ? null : String(m.ranks[k]))));
    const periods = await page.locator('[data-testid="m-periods"] tbody tr').evaluateAll(trs => trs.map(tr => [tr.cells[1].innerText, tr.cells[2].innerText, tr.cells[4].innerText, tr.cells[5].innerText]));
    assert.deepEqual(periods, ['day', 'week', 'month', 'all'].map(p => [m.periods[p].messages, m.periods[p].reactions, m.periods[p].score, m.periods[p].xp].map(v => v.toLocaleString('en'))));
    const chans = await page.locator('[data-testid="m-channels"] li').evaluateAll(lis => lis.map(li => [li.querySelector('[data-name-channel]')?.dataset.nameChannel, li.querySelector('.barlist-value').innerText.replace(/,/g, '')]));
    assert.deepEqual(chans, m.top_channels.map(c => [c.channel_id, String(c.messages)]));
    assert.equal(await page.locator('[data-testid="member-title"] [data-name-user]').getAttribute('data-name-user'), TOP);
    assert.deepEqual(page.problems, []);
    await page.close();
  });

  test('SQL console runs a query and shows its table and chart', async () => {
    const page = await open(`#/g/${G}/sql`);
    const sql = "SELECT user_id, count(DISTINCT message_id) AS messages FROM events WHERE kind = 'message_create' AND NOT bot GROUP BY user_id ORDER BY messages DESC, user_id LIMIT 5";
    await page.fill('[data-testid="sql-input"]', sql);
    await page.click('[data-testid="sql-run"]');
    await page.locator('[data-testid="sql-table"]').waitFor();
    const res = await (await fetch(`${server.url}/api/guilds/${G}/sql`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ sql }) })).json();
    const rows = await page.locator('[data-testid="sql-table"] tbody tr').evaluateAll(trs => trs.map(tr => [...tr.cells].map(c => c.innerText)));
    assert.deepEqual(rows, res.rows.map(r => r.map(String)));
    assert.equal(await page.locator('[data-testid="sql-output"] .chart svg .bar').count(), res.rows.length);
    // A bad query shows the server's error code.
    await page.fill('[data-testid="sql-input"]', 'DROP TABLE events');
    await page.click('[data-testid="sql-run"]');
    await page.locator('[data-testid="sql-output"] .alert-error').waitFor();
    assert.match(await page.locator('[data-testid="sql-output"]').innerText(), /not_read_only/);
    await shot(page, 'replay-sql-error');
    await page.close();
  });

  test('phone width, dark theme, theme toggle persisted, keyboard access', async () => {
    const phone = await open(`#/g/${G}/overview`, { width: 375 });
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page scrolls horizontally by ${overflow}px at 375px`);
    await shot(phone, 'replay-overview-phone');
    await phone.close();

    const dark = await open(`#/g/${G}/overview`, { theme: 'dark' });
    assert.equal(await dark.evaluate(() => document.documentElement.dataset.theme), 'dark');
    await shot(dark, 'replay-overview-dark');
    await dark.goto(`${server.url}/#/g/${G}/member/${TOP}`);
    await settle(dark);
    await shot(dark, 'replay-member-dark');
    // The toggle wins over the system preference and survives a reload.
    await dark.click('#theme-toggle');
    assert.equal(await dark.evaluate(() => document.documentElement.dataset.theme), 'light');
    await dark.reload();
    await dark.locator('.page-title').waitFor();
    assert.equal(await dark.evaluate(() => document.documentElement.dataset.theme), 'light');
    await dark.evaluate(() => localStorage.removeItem('gf-theme'));
    await dark.close();

    const page = await open(`#/g/${G}/overview`);
    // After a navigation the page title has the focus (screen readers announce the page).
    assert.equal(await page.evaluate(() => document.activeElement.classList.contains('page-title')), true);
    // The skip link is the first stop and shows when focused.
    await page.locator('.skip-link').focus();
    assert.ok((await page.locator('.skip-link').boundingBox()).y >= 0);
    // The nav is made of links reachable by keyboard; Enter follows one.
    const nav = page.locator('nav.sidenav a', { hasText: 'Leaderboard' });
    await nav.focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/g\/\d+\/leaderboard/);
    await page.locator('[data-testid="lb-table"]').waitFor();
    assert.deepEqual(page.problems, []);
    await page.close();
  });
});
