// The dashboard in a real browser: Debian's Chromium, headless, JavaScript
// disabled. Started by `cargo test -p headcount-dashboard --test browser`,
// which runs a real server, fills it, and passes HEADCOUNT_FIXTURE.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const fx = JSON.parse(fs.readFileSync(process.env.HEADCOUNT_FIXTURE, 'utf8'));
const base = fx.base;
const origin = new URL(base).origin;
const shots = process.env.HEADCOUNT_SCREENSHOTS || path.resolve('../../../target/screenshots');
fs.mkdirSync(shots, { recursive: true });

const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.HEADCOUNT_CHROMIUM || '/usr/bin/chromium',
    args: ARGS,
  });
});
after(async () => { await browser?.close(); });

const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

/** Opens a page with JavaScript disabled, recording every problem. */
async function open(url, viewport = DESKTOP) {
  const context = await browser.newContext({ javaScriptEnabled: false, viewport });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith('data:') && new URL(u).origin !== origin) problems.push(`request to another host: ${u}`);
  });
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
  const resp = await page.goto(url.startsWith('http') ? url : base + url, { waitUntil: 'load' });
  return { context, page, resp, problems };
}

/** Elements wider than the viewport, and whether the page scrolls sideways. */
async function overflow(page) {
  return page.evaluate(() => {
    const w = document.documentElement.clientWidth;
    const wide = [];
    for (const e of document.querySelectorAll('body *')) {
      const r = e.getBoundingClientRect();
      if (r.width > 0 && (r.right > w + 1 || r.left < -1)) wide.push(`${e.tagName.toLowerCase()}.${e.className} (${Math.round(r.left)}..${Math.round(r.right)} > ${w})`);
    }
    return { wide: wide.slice(0, 10), scroll: document.documentElement.scrollWidth > w + 1 };
  });
}

function num(s) { return Number(String(s).replace(/[,\s]/g, '')); }

async function checkPage(url, name) {
  for (const [vp, suffix] of [[DESKTOP, ''], [PHONE, '-phone']]) {
    const { context, page, resp, problems } = await open(url, vp);
    assert.equal(resp.status(), 200, `${url} status`);
    const h = resp.headers();
    assert.match(h['content-security-policy'], /default-src 'none'/);
    assert.doesNotMatch(h['content-security-policy'], /script-src|unsafe-inline|unsafe-eval|https?:/);
    assert.equal(h['x-content-type-options'], 'nosniff');
    assert.equal(h['referrer-policy'], 'no-referrer');
    assert.equal(h['set-cookie'], undefined, 'no cookie');
    assert.equal(await page.locator('script').count(), 0, 'no script element');
    const o = await overflow(page);
    assert.deepEqual(o.wide, [], `${url} at ${vp.width}px: elements wider than the viewport`);
    assert.equal(o.scroll, false, `${url} at ${vp.width}px scrolls sideways`);
    assert.deepEqual(await context.cookies(), [], 'no cookies');
    await page.screenshot({ path: path.join(shots, `${name}${suffix}.png`), fullPage: true });
    if (vp === DESKTOP) await page.screenshot({ path: path.join(shots, `${name}-top.png`) });
    assert.deepEqual(problems, [], `${url}: problems`);
    await context.close();
  }
}

const api = async (p) => (await fetch(base + p)).json();

test('every page loads clean, fits the viewport, and is screenshotted', async () => {
  const [c1, c2, c3] = fx.campaigns;
  const pages = [
    ['/', 'home'],
    ['/?lang=zh', 'home-zh'],
    [`/campaigns/${c1}`, 'campaign'],
    [`/campaigns/${c1}?lang=zh`, 'campaign-zh'],
    [`/campaigns/${c2}`, 'campaign-appeal'],
    [`/campaigns/${c3}?lang=zh`, 'campaign-long-cjk-zh'],
    [`/registrars/${fx.registrar}`, 'registrar'],
    ['/log', 'log'],
    ['/log?lang=zh', 'log-zh'],
    [`/lookup?q=${fx.hostileLeaves[0]}`, 'lookup'],
    ['/verify-receipt', 'verify-receipt-form'],
  ];
  for (const [url, name] of pages) await checkPage(url, name);
});

test('figures on the pages equal the tallies of the JSON API', async () => {
  const campaigns = await api('/v1/campaigns');
  assert.equal(campaigns.length, fx.campaigns.length);
  const home = await open('/');
  for (const c of campaigns) {
    const card = home.page.locator(`[data-campaign="${c.id}"]`);
    for (const k of ['credible', 'credentialed', 'vouched', 'unverified']) {
      assert.equal(num(await card.locator(`[data-figure="${k}"]`).first().textContent()), c.tally[k], `home ${k} of ${c.id}`);
    }
    const { page, context } = await open(`/campaigns/${c.id}`);
    const t = await api(`/v1/campaigns/${c.id}/tally`);
    for (const k of ['credible', 'credentialed', 'vouched', 'unverified', 'withdrawals']) {
      assert.equal(num(await page.locator(`[data-figure="${k}"]`).first().textContent()), t[k], `campaign ${k}`);
    }
    assert.equal(num(await page.locator('[data-figure="over-bound"]').textContent()), t.credentialed_over_bound);
    await context.close();
  }
  const info = await api('/v1/log');
  assert.equal(num(await home.page.locator('[data-figure="tree-size"]').textContent()), info.tree_size);
  await home.context.close();
});

test('the language switch works without script', async () => {
  const { page, context } = await open(`/campaigns/${fx.campaigns[0]}`);
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  await page.click('a.lang');
  await page.waitForLoadState('load');
  assert.match(page.url(), /lang=zh/);
  assert.equal(await page.getAttribute('html', 'lang'), 'zh-Hans');
  const body = await page.textContent('body');
  assert.ok(body.includes('可信人数'), 'Chinese interface text');
  assert.ok(body.includes('我在此声明退出中国共产党'), 'the Chinese statement');
  assert.equal(await page.getAttribute('.statement .text', 'lang'), 'zh');
  // Links keep the language; the switch goes back.
  await page.click('nav.nav a[href^="/log"]');
  await page.waitForLoadState('load');
  assert.match(page.url(), /\/log\?lang=zh/);
  await page.click('a.lang');
  await page.waitForLoadState('load');
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  await context.close();
});

test('hostile aliases render as inert text and the layout holds', async () => {
  for (const vp of [DESKTOP, PHONE]) {
    const { page, context, problems } = await open(`/campaigns/${fx.campaigns[0]}`, vp);
    assert.equal(await page.locator('script').count(), 0);
    assert.equal(await page.locator('main img').count(), 0, 'no injected image');
    const aliases = await page.locator('.alias bdi').allTextContents();
    for (const h of fx.hostile) assert.ok(aliases.includes(h), `alias ${JSON.stringify(h)} shown as text`);
    // The bidi override stays inside its <bdi>: the leaf link before it reads left to right.
    const item = page.locator('li.decl', { has: page.locator('bdi', { hasText: 'evil' }) });
    assert.equal(await item.count(), 1);
    const metaText = await item.locator('.dmeta').textContent();
    assert.match(metaText, /^#\d+ · \d{4}-\d\d-\d\d \d\d:\d\d/);
    const bidi = await item.locator('bdi').evaluate((e) => getComputedStyle(e).unicodeBidi);
    assert.equal(bidi, 'isolate');
    const o = await overflow(page);
    assert.deepEqual(o.wide, []);
    assert.equal(o.scroll, false);
    await page.locator('ol.decls').first().screenshot({ path: path.join(shots, `hostile-declarations${vp === PHONE ? '-phone' : ''}.png`) });
    assert.deepEqual(problems, []);
    await context.close();
  }
});

test('look-up by leaf index shows the entry and its inclusion proof', async () => {
  const leaf = fx.hostileLeaves[1];
  const { page, context, problems } = await open(`/lookup?q=${leaf}`);
  assert.equal(num(await page.locator('[data-figure="leaf-index"]').textContent()), leaf);
  assert.equal(await page.locator('dd.alias bdi').textContent(), fx.hostile[1]);
  const proof = await page.locator('#inclusion-proof').textContent();
  assert.match(proof, /^c2sp\.org\/tlog-proof@v1\nextra \S+\nindex \d+\n/);
  // Not a leaf index, pseudonym or hash: a plain message, still 200.
  const bad = await open('/lookup?q=%3Cscript%3E');
  assert.equal(bad.resp.status(), 200);
  assert.equal(await bad.page.locator('script').count(), 0);
  assert.ok((await bad.page.textContent('.alert')).length > 0);
  await bad.context.close();
  assert.deepEqual(problems, []);
  await context.close();
});

test('verify-receipt checks a pasted receipt by form POST, and refuses a tampered one', async () => {
  const { page, context, problems } = await open('/verify-receipt');
  assert.ok((await page.textContent('#trust-anchor')).includes('command-line tool'));
  await page.fill('textarea[name=receipt]', fx.receipt);
  await Promise.all([page.waitForNavigation(), page.click('form.receipt button[type=submit]')]);
  assert.match(await page.textContent('#verdict h2'), /The receipt verifies/);
  assert.equal(await page.locator('#verdict dd.alias bdi').textContent(), fx.hostile[0]);
  await page.screenshot({ path: path.join(shots, 'verify-receipt-ok.png'), fullPage: true });
  // Change the index: the proof no longer fits.
  const tampered = fx.receipt.replace(/^index (\d+)$/m, (_, n) => `index ${Number(n) + 1}`);
  await page.fill('textarea[name=receipt]', tampered);
  await Promise.all([page.waitForNavigation(), page.click('form.receipt button[type=submit]')]);
  assert.match(await page.textContent('#verdict h2'), /does not verify/);
  // The same check by GET works too.
  const get = await open(`/verify-receipt?receipt=${encodeURIComponent(fx.receipt)}`);
  assert.match(await get.page.textContent('#verdict h2'), /The receipt verifies/);
  await get.context.close();
  assert.deepEqual(problems, []);
  await context.close();
});

test('unknown pages are plain 404s and static files are served with the headers', async () => {
  const r = await fetch(`${base}/campaigns/${'0'.repeat(64)}`);
  assert.equal(r.status, 404);
  assert.match(r.headers.get('content-security-policy'), /default-src 'none'/);
  const css = await fetch(`${base}/static/style.css`);
  assert.equal(css.status, 200);
  assert.match(css.headers.get('content-type'), /text\/css/);
  assert.equal(css.headers.get('x-content-type-options'), 'nosniff');
  const text = await css.text();
  assert.doesNotMatch(text, /@import|url\(|@font-face/, 'no external or web fonts');
});
