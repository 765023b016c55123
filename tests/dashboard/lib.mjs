// Test helpers: start guildflow (replay --serve / demo) on a free port, launch Debian's chromium,
// open pages while collecting console errors.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(here, '../..');
export const FIXTURE = join(REPO, 'api/tests/fixtures/capture.jsonl');
export const SHOTS = join(here, 'screenshots');
mkdirSync(SHOTS, { recursive: true });

export const BIN = process.env.GUILDFLOW_BIN;
if (!BIN) throw new Error('set GUILDFLOW_BIN to the guildflow binary (run.sh does)');
// Serve the dashboard files of this checkout (what the binary embeds at build time).
const DASHBOARD_DIR = process.env.GUILDFLOW_DASHBOARD_DIR || join(REPO, 'api/dashboard');

/** Starts `guildflow <args> --listen 127.0.0.1:0 --data <tmp>`; resolves once the API address is printed. */
export function startServer(args, { timeoutMs = 60000 } = {}) {
  const data = mkdtempSync(join(tmpdir(), 'gf-dash-'));
  const proc = spawn(BIN, [...args, '--listen', '127.0.0.1:0', '--data', data], {
    env: { ...process.env, GUILDFLOW_DASHBOARD_DIR: DASHBOARD_DIR, RUST_LOG: process.env.RUST_LOG || 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const server = {
    proc, data, url: null, output: () => output,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        await Promise.race([new Promise(r => proc.once('exit', r)), new Promise(r => setTimeout(r, 5000))]);
        if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      }
      rmSync(data, { recursive: true, force: true });
    },
  };
  return new Promise((resolveStart, reject) => {
    const timer = setTimeout(() => { server.stop(); reject(new Error(`guildflow did not print its address in time:\n${output}`)); }, timeoutMs);
    const onData = chunk => {
      output += chunk;
      if (output.length > 200000) output = output.slice(-100000);
      const m = /API and dashboard at (http:\/\/[^\s/]+)\//.exec(output) || /API listening addr=([0-9.:]+)/.exec(output);
      if (m && !server.url) {
        server.url = m[1].startsWith('http') ? m[1] : `http://${m[1]}`;
        clearTimeout(timer);
        resolveStart(server);
      }
    };
    proc.stdout.setEncoding('utf8').on('data', onData);
    proc.stderr.setEncoding('utf8').on('data', onData);
    proc.once('exit', code => { if (!server.url) { clearTimeout(timer); reject(new Error(`guildflow exited (${code}) before listening:\n${output}`)); } });
  });
}

export async function waitHealthy(url, timeoutMs = 60000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try { if ((await fetch(`${url}/health`)).status === 200) return; } catch { /* not yet */ }
    await new Promise(r => setTimeout(r, 200));
  }
  throw new Error(`${url}/health never answered 200`);
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// Probes the dashboard makes on purpose; their 4xx is expected (the browser logs every failed
// resource load as a console error). Anything else in the console fails the test.
const EXPECTED = [
  { path: /^\/api\/me$/, status: [401, 404] },                  // 401: not logged in, 404: auth off
  { path: /^\/api\/guilds$/, status: [400, 404] },              // route not there yet (400: auth guard reads "" as an id)
  // admin routes not on this build (404/501), or no admin plane in this process (503 admin_unavailable: replay)
  { path: /^\/api\/guilds\/\d+\/(settings|automod\/.*|warnings.*|moderation\/logs|audit\/logs)$/, status: [404, 501, 503] },
  // display names: a build without the route (the dashboard then shows ids)
  { path: /^\/api\/guilds\/\d+\/names$/, status: [404, 405, 501] },
];

/** A page that records console errors, page errors and unexpected failed requests. */
export async function openPage(context) {
  const page = await context.newPage();
  const problems = [];
  const failed = new Map(); // url -> status
  page.on('response', res => {
    if (res.status() >= 400) failed.set(res.url(), res.status());
  });
  page.on('pageerror', err => problems.push(`page error: ${err.message}`));
  page.on('console', msg => {
    if (msg.type() !== 'error') return;
    const url = msg.location()?.url || '';
    if (/Failed to load resource/.test(msg.text()) && url) {
      const u = new URL(url);
      const status = failed.get(url);
      if (EXPECTED.some(e => e.path.test(u.pathname) && e.status.includes(status))) return;
    }
    problems.push(`console error: ${msg.text()} (${url})`);
  });
  page.problems = problems;
  return page;
}

export async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** JSON request from node with the page's cookies (so auth applies, and the browser console
 * stays free of the probes' 4xx). */
export async function apiFetch(page, path, { method = 'GET', body, csrf } = {}) {
  const url = new URL(path, page.url());
  const cookies = await page.context().cookies(url.origin);
  const headers = { Accept: 'application/json', Origin: url.origin };
  if (cookies.length) headers.Cookie = cookies.map(c => `${c.name}=${c.value}`).join('; ');
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (csrf) headers['X-CSRF-Token'] = csrf;
  const r = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let parsed = text;
  try { parsed = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, body: parsed };
}

export const apiGet = (page, path) => apiFetch(page, path);

/** Whether a route is served with its admin plane: not 404 not_found / 501 / 503 admin_unavailable
 * (a 405 means the path exists with another method). */
export async function routeExists(page, path) {
  const { status, body } = await apiGet(page, path);
  const code = body?.error?.code;
  return !(status === 501 || (status === 404 && code === 'not_found') || (status === 400 && code === 'invalid_id') || (status === 503 && code === 'admin_unavailable'));
}
