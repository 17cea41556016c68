/**
 * The list pages cost a fixed number of SQL statements: the same with 3
 * machines as with 50 (no query per row), on both dialects.
 */
import t from 'tap';
import { BACKENDS } from '../helpers/store-fixtures.js';
import { addFleetMachines } from '../helpers/web-seed.js';
import { startTestWeb } from '../helpers/web-server.js';

const PATHS = ['/', '/machines', '/machines?sort=last&dir=desc', '/reports', '/reports?latestPerHost=true', '/api/machines', '/api/reports?limit=500'];

for (const backend of BACKENDS) {
  t.test(backend.name, async (t) => {
    const store = await backend.open(t);
    const web = await startTestWeb(t, store);
    const measure = async () => {
      const counts: Record<string, number> = {};
      for (const path of PATHS) {
        const res = await web.get(path);
        t.equal(res.status, 200, path);
        counts[path] = web.statementsFor(path);
      }
      return counts;
    };

    await addFleetMachines(store, 3);
    const small = await measure();
    t.equal((await web.get('/api/machines')).json.items.length, 3);
    await addFleetMachines(store, 47, new Date(), 'more');
    const large = await measure();
    t.equal((await web.get('/api/machines')).json.items.length, 50);
    t.equal((await web.get('/api/reports?limit=500')).json.items.length, 100);
    t.match((await web.get('/machines')).text, /50 of 50 machines/);

    t.same(large, small, 'same statement count with 50 machines as with 3');
    for (const path of PATHS) t.ok(small[path]! >= 1 && small[path]! <= 3, `${path}: ${small[path]} statements`);
    t.equal(small['/machines'], 1, 'the machines page is one statement');
    t.equal(small['/reports'], 1, 'the reports page is one statement');
  });
}
