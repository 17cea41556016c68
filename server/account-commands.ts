/**
 * `acs-server user …` and `acs-server token …`: the web UI's local users and
 * API tokens. Passwords are read from stdin (`--password-stdin`) or generated
 * and printed once; tokens are printed once at creation. Neither is ever
 * logged or stored: only scrypt hashes (users) and SHA-256 digests (tokens).
 */
import type { Argv, CommandModule } from 'yargs';
import { authStore, ROLES, type AuthStore, type Role } from '../db/auth-store.js';
import { openStore } from '../db/open.js';
import { DuplicateKeyError } from '../db/store.js';
import { hashPassword, passwordProblem } from '../web/auth/password.js';
import { newApiToken, newSecret, secretHash } from '../web/auth/secrets.js';

/** User and token names: letters, digits and . _ @ -, as they appear in logs and the UI. */
const NAME = /^[A-Za-z0-9._@-]{1,64}$/;

/** A refusal of an account command; the CLI prints it and exits 1. */
export class AccountError extends Error {
  override name = 'AccountError';
}

function checkName(kind: string, name: string): string {
  if (!NAME.test(name)) throw new AccountError(`${kind} name ${JSON.stringify(name)} must be 1-64 letters, digits, '.', '_', '@' or '-'`);
  return name;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
  // One line: the trailing newline of `echo` or a here-string is not part of the password.
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** The password from stdin, or a generated one printed once. */
async function newPassword(fromStdin: boolean, name: string): Promise<string> {
  if (!fromStdin) {
    const generated = newSecret();
    console.log(`password for ${name} (shown once): ${generated}`);
    return generated;
  }
  const password = await readStdin();
  const problem = passwordProblem(password);
  if (problem) throw new AccountError(problem);
  return password;
}

/** Opens the store, runs fn on its accounts, closes; refusals exit 1, usage errors 2 (yargs). */
async function withAccounts(db: string | undefined, create: boolean, fn: (accounts: AuthStore) => Promise<void>): Promise<void> {
  const store = await openStore(db, process.env, { create });
  try {
    await fn(authStore(store.driver));
  } catch (e) {
    if (!(e instanceof AccountError)) throw e;
    console.error(`acs-server: ${e.message}`);
    process.exitCode = 1;
  } finally {
    await store.close();
  }
}

const dbOption = <T>(y: Argv<T>) => y.option('db', { type: 'string', describe: 'mysql://… or sqlite:PATH (default: ACS_SQL_* variables, else sqlite:./acs.db)' });
const roleOption = { choices: ROLES, demandOption: true, describe: 'viewer reads; admin also changes state' } as const;
const day = (d: Date | null) => (d ? d.toISOString().replace('T', ' ').slice(0, 19) : '-');

const user: CommandModule = {
  command: 'user',
  describe: 'manage web UI users (add, list, remove, passwd)',
  builder: (y) =>
    dbOption(y)
      .command(
        'add <name>',
        'add a user; the password comes from stdin with --password-stdin, else one is generated and printed once',
        (a) => a.positional('name', { type: 'string', demandOption: true }).option('role', roleOption).option('password-stdin', { type: 'boolean', default: false }),
        (argv) =>
          withAccounts(argv.db as string | undefined, true, async (accounts) => {
            const name = checkName('user', argv.name as string);
            if (await accounts.userByName(name)) throw new AccountError(`user ${name} exists`);
            const hash = await hashPassword(await newPassword(argv['password-stdin'] as boolean, name));
            try {
              await accounts.addUser(name, argv.role as Role, hash);
            } catch (e) {
              if (e instanceof DuplicateKeyError) throw new AccountError(`user ${name} exists`);
              throw e;
            }
            console.log(`user ${name} added (${argv.role as string})`);
          }),
      )
      .command('list', 'list users', (a) => a, (argv) =>
        withAccounts(argv.db as string | undefined, false, async (accounts) => {
          for (const u of await accounts.users()) console.log(`${u.name}\t${u.role}\tcreated ${day(u.createdAt)}\tchanged ${day(u.updatedAt)}`);
        }),
      )
      .command('remove <name>', 'remove a user and end their sessions', (a) => a.positional('name', { type: 'string', demandOption: true }), (argv) =>
        withAccounts(argv.db as string | undefined, false, async (accounts) => {
          if (!(await accounts.removeUser(argv.name as string))) throw new AccountError(`no user ${argv.name as string}`);
          console.log(`user ${argv.name as string} removed`);
        }),
      )
      .command(
        'passwd <name>',
        "set a user's password (from stdin with --password-stdin, else generated) and end their sessions",
        (a) => a.positional('name', { type: 'string', demandOption: true }).option('password-stdin', { type: 'boolean', default: false }),
        (argv) =>
          withAccounts(argv.db as string | undefined, false, async (accounts) => {
            const name = argv.name as string;
            if (!(await accounts.userByName(name))) throw new AccountError(`no user ${name}`);
            const hash = await hashPassword(await newPassword(argv['password-stdin'] as boolean, name));
            if (!(await accounts.setPassword(name, hash))) throw new AccountError(`no user ${name}`);
            console.log(`password of ${name} changed; their sessions ended`);
          }),
      )
      .demandCommand(1),
  handler: () => undefined,
};

const token: CommandModule = {
  command: 'token',
  describe: 'manage JSON API tokens (create, list, revoke)',
  builder: (y) =>
    dbOption(y)
      .command(
        'create',
        'create an API token and print it once (only its hash is stored)',
        (a) => a.option('name', { type: 'string', demandOption: true }).option('role', roleOption),
        (argv) =>
          withAccounts(argv.db as string | undefined, true, async (accounts) => {
            const name = checkName('token', argv.name as string);
            const value = newApiToken();
            try {
              await accounts.createToken(name, argv.role as Role, secretHash(value));
            } catch (e) {
              if (e instanceof DuplicateKeyError) throw new AccountError(`a token named ${name} exists (names of revoked tokens stay taken)`);
              throw e;
            }
            console.error(`token ${name} (${argv.role as string}) created; it is shown once, below:`);
            console.log(value);
          }),
      )
      .command('list', 'list API tokens', (a) => a, (argv) =>
        withAccounts(argv.db as string | undefined, false, async (accounts) => {
          for (const t of await accounts.tokens()) {
            console.log(`${t.name}\t${t.role}\tcreated ${day(t.createdAt)}\t${t.revokedAt ? `revoked ${day(t.revokedAt)}` : 'active'}`);
          }
        }),
      )
      .command('revoke <name>', 'revoke an API token', (a) => a.positional('name', { type: 'string', demandOption: true }), (argv) =>
        withAccounts(argv.db as string | undefined, false, async (accounts) => {
          if (!(await accounts.revokeToken(argv.name as string))) throw new AccountError(`no active token ${argv.name as string}`);
          console.log(`token ${argv.name as string} revoked`);
        }),
      )
      .demandCommand(1),
  handler: () => undefined,
};

export const accountCommands: CommandModule[] = [user, token];
