/** Failed-login counting: per address, per user, over a window, bounded in memory. */
import t from 'tap';
import { LoginThrottle } from '../../web/auth/login-throttle.js';

t.test('a user is refused after perUser failures from anywhere, until the window ends', async (t) => {
  let now = 0;
  const throttle = new LoginThrottle({ perAddress: 100, perUser: 3, windowMs: 1000 }, () => now);
  for (const address of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) {
    t.equal(throttle.blockedFor(address, 'alice'), 0);
    throttle.failed(address, 'alice');
  }
  t.equal(throttle.blockedFor('10.0.0.9', 'alice'), 1000, 'blocked from a fourth address');
  t.equal(throttle.blockedFor('10.0.0.9', 'bob'), 0, 'other users are not');
  now = 1000;
  t.equal(throttle.blockedFor('10.0.0.9', 'alice'), 0, 'the window ended');
});

t.test('an address is refused after perAddress failures, whatever the names', async (t) => {
  const throttle = new LoginThrottle({ perAddress: 3, perUser: 100, windowMs: 1000 }, () => 0);
  for (const user of ['a', 'b', 'c']) throttle.failed('10.0.0.1', user);
  t.equal(throttle.blockedFor('10.0.0.1', 'd'), 1000);
  t.equal(throttle.blockedFor('10.0.0.2', 'd'), 0);
});

t.test('a correct password clears the user count, not the address count', async (t) => {
  const throttle = new LoginThrottle({ perAddress: 3, perUser: 2, windowMs: 1000 }, () => 0);
  throttle.failed('10.0.0.1', 'alice');
  throttle.succeeded('alice');
  throttle.failed('10.0.0.1', 'alice');
  t.equal(throttle.blockedFor('10.0.0.2', 'alice'), 0);
  throttle.failed('10.0.0.1', 'alice');
  t.equal(throttle.blockedFor('10.0.0.1', 'zed'), 1000, 'three failures from the address');
});
