/** Which Host headers the web UI answers (DNS rebinding defence). */
import t from 'tap';
import { HostCheck } from '../../web/auth/host-check.js';

t.test('defaults: the listen address and the loopback names, at the port', async (t) => {
  const hosts = new HostCheck({ listenHost: '192.0.2.10', port: 8080 });
  for (const ok of ['192.0.2.10:8080', 'localhost:8080', 'LOCALHOST:8080', '127.0.0.1:8080', '[::1]:8080', 'localhost.:8080']) t.ok(hosts.allows(ok), ok);
  for (const bad of ['evil.example', 'evil.example:8080', 'localhost:8081', 'localhost', '127.0.0.1', '', undefined, 'a b:8080', 'localhost:8080:1']) {
    t.notOk(hosts.allows(bad), String(bad));
  }
});

t.test('public names: any port unless one is given', async (t) => {
  const hosts = new HostCheck({ listenHost: '::', port: 8080, publicNames: ['acs.example.org', 'ui.example.org:8443', '2001:db8::1'] });
  for (const ok of ['acs.example.org', 'acs.example.org:443', 'ui.example.org:8443', '[2001:db8::1]:8080', '[::]:8080']) t.ok(hosts.allows(ok), ok);
  for (const bad of ['ui.example.org', 'ui.example.org:443', 'example.org']) t.notOk(hosts.allows(bad), bad);
  t.throws(() => new HostCheck({ listenHost: '::', port: 1, publicNames: ['bad name'] }), /--web-public-name "bad name" is not a host name/);
});
