// The evidence packet's report in a real browser: Debian's Chromium,
// headless, JavaScript disabled, the page opened from a file. Started by
// `cargo test -p headcount --test evidence` with HEADCOUNT_REPORT (the
// extracted report.html), HEADCOUNT_REPORT_FACTS (JSON: the verified counts
// and titles) and HEADCOUNT_SCREENSHOTS.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const report = process.env.HEADCOUNT_REPORT;
const facts = JSON.parse(fs.readFileSync(process.env.HEADCOUNT_REPORT_FACTS, 'utf8'));
const shots = process.env.HEADCOUNT_SCREENSHOTS;
fs.mkdirSync(shots, { recursive: true });

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.HEADCOUNT_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
after(async () => { await browser?.close(); });

async function open(viewport) {
  const context = await browser.newContext({ javaScriptEnabled: false, viewport });
  const page = await context.newPage();
  const problems = [];
  const url = pathToFileURL(report).href;
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console: ${m.text()}`); });
  page.on('request', (r) => { if (r.url() !== url) problems.push(`request: ${r.url()}`); });
  page.on('requestfailed', (r) => problems.push(`failed: ${r.url()}`));
  await page.goto(url, { waitUntil: 'load' });
  return { context, page, problems };
}

test('the report shows the verified figures, in English and Chinese, with no request and no script', async () => {
  const { context, page, problems } = await open({ width: 1100, height: 1400 });
  const body = await page.locator('body').innerText();
  assert.match(body, /What this packet proves/);
  assert.match(body, /本证据包证明了什么/);
  for (const t of facts.titles) assert.ok(body.includes(t), `title ${t}`);
  assert.equal((await page.locator('.big').innerText()).trim(), String(facts.credible));
  const row = async (label) => (await page.locator('tr', { hasText: label }).first().locator('td.n').innerText()).trim();
  assert.equal(await row('with a credential'), String(facts.credentialed));
  assert.equal(await row('vouched for by a registrar'), String(facts.vouched));
  assert.equal(await row('unverified (shown apart'), String(facts.unverified));
  for (const w of facts.witnesses) assert.ok(body.includes(w), `witness ${w}`);
  assert.ok(body.includes('auditor.example'));
  assert.match(body, /How to verify this yourself/);
  assert.equal(await page.locator('script').count(), 0);
  assert.equal(await page.locator('svg path').count(), 1, 'the trend chart');
  // The Chinese title is laid out with real glyphs: as wide as CJK text is,
  // not a row of missing-glyph boxes of one width (and not zero).
  const zh = page.locator('h1[lang="zh"]');
  const box = await zh.boundingBox();
  assert.ok(box && box.width > 100 && box.height > 10, JSON.stringify(box));
  // Nothing wider than the page.
  const scroll = await page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth + 1);
  assert.equal(scroll, false, 'the page scrolls sideways');
  await page.screenshot({ path: path.join(shots, 'evidence-report.png'), fullPage: true });
  assert.deepEqual(problems, []);
  await context.close();
});

test('the report fits a phone', async () => {
  const { context, page, problems } = await open({ width: 390, height: 844 });
  const scroll = await page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth + 1);
  assert.equal(scroll, false, 'the page scrolls sideways on a phone');
  await page.screenshot({ path: path.join(shots, 'evidence-report-phone.png') });
  assert.deepEqual(problems, []);
  await context.close();
});
