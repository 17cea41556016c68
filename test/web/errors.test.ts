/** A database that stops answering gives 503 pages and JSON errors, never a crash or a hang. */
import t from 'tap';
import { openStore } from '../../db/open.js';
import { startTestWeb } from '../helpers/web-server.js';

t.test('store closed under the server', async (t) => {
  const store = await openStore('sqlite::memory:');
  const web = await startTestWeb(t, store);
  t.equal((await web.get('/api/machines')).status, 200);
  await store.close();
  const api = await web.get('/api/machines');
  t.equal(api.status, 503);
  t.same(api.json, { error: { status: 503, message: 'the database is not answering; try again' } });
  const page = await web.get('/machines');
  t.equal(page.status, 503);
  t.match(page.text, '<p id="error">the database is not answering; try again</p>');
  t.equal((await web.get('/static/style.css')).status, 200, 'what needs no database still works');
  const head = await fetch(`${web.url}/static/style.css`, { method: 'HEAD' });
  t.equal(head.status, 200);
  t.equal(await head.text(), '');
});
