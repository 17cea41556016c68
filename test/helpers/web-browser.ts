/**
 * Debian's Chromium driven by playwright-core (never a downloaded browser),
 * and a walk through every page of one machine the way a person clicks
 * through them, returning what each page shows. Reusable by any test that
 * has a web server with data in it (seeded rows or a real enroll + attest).
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run',
];
export const SCREENSHOT_DIR = fileURLToPath(new URL('../../../test/output/screenshots/', import.meta.url));

export async function launchChromium(t?: { teardown(fn: () => unknown): void }): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  t?.teardown(() => browser.close());
  return browser;
}

/** A page that records every JavaScript dialog (there must never be one) and dismisses it; logged in through the form when `as` is given. */
export async function watchedPage(
  browser: Browser,
  as?: { url: string; user: { name: string; password: string } | undefined },
): Promise<{ page: Page; dialogs: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  if (as?.user) await logInWithForm(page, as.url, as.user);
  return { page, dialogs };
}

/** Fills and submits the login form the way a person does; resolves on the page it leads to. */
export async function logInWithForm(page: Page, baseUrl: string, user: { name: string; password: string }, path = '/'): Promise<void> {
  await page.goto(`${baseUrl}${path}`);
  await page.locator('form#login input[name=user]').fill(user.name);
  await page.locator('form#login input[name=password]').fill(user.password);
  await Promise.all([page.waitForNavigation(), page.locator('form#login button[type=submit]').click()]);
}

/** Pages taller than this are shot to the viewport only: full shots of long logs cost seconds and megabytes. */
const FULL_PAGE_MAX_HEIGHT = 4000;

/** Saves a screenshot to SCREENSHOT_DIR and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = `${SCREENSHOT_DIR}${name.replace(/[^A-Za-z0-9._-]/g, '_')}.png`;
  const height = Number(await page.evaluate('document.documentElement.scrollHeight'));
  await page.screenshot({ path, fullPage: height <= FULL_PAGE_MAX_HEIGHT });
  return path;
}

/** The little of the DOM read inside the page (the project compiles without the DOM library). */
interface DomElement {
  innerText: string;
  textContent: string | null;
  querySelectorAll(selector: string): ArrayLike<DomElement>;
  querySelector(selector: string): DomElement | null;
  getAttribute(name: string): string | null;
}

/** The label → text pairs of the page's first property list. */
async function properties(page: Page): Promise<Record<string, string>> {
  const list = page.locator('dl.props').first();
  const labels = await list.locator(':scope > dt').allInnerTexts();
  const values = await list.locator(':scope > dd').allInnerTexts();
  return Object.fromEntries(labels.map((l, i) => [l.trim(), (values[i] ?? '').trim()]));
}

/** The cells' text of every body row of a table. */
export async function tableRows(page: Page, selector: string): Promise<string[][]> {
  if ((await page.locator(selector).count()) === 0) return [];
  return page.locator(`${selector} tbody tr`).evaluateAll((rows: unknown[]) =>
    (rows as DomElement[]).map((r) => Array.from(r.querySelectorAll('td')).map((td) => td.innerText.trim())),
  );
}

async function title(page: Page): Promise<string> {
  return (await page.locator('h1').innerText()).trim();
}

export interface MachinePagesView {
  overview: Record<string, number>;
  /** The machine's row on the machines page, by column heading. */
  machinesRow: Record<string, string>;
  machine: { title: string; props: Record<string, string>; ekSubject: string | null; akSubject: string | null; whitelist: string[][]; timeline: string[][]; boots: string[][] };
  reports: { title: string; rows: string[][] };
  /** The newest report, or null when the machine has none. */
  report: { title: string; props: Record<string, string>; steps: string[]; pcrs: string[][] } | null;
  firmware: { title: string; secureBoot: string | null; variables: string[][]; events: string[][] };
  ima: { title: string; boots: string[][]; entries: string[][] };
  screenshots: string[];
}

/**
 * Opens the overview, then clicks through Machines → the machine → its
 * reports → its newest report → firmware log → IMA log, reading each page.
 * With `screenshotPrefix`, saves a full-page screenshot of each.
 */
export async function readMachinePages(page: Page, baseUrl: string, hostname: string, screenshotPrefix?: string): Promise<MachinePagesView> {
  const shots: string[] = [];
  const shot = async (name: string) => {
    if (screenshotPrefix) shots.push(await screenshot(page, `${screenshotPrefix}-${name}`));
  };
  const link = (name: string) => page.getByRole('link', { name, exact: true });

  await page.goto(`${baseUrl}/`);
  const overview = Object.fromEntries(
    await page.locator('.card').evaluateAll((cards: unknown[]) =>
      (cards as DomElement[]).map((c) => [c.getAttribute('data-state') ?? '', Number(c.querySelector('.count')?.textContent ?? NaN)] as const),
    ),
  );
  await shot('overview');

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Machines' }).click();
  const headings = await page.locator('#machines thead th').allInnerTexts();
  const row = page.locator('#machines tbody tr').filter({ has: link(hostname) });
  const cells = await row.locator('td').allInnerTexts();
  const machinesRow = Object.fromEntries(headings.map((h, i) => [h.replace(/[▲▼]/g, '').trim(), (cells[i] ?? '').trim()]));
  await shot('machines');

  await row.getByRole('link', { name: hostname, exact: true }).click();
  const subject = async (id: string) => {
    const dd = page.locator(`#${id} dl.props dd`).first();
    return (await dd.count()) ? (await dd.innerText()).trim() : null;
  };
  const machine = {
    title: await title(page),
    props: await properties(page),
    ekSubject: await subject('ek-certificate'),
    akSubject: await subject('ak-certificate'),
    whitelist: await tableRows(page, '#whitelist'),
    timeline: await tableRows(page, '#timeline'),
    boots: await tableRows(page, '#boots'),
  };
  await shot('machine');
  const machineUrl = page.url();

  await link('All reports').click();
  const reports = { title: await title(page), rows: await tableRows(page, '#reports') };
  await shot('reports');
  let report: MachinePagesView['report'] = null;
  if (reports.rows.length > 0) {
    await page.locator('#reports tbody tr').first().getByRole('link').first().click();
    report = {
      title: await title(page),
      props: await properties(page),
      steps: (await page.locator('#steps li').allInnerTexts()).map((s) => s.trim()),
      pcrs: await tableRows(page, '#pcrs'),
    };
    await shot('report');
  }

  await page.goto(machineUrl);
  await link('Firmware log').first().click();
  const sb = page.locator('#secure-boot .badge').first();
  const firmware = {
    title: await title(page),
    secureBoot: (await sb.count()) ? (await sb.innerText()).replace(/^[^A-Za-z]+/, '').trim() : null,
    variables: await tableRows(page, '#sb-variables'),
    events: await tableRows(page, '#events'),
  };
  await shot('firmware');

  await page.goto(machineUrl);
  await link('IMA log').first().click();
  const ima = { title: await title(page), boots: await tableRows(page, '#ima-boots'), entries: await tableRows(page, '#ima') };
  await shot('ima');
  return { overview, machinesRow, machine, reports, report, firmware, ima, screenshots: shots };
}
