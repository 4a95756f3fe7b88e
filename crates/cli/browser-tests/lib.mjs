// Shared by the app's browser tests: a headless Chromium with JavaScript disabled, pages
// opened with every problem recorded, screenshots, and the accessibility basics.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const fx = JSON.parse(fs.readFileSync(process.env.HEADCOUNT_FIXTURE, 'utf8'));
export const shots = process.env.HEADCOUNT_SCREENSHOTS || path.resolve('../../../target/screenshots/app');
fs.mkdirSync(shots, { recursive: true });
export const appBase = new URL(fx.app).origin;

const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export async function launch() {
  return chromium.launch({ executablePath: process.env.HEADCOUNT_CHROMIUM || '/usr/bin/chromium', args: ARGS });
}

/** A browser context with JavaScript disabled in `locale`; every problem is recorded. */
export async function context(browser, locale = 'en-GB') {
  const ctx = await browser.newContext({
    javaScriptEnabled: false, locale, viewport: { width: 1100, height: 900 }, acceptDownloads: true,
  });
  const problems = [];
  const failed = [];
  ctx.on('page', (page) => {
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    // Aborted (a navigation that became a download, an icon load cut short by the next
    // navigation) is not a failure of the page.
    page.on('requestfailed', (r) => { if (r.failure()?.errorText !== 'net::ERR_ABORTED') failed.push(`${r.url()} ${r.failure()?.errorText}`); });
  });
  const page = await ctx.newPage();
  return {
    ctx, page,
    get problems() {
      return [...problems, ...failed.map((u) => `request failed: ${u}`)];
    },
  };
}

/** The page's security headers and the absence of script. */
export async function checkHeaders(resp, page) {
  const h = resp.headers();
  assert.match(h['content-security-policy'], /default-src 'none'/);
  assert.doesNotMatch(h['content-security-policy'], /script-src|unsafe-inline|unsafe-eval/);
  assert.equal(h['x-content-type-options'], 'nosniff');
  assert.equal(h['referrer-policy'], 'same-origin');
  assert.equal(await page.locator('script').count(), 0, 'no script element');
}

/** Accessibility basics: every field labelled, a language, one h1, keyboard order = reading order, contrast. */
export async function accessible(page, name) {
  const a = await page.evaluate(() => {
    const out = { unlabelled: [], lowContrast: [], lang: document.documentElement.lang, h1: document.querySelectorAll('h1').length };
    for (const el of document.querySelectorAll('input, select, textarea')) {
      if (el.type === 'hidden') continue;
      const byFor = el.id && document.querySelector(`label[for="${el.id}"]`);
      if (!byFor && !el.closest('label') && !el.getAttribute('aria-label')) out.unlabelled.push(el.outerHTML.slice(0, 80));
    }
    for (const el of document.querySelectorAll('button:not([aria-label])')) {
      if (!el.textContent.trim()) out.unlabelled.push(el.outerHTML.slice(0, 80));
    }
    const rgb = (s) => (s.match(/[\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => {
      const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const bg = (el) => {
      for (let e = el; e; e = e.parentElement) {
        const c = rgb(getComputedStyle(e).backgroundColor);
        if (c.length >= 3 && (c.length < 4 || c[3] > 0.5)) return c;
      }
      return [255, 255, 255];
    };
    for (const el of document.querySelectorAll('body *')) {
      const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
      if (!own || el.getClientRects().length === 0) continue;
      const fg = rgb(getComputedStyle(el).color);
      const [l1, l2] = [lum(fg), lum(bg(el))].sort((x, y) => y - x);
      const ratio = (l1 + 0.05) / (l2 + 0.05);
      if (ratio < 4.5) out.lowContrast.push(`${el.tagName.toLowerCase()} "${el.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
    }
    return out;
  });
  assert.deepEqual(a.unlabelled, [], `${name}: fields without a label`);
  assert.deepEqual(a.lowContrast, [], `${name}: text below 4.5:1 contrast`);
  assert.ok(a.lang === 'en' || a.lang === 'zh-Hans', `${name}: lang attribute`);
  assert.equal(a.h1, 1, `${name}: one h1`);
  // Keyboard: Tab visits the focusable elements in document order.
  // A group of radio buttons is one stop: its checked button, else its first.
  const order = await page.evaluate(() => [...document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea')]
    .filter((e) => e.getClientRects().length > 0 && e.tabIndex >= 0)
    .filter((e) => {
      if (e.type !== 'radio') return true;
      const group = [...document.querySelectorAll(`input[type=radio][name="${e.name}"]`)];
      const checked = group.find((r) => r.checked);
      return checked ? e === checked : e === group[0];
    })
    .map((e, i) => { e.dataset.kb = String(i); return String(i); }));
  // (data-kb set through the DOM, not a script in the page.)
  await page.locator('body').focus().catch(() => {});
  await page.evaluate(() => { if (document.activeElement) document.activeElement.blur(); });
  const seen = [];
  for (let i = 0; i < Math.min(order.length, 12); i++) {
    await page.keyboard.press('Tab');
    seen.push(await page.evaluate(() => document.activeElement?.dataset?.kb ?? null));
  }
  assert.deepEqual(seen, order.slice(0, seen.length), `${name}: keyboard order`);
}

/** Screenshot (full page) under `name`. */
export async function shot(page, name) {
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}

/** Goes to an app path; checks status, headers, accessibility; takes the screenshot. */
export async function visit(page, p, name) {
  const resp = await page.goto(appBase + p, { waitUntil: 'load' });
  assert.equal(resp.status(), 200, `${p} status`);
  await checkHeaders(resp, page);
  await accessible(page, name);
  await shot(page, name);
  return resp;
}

/** Signs in to the registrar console in `page`. */
export async function consoleSignIn(page) {
  await page.goto(fx.console + '/console/login', { waitUntil: 'load' });
  await page.getByLabel(/Admin token|管理令牌/).fill(fx.token);
  await page.locator('form[action="/console/login"] button').click();
  await page.waitForURL(/\/console\/$/);
}
