// Phase 1: a person opens the app, creates a wallet, asks the registrar for a credential;
// the registrar's volunteer approves it in the console by its reference code; the app
// finishes the credential. (The Rust harness then restarts the registrar on the real clock.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fx, appBase, launch, context, visit, shot, accessible, checkHeaders, consoleSignIn } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const STRONG = 'orbit lantern mosquito gravel saffron';

test('wallet, credential request, console approval, finish — in English and Chinese', async () => {
  const zh = await context(browser, 'zh-CN');
  // The printed address signs in and drops the secret from the address bar.
  await zh.page.goto(fx.app, { waitUntil: 'load' });
  assert.equal(new URL(zh.page.url()).search, '', 'the secret is gone from the URL');
  await visit(zh.page, '/', 'zh-01-create-wallet');
  assert.match(await zh.page.locator('h1').innerText(), /创建您的钱包/);

  const en = await context(browser, 'en-GB');
  await en.page.goto(fx.app, { waitUntil: 'load' });
  await visit(en.page, '/', 'en-01-create-wallet');
  const page = en.page;
  // A weak passphrase: refused with its strength shown.
  await page.getByLabel('Passphrase', { exact: true }).fill('password1');
  await page.getByLabel('Passphrase again').fill('password1');
  await page.getByRole('button', { name: 'Create wallet' }).click();
  await page.waitForLoadState('load');
  assert.match(await page.locator('.alert').innerText(), /too easy to guess.*Strength of the passphrase you entered: (very weak|weak)/s);
  await shot(page, 'en-02-weak-passphrase');
  await page.getByLabel('Passphrase', { exact: true }).fill(STRONG);
  await page.getByLabel('Passphrase again').fill(STRONG);
  await page.getByRole('button', { name: 'Create wallet' }).click();
  await page.waitForLoadState('load');
  assert.match(await page.locator('.done').innerText(), /Your wallet is created/);
  await accessible(page, 'en-03-wallet');
  await shot(page, 'en-03-wallet');
  // Lock; a wrong passphrase is said plainly; the right one opens it.
  await page.getByRole('button', { name: 'Lock' }).click();
  await page.waitForLoadState('load');
  await page.getByLabel('Passphrase', { exact: true }).fill('orbit lantern mosquito gravel');
  await page.getByRole('button', { name: 'Unlock' }).click();
  await page.waitForLoadState('load');
  assert.match(await page.locator('.alert').innerText(), /Wrong passphrase: the wallet did not open/);
  await accessible(page, 'en-03b-wrong-passphrase');
  await shot(page, 'en-03b-wrong-passphrase');
  await page.getByLabel('Passphrase', { exact: true }).fill(STRONG);
  await page.getByRole('button', { name: 'Unlock' }).click();
  await page.waitForLoadState('load');
  assert.match(await page.locator('h1').innerText(), /My wallet/);

  // Credential: the registrar and its policy, from the log.
  await visit(page, '/credential', 'en-04-credential');
  assert.match(await page.locator('main').innerText(), /We meet every applicant/);
  // Two registrars are called R: the id beside each name tells them apart.
  assert.match(await page.locator(`label[for="${await page.locator(`input[value="${fx.registrar}"]`).getAttribute('id')}"]`).innerText(), new RegExp(`^R ${fx.registrar.slice(0, 16)}…$`));
  await page.locator(`input[value="${fx.registrar}"]`).check();
  assert.equal(await page.getByLabel('The registrar service\'s address').inputValue(), fx.registrarUrl);
  await page.getByRole('button', { name: 'Send the request' }).click();
  await page.waitForLoadState('load');
  const done = await page.locator('.done').innerText();
  const code = done.match(/([0-9A-Z]{4}-[0-9A-Z]{4})/)[1];
  assert.match(done, /read out your reference code/);
  await shot(page, 'en-05-requested');
  // Still pending: the status says so.
  await page.getByRole('button', { name: 'Check the status and finish' }).click();
  await page.waitForLoadState('load');
  assert.match(await page.locator('.done').innerText(), new RegExp(`${code} is still waiting`));
  await visit(zh.page, '/credential', 'zh-05-requested');
  assert.match(await zh.page.locator('main').innerText(), new RegExp(code));

  // The volunteer's console: the queue shows the code; approve after the phone check.
  const vol = await context(browser, 'en-GB');
  const resp = await vol.page.goto(fx.console + '/console/login', { waitUntil: 'load' });
  await checkHeaders(resp, vol.page);
  await accessible(vol.page, 'en-10-console-login');
  await shot(vol.page, 'en-10-console-login');
  await consoleSignIn(vol.page);
  const queue = await vol.page.locator('main').innerText();
  assert.match(queue, new RegExp(code), 'the queue lists the reference code');
  await accessible(vol.page, 'en-11-console-queue');
  await shot(vol.page, 'en-11-console-queue');
  await vol.page.getByRole('button', { name: `Approve ${code}` }).click();
  await vol.page.waitForLoadState('load');
  assert.match(await vol.page.locator('.done').innerText(), new RegExp(`Approved request ${code}`));
  await shot(vol.page, 'en-12-console-approved');
  // The console in Chinese.
  const volZh = await context(browser, 'zh-CN');
  await volZh.page.goto(fx.console + '/console/login', { waitUntil: 'load' });
  await shot(volZh.page, 'zh-10-console-login');
  await consoleSignIn(volZh.page);
  assert.match(await volZh.page.locator('h1').innerText(), /等待您核实的申请/);
  await accessible(volZh.page, 'zh-11-console-queue');
  await shot(volZh.page, 'zh-11-console-queue');
  await volZh.page.goto(fx.console + '/console/ledger', { waitUntil: 'load' });
  await accessible(volZh.page, 'zh-13-console-ledger');
  await shot(volZh.page, 'zh-13-console-ledger');

  // The app finishes the credential.
  await page.goto(appBase + '/credential', { waitUntil: 'load' });
  await page.getByRole('button', { name: 'Check the status and finish' }).click();
  await page.waitForLoadState('load');
  assert.match(await page.locator('.done').innerText(), /Credential stored: from R, issued in \d{4}-\d\d/);
  await visit(page, '/', 'en-06-wallet-with-credential');
  assert.match(await page.locator('main').innerText(), /from R, issued in/);
  await visit(zh.page, '/', 'zh-06-wallet-with-credential');

  for (const c of [en, zh, vol, volZh]) assert.deepEqual(c.problems, [], 'no browser problem');
});
