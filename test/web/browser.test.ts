/**
 * The UI in Debian's Chromium: each page shows the right values, filters and
 * paging work by clicking, and a screenshot of each page is saved to
 * test/output/screenshots/.
 */
import t from 'tap';
import { forEachSeededWeb } from '../helpers/seeded-web.js';
import { launchChromium, readMachinePages, screenshot, tableRows, watchedPage } from '../helpers/web-browser.js';
import { HOSTS } from '../helpers/web-seed.js';

const browser = await launchChromium(t);

forEachSeededWeb(t, async (t, { backend, fleet, web }) => {
  const { trusted, failing, offWhitelist } = fleet.machines;
  const [boot1, boot2] = fleet.boots;
  const { page, dialogs } = await watchedPage(browser, web);
  t.teardown(() => page.close());

  t.test('every page of a machine, reached by clicking', async (t) => {
    const seen = await readMachinePages(page, web.url, HOSTS.trusted, `${backend.name}`);
    t.same(seen.overview, { all: 6, trusted: 2, failing: 2, stale: 1, never: 1 });
    t.match(seen.machinesRow, { Hostname: HOSTS.trusted, 'TPM vendor': 'IBM', 'EK / AK': 'rsa2048 / rsa', 'Boot time': boot2, State: 'trusted', Result: 'passed' });
    t.match(seen.machinesRow['Last report'], `#${trusted.reports[2]}`);
    t.equal(seen.machine.title, HOSTS.trusted);
    t.match(seen.machine.props, { State: 'trusted', 'TPM vendor': 'IBM', 'EK algorithm': 'rsa2048', 'Boot time (host-reported)': boot2 });
    t.equal(seen.machine.ekSubject, "C=US, ST=NY, L=Yorktown, O=IBM, CN=IBM's SW TPM");
    t.equal(seen.machine.akSubject, 'CN=client-rsa.test');
    t.equal(seen.machine.whitelist.length, 11);
    t.same(seen.machine.timeline.map((r) => r[0]), trusted.reports.slice().reverse().map((id) => `#${id}`));
    t.same(seen.machine.boots.map((b) => [b[0], b[6]]), [[boot2, '100 entries ! 100 with problems'], [boot1, '1083 entries ! 188 with problems']]);
    t.equal(seen.reports.title, `Reports of ${HOSTS.trusted}`);
    t.equal(seen.reports.rows.length, 3);
    t.equal(seen.report?.title, `Report #${trusted.reports[2]}`);
    t.match(seen.report?.props, { Outcome: 'passed', 'Previous report': `#${trusted.reports[1]}` });
    t.ok(seen.report?.steps.every((s) => s.startsWith('✓ pass')), 'every step passed');
    t.equal(seen.firmware.secureBoot, 'enabled');
    t.same(seen.firmware.variables.map((v) => [v[0], v[1]]), [['SecureBoot', ''], ['PK', '1'], ['KEK', '3'], ['db', '4'], ['dbx', '371']]);
    t.equal(seen.firmware.events.length, 99);
    t.same(seen.firmware.events[9]!.slice(0, 3), ['9', '7', 'EV_SEPARATOR']);
    t.same(seen.ima.boots.map((b) => b[1]), ['100', '1083']);
    t.equal(seen.ima.entries.length, 100);
    t.equal(seen.ima.entries[1]![1], '/init');
    t.equal(seen.screenshots.length, 7);
    t.same(dialogs, []);
  });

  t.test('machines: search, state filter and sorting by clicking', async (t) => {
    await page.goto(`${web.url}/machines`);
    await page.getByLabel('Hostname contains').fill('example.com');
    await page.getByLabel('State').selectOption('failing');
    await page.getByRole('button', { name: 'Filter' }).click();
    t.same((await tableRows(page, '#machines')).map((r) => r[0]), [HOSTS.failing, HOSTS.offWhitelist]);
    await page.getByRole('link', { name: 'Last report' }).click();
    await page.getByRole('link', { name: /Last report/ }).click();
    t.match(page.url(), /sort=last&dir=desc/);
    t.same((await tableRows(page, '#machines')).map((r) => r[0]), [HOSTS.offWhitelist, HOSTS.failing], 'newest first, filter kept');
    await screenshot(page, `${backend.name}-machines-filtered`);
  });

  t.test('reports: outcome filter and paging by clicking', async (t) => {
    await page.goto(`${web.url}/reports`);
    await page.getByLabel('Outcome').selectOption('failed');
    await page.getByRole('button', { name: 'Filter' }).click();
    const failed = (await tableRows(page, '#reports')).map((r) => r[0]);
    t.same(failed, [fleet.machines.xss.reports[0], failing.reports[1]].sort((a, b) => b - a).map((id) => `#${id}`));
    await page.getByLabel('Outcome').selectOption('pcrinvalid');
    await page.getByRole('button', { name: 'Filter' }).click();
    t.same((await tableRows(page, '#reports')).map((r) => r[0]), [`#${offWhitelist.reports[1]}`]);
    await page.getByRole('link', { name: `#${offWhitelist.reports[1]}` }).click();
    t.equal(await page.locator('#pcrs tr.diff').count(), 1, 'one PCR differs');
    t.same(await page.locator('#pcrs tr.diff td').nth(1).innerText(), '7');
    t.match(await page.locator('#pcrs tr.diff').innerText(), /differs from white list[\s\S]*changed since previous/);
    await screenshot(page, `${backend.name}-report-pcrinvalid`);

    await page.goto(`${web.url}/reports?limit=4`);
    const seen: string[] = [];
    for (;;) {
      seen.push(...(await tableRows(page, '#reports')).map((r) => r[0]!));
      const next = page.getByRole('link', { name: 'Next page →' });
      if ((await next.count()) === 0) break;
      await next.click();
    }
    t.equal(seen.length, 10);
    t.equal(new Set(seen).size, 10, 'no report twice');
  });

  t.test('IMA log: status filter, path search and paging by clicking', async (t) => {
    await page.goto(`${web.url}/machines/${encodeURIComponent(HOSTS.trusted)}/imalog`);
    await page.getByRole('link', { name: boot1, exact: true }).click();
    await page.getByLabel('Status').selectOption('nokey');
    await page.getByRole('button', { name: 'Filter' }).click();
    const nokey = await tableRows(page, '#ima');
    t.same(nokey.map((r) => r[0]), ['591', '1081']);
    t.match(nokey[1]![4], /unknown key/);
    await page.getByLabel('Status').selectOption('all');
    await page.getByLabel('Path contains').fill('trojan');
    await page.getByRole('button', { name: 'Filter' }).click();
    t.same((await tableRows(page, '#ima')).map((r) => [r[0], r[4]!.split('\n')[0]]), [['1080', '! unsigned'], ['1081', '! unknown key'], ['1082', '✗ bad signature']]);
    await page.getByLabel('Path contains').fill('');
    await page.getByRole('button', { name: 'Filter' }).click();
    t.equal((await tableRows(page, '#ima'))[0]![0], '0');
    await page.getByRole('link', { name: 'Next page →' }).click();
    const second = await tableRows(page, '#ima');
    t.same([second[0]![0], second.at(-1)![0]], ['200', '399']);
    await page.getByRole('link', { name: 'First page' }).click();
    t.equal((await tableRows(page, '#ima'))[0]![0], '0');
    await screenshot(page, `${backend.name}-ima-page`);
  });

  t.test('firmware log: raw hex opens on demand', async (t) => {
    await page.goto(`${web.url}/machines/${encodeURIComponent(HOSTS.failing)}/bioslog`);
    t.match(await page.locator('#secure-boot').innerText(), /Secure Boot: ✗ disabled/);
    const raw = page.locator('#events tbody tr').nth(3).locator('details code');
    t.notOk(await raw.isVisible(), 'hidden until asked');
    await page.locator('#events tbody tr').nth(3).getByText('raw').click();
    t.ok(await raw.isVisible());
    t.match(await raw.innerText(), /^[0-9a-f]+$/);
    await screenshot(page, `${backend.name}-firmware-secureboot-off`);
    t.same(dialogs, []);
  });
});
