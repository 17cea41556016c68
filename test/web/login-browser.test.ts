/**
 * Logging in and out in Debian's Chromium, through the form a person uses:
 * a page asked for without a session shows the login form, a wrong password
 * is refused on the page, the right one leads back to the page asked for,
 * and after logging out the pages are closed again. No script runs anywhere.
 */
import t from 'tap';
import { authStore } from '../../db/auth-store.js';
import { openStore } from '../../db/open.js';
import { newApiToken, secretHash } from '../../web/auth/secrets.js';
import { launchChromium, logInWithForm, screenshot, watchedPage } from '../helpers/web-browser.js';
import { HOSTS, seedFleet } from '../helpers/web-seed.js';
import { addTestUser, startTestWeb } from '../helpers/web-server.js';

const store = await openStore('sqlite::memory:');
t.teardown(() => store.close());
await seedFleet(store);
const web = await startTestWeb(t, store);
const viewer = await addTestUser(store, 'viola', 'viewer');
const browser = await launchChromium(t);

t.test('log in through the form, see the page, log out', async (t) => {
  const { page, dialogs } = await watchedPage(browser);
  t.teardown(() => page.close());

  await page.goto(`${web.url}/machines?state=trusted`);
  t.equal(new URL(page.url()).pathname, '/login', 'a page without a session leads to the login form');
  t.equal((await page.locator('h1').innerText()).trim(), 'Log in');
  await screenshot(page, 'login-form');

  await logInWithForm(page, web.url, { name: viewer.name, password: 'not-the-password' }, new URL(page.url()).pathname + new URL(page.url()).search);
  t.equal(new URL(page.url()).pathname, '/login');
  t.equal((await page.locator('#login-error').innerText()).trim(), 'Wrong user name or password.', 'a wrong password is refused on the page');

  await logInWithForm(page, web.url, viewer, '/login?next=%2Fmachines%3Fstate%3Dtrusted');
  t.equal(page.url(), `${web.url}/machines?state=trusted`, 'the right password leads back to the page asked for');
  t.equal((await page.locator('h1').innerText()).trim(), 'Machines');
  t.match(await page.locator('#machines').innerText(), HOSTS.trusted, 'and it shows the fleet');
  await screenshot(page, 'login-machines');

  await page.getByRole('link', { name: 'Account' }).click();
  t.equal((await page.locator('#account-user').innerText()).trim(), 'viola');
  t.equal((await page.locator('#account-role').innerText()).trim(), 'viewer');
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Log out' }).click()]);
  t.equal(new URL(page.url()).pathname, '/login', 'logging out shows the login form');

  await page.goto(`${web.url}/reports`);
  t.equal(new URL(page.url()).pathname, '/login', 'and the pages are closed again');
  const cookies = await page.context().cookies();
  t.same(cookies.filter((c) => c.name === 'acs_session' && c.value !== ''), [], 'the browser holds no session cookie');
  t.same(dialogs, [], 'no script ran');
});

t.test('an admin revokes an API token by clicking, the form carrying its CSRF token', async (t) => {
  await authStore(store.driver).createToken('build-bot', 'viewer', secretHash(newApiToken()));
  const { page, dialogs } = await watchedPage(browser, web);
  t.teardown(() => page.close());
  await page.getByRole('link', { name: 'Account' }).click();
  await page.getByRole('link', { name: 'API tokens' }).click();
  t.equal((await page.locator('h1').innerText()).trim(), 'API tokens');
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Revoke build-bot' }).click()]);
  t.equal(new URL(page.url()).pathname, '/admin/tokens');
  t.match(await page.locator('#tokens').innerText(), /build-bot\tviewer\t\S+ \S+\trevoked/, 'the page shows it revoked');
  t.equal((await authStore(store.driver).tokens()).find((x) => x.name === 'build-bot')?.revokedAt instanceof Date, true, 'and so does the database');
  await screenshot(page, 'admin-tokens');
  t.same(dialogs, []);
});
