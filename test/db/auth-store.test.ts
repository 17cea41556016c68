/**
 * The account tables on SQLite and MariaDB alike: unique names enforced by
 * the database, sessions that expire and end with their user or password,
 * tokens found by hash only while unrevoked, and no secret stored in clear.
 */
import t from 'tap';
import { authStore } from '../../db/auth-store.js';
import { DuplicateKeyError } from '../../db/store.js';
import { SqlStore } from '../../db/sql-store.js';
import { secretHash } from '../../web/auth/secrets.js';
import { BACKENDS } from '../helpers/store-fixtures.js';

for (const backend of BACKENDS) {
  t.test(backend.name, async (t) => {
    const store = await backend.open(t);
    const accounts = authStore(store.driver);
    const sql = (store as SqlStore).driver;
    const now = new Date('2026-03-01T10:00:00.000Z');
    const later = new Date('2026-03-01T22:00:00.000Z');

    const alice = await accounts.addUser('alice', 'admin', 'scrypt$15$8$3$c2FsdA==$aGFzaA==', now);
    await accounts.addUser('bob', 'viewer', 'scrypt$15$8$3$c2FsdA==$b3RoZXI=', now);
    const dup = await accounts.addUser('alice', 'viewer', 'x', now).catch((e: unknown) => e);
    t.ok(dup instanceof DuplicateKeyError && dup.key === 'web_users_name_uq', 'a second alice is refused by the unique index');
    t.same((await accounts.users()).map((u) => [u.name, u.role]), [['alice', 'admin'], ['bob', 'viewer']]);
    t.equal((await accounts.userByName('alice'))?.passwordHash, 'scrypt$15$8$3$c2FsdA==$aGFzaA==');
    t.equal(await accounts.userByName('ALICE'), undefined, 'names match exactly');

    await accounts.createSession(alice, secretHash('s1'), later, now);
    t.match(await accounts.session(secretHash('s1'), now), { userId: alice, name: 'alice', role: 'admin', expiresAt: later });
    t.equal(await accounts.session(secretHash('s1'), later), undefined, 'a session ends at its expiry');
    t.equal(await accounts.session(secretHash('s2'), now), undefined);
    await accounts.createSession(alice, secretHash('s2'), later, new Date('2026-03-02T00:00:00.000Z'));
    t.equal((await sql.all('SELECT COUNT(*) AS n FROM web_sessions'))[0]!.n, 1, 'a new session sweeps the expired ones');
    t.ok(await accounts.setPassword('alice', 'scrypt$15$8$3$bmV3$bmV3', now));
    t.equal((await sql.all('SELECT COUNT(*) AS n FROM web_sessions'))[0]!.n, 0, 'a new password ends the sessions');
    t.equal(await accounts.setPassword('nobody', 'x', now), false);
    await accounts.createSession(alice, secretHash('s3'), later, now);
    t.ok(await accounts.removeUser('alice'));
    t.equal(await accounts.removeUser('alice'), false);
    t.equal((await sql.all('SELECT COUNT(*) AS n FROM web_sessions'))[0]!.n, 0, 'removing a user ends their sessions');

    await accounts.createToken('ci', 'viewer', secretHash('acs_token1'), now);
    const dupToken = await accounts.createToken('ci', 'admin', secretHash('acs_token2'), now).catch((e: unknown) => e);
    t.ok(dupToken instanceof DuplicateKeyError && dupToken.key === 'api_tokens_name_uq', 'token names are unique');
    t.match(await accounts.activeToken(secretHash('acs_token1')), { name: 'ci', role: 'viewer', revokedAt: null });
    t.ok(await accounts.revokeToken('ci', later));
    t.equal(await accounts.revokeToken('ci', later), false, 'revoking twice changes nothing');
    t.equal(await accounts.activeToken(secretHash('acs_token1')), undefined, 'a revoked token opens nothing');
    t.match(await accounts.tokens(), [{ name: 'ci', revokedAt: later }], 'the revoked token stays listed');
    const stored = JSON.stringify(await sql.all('SELECT * FROM api_tokens'));
    t.notMatch(stored, 'acs_token1', 'the token itself is not stored');
  });
}
