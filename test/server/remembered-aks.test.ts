import t from 'tap';
import { RememberedAks } from '../../server/remembered-aks.js';

t.test('remembers the latest AK per host and forgets on request', async (t) => {
  const aks = new RememberedAks();
  t.equal(aks.recall('a'), undefined);
  aks.remember('a', 'ak1');
  aks.remember('a', 'ak2');
  t.equal(aks.recall('a'), 'ak2', 'a newer read replaces the older');
  aks.forget('a');
  t.equal(aks.recall('a'), undefined);
});

t.test('bounded: beyond the limit the host remembered longest ago is dropped', async (t) => {
  const aks = new RememberedAks(2);
  aks.remember('a', 'ak-a');
  aks.remember('b', 'ak-b');
  aks.remember('a', 'ak-a');
  aks.remember('c', 'ak-c');
  t.equal(aks.recall('b'), undefined, 'b was remembered longest ago');
  t.equal(aks.recall('a'), 'ak-a', 'remembering a again made it recent');
  t.equal(aks.recall('c'), 'ak-c');
});
