/**
 * A boot with 100,000 IMA entries: keyset cursors reach any depth with a
 * bounded page, in order, without skipping or repeating entries; a path
 * search walks the boot one bounded window per call.
 */
import t from 'tap';
import { openStore } from '../../db/open.js';
import { IMA_SEARCH_WINDOW } from '../../db/queries.js';
import { acsImaEntries, addMachine, bootTime } from '../helpers/web-seed.js';
import { startTestWeb } from '../helpers/web-server.js';

const ENTRIES = 100_000;

t.test('100k IMA entries in one boot (SQLite)', async (t) => {
  const store = await openStore('sqlite::memory:');
  t.teardown(() => store.close());
  const ima = acsImaEntries();
  const boot = bootTime(new Date(Date.now() - 3_600_000));
  const entries = Array.from({ length: ENTRIES }, (_, i) => ({ ...ima[i % ima.length]!, index: i }));
  await addMachine(store, 'busy.example.com', new Date(), [
    { at: new Date(), boottime: boot, newBoot: true, ima: entries, patch: { quoteverified: true, imaver: true, imaevents: ENTRIES } },
  ]);
  const web = await startTestWeb(t, store);
  const api = '/api/machines/busy.example.com/imalog';

  const first = await web.get(`${api}?limit=5000`);
  t.equal(first.json.items.length, 5000);
  t.equal(first.json.boots[0].events, ENTRIES);
  let cursor: string | null = first.json.next;
  let expected = 5000;
  let pages = 1;
  let cursorAt95000: string | undefined;
  while (cursor !== null) {
    if (expected === 95000) cursorAt95000 = cursor;
    const res = await web.get(`${api}?limit=5000&cursor=${encodeURIComponent(cursor)}`);
    t.equal(res.status, 200);
    const nums = res.json.items.map((e: { entrynum: number }) => e.entrynum);
    if (nums[0] !== expected || nums.at(-1) !== expected + nums.length - 1) t.fail(`page ${pages} starts at ${nums[0]}, expected ${expected}`);
    expected += nums.length;
    cursor = res.json.next;
    pages += 1;
  }
  t.equal(expected, ENTRIES, 'every entry exactly once, in order');
  t.equal(pages, 20);

  const deep = await web.get(`/machines/busy.example.com/imalog?cursor=${encodeURIComponent(cursorAt95000!)}`);
  t.equal(deep.status, 200);
  const shown = [...deep.text.matchAll(/data-entry="(\d+)"/g)].map((m) => Number(m[1]));
  t.same([shown.length, shown[0], shown.at(-1)], [200, 95000, 95199], 'the HTML page at that cursor');
  t.match(deep.text, 'rel="next"');
  const slowest = Math.max(...web.requests.map((r) => r.ms));
  t.ok(slowest < 3000, `slowest page ${Math.round(slowest)} ms`);
  t.equal(Math.max(...web.requests.map((r) => r.statements)), 4, 'a page of the log is 4 statements at any depth');

  // A path search reads one window of entry numbers per call and says where it stopped.
  const matches = entries.filter((e) => e.filename.includes('trojan')).map((e) => e.index);
  const found: number[] = [];
  const searched: (number | null)[] = [];
  let next: string | null = null;
  do {
    const res = await web.get(`${api}?path=trojan&limit=5000${next ? `&cursor=${encodeURIComponent(next)}` : ''}`);
    found.push(...res.json.items.map((e: { entrynum: number }) => e.entrynum));
    searched.push(res.json.searchedThrough);
    next = res.json.next;
  } while (next !== null);
  t.same(found, matches, `every match (${matches.length}) once, in order, across windows`);
  t.same(searched, [IMA_SEARCH_WINDOW - 1, null], 'each call searched one window: entries 0-49999, then 50000-99999');
  const html = await web.get('/machines/busy.example.com/imalog?path=trojan');
  t.match(html.text, `Searched through entry ${IMA_SEARCH_WINDOW - 1}; the next page searches on.`);
  t.match(html.text, 'rel="next"');
  const searches = web.requests.filter((r) => r.url.includes('path=trojan'));
  t.ok(searches.every((r) => r.statements <= 5), 'a search page is at most 5 statements');
});
