// Phase 2 (the registrar restarted on the real clock): the volunteer closes and logs the
// month in the console; the person declares, withdraws, re-declares, proves the declaration
// with a verifier's challenge (the claim file is saved for the Rust harness to verify) and
// checks that every receipt is still in the log.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fx, appBase, launch, context, visit, shot, accessible, consoleSignIn } from './lib.mjs';
import { shots } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const CHALLENGE = 'UNHCR Hong Kong, case 2026-0457, interview of 7 December';

test('close and log the month; declare, withdraw, re-declare, prove, check — in English and Chinese', async () => {
  const vol = await context(browser, 'en-GB');
  await consoleSignIn(vol.page);
  await vol.page.goto(fx.console + '/console/ledger', { waitUntil: 'load' });
  assert.match(await vol.page.locator('main').innerText(), /is over and not yet closed/);
  await accessible(vol.page, 'en-13-console-ledger');
  await shot(vol.page, 'en-13-console-ledger');
  await vol.page.getByRole('button', { name: /Close and log/ }).first().click();
  await vol.page.waitForLoadState('load');
  assert.match(await vol.page.locator('.done').innerText(), /with 100 credentials and logged it at index \d+/);
  await shot(vol.page, 'en-14-console-closed-and-logged');
  await vol.page.goto(fx.console + '/console/vouch', { waitUntil: 'load' });
  await accessible(vol.page, 'en-15-console-vouch');
  await shot(vol.page, 'en-15-console-vouch');
  // Vouch for a caller who cannot use the app: logged, receipt verified.
  await vol.page.getByLabel('Campaign id').fill(fx.campaign);
  await vol.page.getByLabel('Your case number for this person').fill('case 17');
  await vol.page.getByLabel('Public alias').fill('Nightingale');
  await vol.page.getByRole('button', { name: 'Vouch and log' }).click();
  await vol.page.waitForLoadState('load');
  assert.match(await vol.page.locator('.done').innerText(), /Vouched declaration logged at index \d+ \(receipt verified\)/);
  await shot(vol.page, 'en-16-console-vouched');

  // The person: from opening the app to a verified receipt.
  const started = Date.now();
  const en = await context(browser, 'en-GB');
  const page = en.page;
  await page.goto(fx.app, { waitUntil: 'load' });
  await visit(page, '/campaigns', 'en-20-campaigns');
  const card = page.locator('section.card').filter({ hasText: 'Renounce' });
  assert.match(await card.innerText(), /UNHCR/);
  assert.match(await card.innerText(), /Registrars it accepts\s*R/);
  await card.getByLabel('Public alias').fill('Lotus');
  await card.getByLabel('Message (optional, public)').fill('For my grandfather. 为了我的祖父。');
  await card.getByRole('button', { name: 'Declare' }).click();
  await page.waitForURL(/\/receipt$/);
  assert.match(await page.locator('.done').innerText(), /Your declaration is in the log\. Receipt verified on this computer/);
  const seconds = (Date.now() - started) / 1000;
  // Reported, not asserted (no timed tests): the issue asks for under a minute.
  console.log(`opening the app to a verified receipt: ${seconds.toFixed(1)} s`);
  await accessible(page, 'en-21-receipt');
  await shot(page, 'en-21-receipt');

  // A campaign that does not accept this registrar: a sentence, nothing logged.
  await page.goto(appBase + '/campaigns', { waitUntil: 'load' });
  const other = page.locator('section.card').filter({ hasText: 'Appeal' });
  await other.getByLabel('Public alias').fill('Lotus');
  await other.getByRole('button', { name: 'Declare' }).click();
  await page.waitForURL(/\/campaigns$/);
  assert.match(await page.locator('.alert').innerText(), /You have no credential that this campaign accepts/);
  assert.match(await other.innerText(), /You\s*not declared/);
  await accessible(page, 'en-20b-not-accepted');
  await shot(page, 'en-20b-not-accepted');

  // Withdraw, then declare again under another alias.
  await page.goto(appBase + '/campaigns', { waitUntil: 'load' });
  assert.match(await card.innerText(), /You\s*declared \(counted\)/);
  await card.getByRole('button', { name: 'Withdraw my declaration' }).click();
  await page.waitForURL(/\/receipt$/);
  assert.match(await page.locator('.done').innerText(), /you are no longer counted/);
  await shot(page, 'en-22-withdrawn');
  await page.goto(appBase + '/campaigns', { waitUntil: 'load' });
  assert.match(await card.innerText(), /You\s*withdrawn/);
  await card.getByLabel('Public alias').fill('Harbour Light');
  await card.getByRole('button', { name: 'Declare' }).click();
  await page.waitForURL(/\/receipt$/);
  assert.match(await page.locator('.done').innerText(), /Your declaration is in the log/);

  // Prove it to a verifier: the claim file downloads.
  await visit(page, '/claim', 'en-23-claim');
  await page.getByLabel("The verifier's challenge").fill(CHALLENGE);
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download the claim file' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), 'declaration.claim');
  await download.saveAs(path.join(shots, 'declaration.claim'));
  fs.writeFileSync(path.join(shots, 'challenge.txt'), CHALLENGE + '\n');

  // Every receipt still in the log, checked the privacy-preserving way.
  await visit(page, '/receipts', 'en-24-receipts');
  await page.getByRole('button', { name: 'Check now' }).click();
  await page.waitForLoadState('load');
  assert.match(await page.locator('.done').innerText(), /All 3 of your entries are still in the log/);
  await shot(page, 'en-25-receipts-checked');

  // The same pages in Chinese.
  const zh = await context(browser, 'zh-CN');
  await zh.page.goto(fx.app, { waitUntil: 'load' });
  await visit(zh.page, '/campaigns', 'zh-20-campaigns');
  assert.match(await zh.page.locator('main').innerText(), /退党声明/);
  assert.match(await zh.page.locator('main').innerText(), /已声明（已计入）/);
  await visit(zh.page, '/receipt', 'zh-21-receipt');
  await visit(zh.page, '/claim', 'zh-23-claim');
  await visit(zh.page, '/receipts', 'zh-24-receipts');
  await zh.page.getByRole('button', { name: '立即核对' }).click();
  await zh.page.waitForLoadState('load');
  assert.match(await zh.page.locator('.done').innerText(), /您的 3 个条目全部仍在日志中/);
  // The switch to English, and back.
  await zh.page.getByRole('link', { name: 'English' }).click();
  await zh.page.waitForLoadState('load');
  assert.match(await zh.page.locator('h1').innerText(), /Check that your entries/);
  await zh.page.getByRole('link', { name: '中文' }).click();
  await zh.page.waitForLoadState('load');
  assert.match(await zh.page.locator('h1').innerText(), /核对/);
  const volZh = await context(browser, 'zh-CN');
  await consoleSignIn(volZh.page);
  await volZh.page.goto(fx.console + '/console/vouch', { waitUntil: 'load' });
  await shot(volZh.page, 'zh-15-console-vouch');

  for (const c of [vol, en, zh, volZh]) assert.deepEqual(c.problems, [], 'no browser problem');
});
