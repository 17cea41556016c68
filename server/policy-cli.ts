/**
 * `acs-server policy …`: reference-value policies, straight on the database.
 *   import --name NAME FILE [--excludes FILE]   Keylime runtime policy JSON or a HASH  PATH allow-list
 *   golden --name NAME --from-machine HOST      a machine's white list as measured-boot reference values
 *   list | show NAME | remove NAME
 *   assign --name NAME [HOST…] [--all] [--default] | unassign --name NAME HOST…
 */
import { readFile } from 'node:fs/promises';
import type { Argv } from 'yargs';
import { openStore } from '../db/open.js';
import { cliOptions, configFromArgv } from './config.js';
import { PolicySql } from '../db/policy-store.js';
import type { Store } from '../db/store.js';
import { FIRMWARE_PCRS } from '../shared/tpm/pcr-roles.js';
import { referenceFromWhitelist } from './policy/reference-values.js';
import { HostnameError, normalizeHostname, printableName } from '../shared/protocol/hostname.js';
import { PolicyFormatError, parseExcludeList, parseRuntimePolicyFile, withExcludes } from './policy/runtime-policy.js';

/** Opens the store named by --db (or ACS_SQL_*, or the SQLite default) for one command. */
async function withPolicies<T>(argv: Record<string, unknown>, fn: (policies: PolicySql, store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(configFromArgv(argv, ['store']).db, process.env, { create: true });
  try {
    return await fn(new PolicySql(store.driver), store);
  } finally {
    await store.close();
  }
}

async function readPolicyFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new PolicyFormatError(`${what} ${path}: ${(e as Error).message}`);
  }
}

const dbOption = cliOptions(['store']).db!;
const nameOption = { type: 'string', demandOption: true, describe: 'policy name' } as const;

/** A hostname as the protocol compares it (shared/protocol/hostname.ts), so an assignment matches what clients send. */
function hostnameArgument(raw: string): string {
  try {
    return normalizeHostname(raw);
  } catch (e) {
    if (e instanceof HostnameError) throw new PolicyFormatError(`${e.message}: ${printableName(raw)}`);
    throw e;
  }
}

export function policyCommands<T>(y: Argv<T>): Argv<T> {
  return y
    .command(
      'import <file>',
      'store an IMA runtime policy (Keylime JSON, or HASH  PATH lines) under a name',
      (c) =>
        c
          .positional('file', { type: 'string', demandOption: true })
          .option('db', dbOption)
          .option('name', nameOption)
          .option('excludes', { type: 'string', describe: 'file of exclude regexes, one a line' }),
      async (argv) => {
        let policy = parseRuntimePolicyFile(await readPolicyFile(argv.file, 'policy file'));
        if (argv.excludes) policy = withExcludes(policy, parseExcludeList(await readPolicyFile(argv.excludes, 'exclude list')));
        const paths = Object.keys(policy.digests).length;
        const done = await withPolicies(argv, (p) => p.save(argv.name, 'ima', JSON.stringify(policy), new Date()));
        console.log(`policy ${argv.name} ${done}: ${paths} paths, ${policy.excludes.length} excludes`);
      },
    )
    .command(
      'golden',
      "store a machine's white list as measured-boot reference values",
      (c) => c.option('db', dbOption).option('name', nameOption).option('from-machine', { type: 'string', demandOption: true, describe: 'hostname' }),
      async (argv) => {
        const host = argv['from-machine'];
        const done = await withPolicies(argv, async (p, store) => {
          const m = await store.machineWithoutCerts(host);
          if (!m?.whitelist) throw new PolicyFormatError(`machine ${host} has no white list yet (no accepted quote)`);
          const ref = referenceFromWhitelist(m.whitelist, FIRMWARE_PCRS, `white list of ${host}`);
          return p.save(argv.name, 'pcr', JSON.stringify(ref), new Date());
        });
        console.log(`reference values ${argv.name} ${done} from ${host}`);
      },
    )
    .command(
      'list',
      'list policies',
      (c) => c.option('db', dbOption),
      async (argv) => {
        const list = await withPolicies(argv, (p) => p.list());
        for (const p of list) console.log(`${p.name}\t${p.kind}\t${p.assigned} assigned${p.isDefault ? '\tdefault' : ''}\t${p.updatedAt.toISOString()}`);
      },
    )
    .command(
      'show <name>',
      'print a policy and the hostnames assigned to it',
      (c) => c.positional('name', { type: 'string', demandOption: true }).option('db', dbOption),
      async (argv) => {
        const { policy, hosts } = await withPolicies(argv, async (p) => ({
          policy: await p.byName(argv.name),
          hosts: (await p.assignments()).filter((a) => a.policyName === argv.name).map((a) => a.hostname),
        }));
        if (!policy) throw new PolicyFormatError(`no policy named ${argv.name}`);
        console.log(JSON.stringify({ name: policy.name, kind: policy.kind, default: policy.isDefault, assigned: hosts, policy: JSON.parse(policy.body) }, null, 2));
      },
    )
    .command(
      'remove <name>',
      'delete a policy and its assignments',
      (c) => c.positional('name', { type: 'string', demandOption: true }).option('db', dbOption),
      async (argv) => {
        if (!(await withPolicies(argv, (p) => p.remove(argv.name)))) throw new PolicyFormatError(`no policy named ${argv.name}`);
        console.log(`policy ${argv.name} removed`);
      },
    )
    .command(
      'assign [hosts..]',
      'judge hostnames (or all enrolled machines, or machines enrolling from now on) by a policy',
      (c) =>
        c
          .positional('hosts', { type: 'string', array: true, default: [] as string[] })
          .option('db', dbOption)
          .option('name', nameOption)
          .option('all', { type: 'boolean', default: false, describe: 'every enrolled machine' })
          .option('default', { type: 'boolean', default: false, describe: 'also assign it to each machine when it first enrolls' }),
      async (argv) => {
        const hosts = (argv.hosts ?? []).map(hostnameArgument);
        if (hosts.length === 0 && !argv.all && !argv.default) throw new PolicyFormatError('name hostnames, or give --all or --default');
        const done = await withPolicies(argv, (p) => p.assign(argv.name, { hostnames: hosts, all: argv.all, isDefault: argv.default }, new Date()));
        console.log(`policy ${argv.name} assigned to ${done.length} machine(s)${argv.default ? ' and made the default' : ''}`);
      },
    )
    .command(
      'unassign <hosts..>',
      'take hostnames off a policy',
      (c) => c.positional('hosts', { type: 'string', array: true, demandOption: true }).option('db', dbOption).option('name', nameOption),
      async (argv) => {
        const n = await withPolicies(argv, (p) => p.unassign(argv.name, argv.hosts.map(hostnameArgument)));
        console.log(`policy ${argv.name} unassigned from ${n} machine(s)`);
      },
    )
    .demandCommand(1, 'name a policy command');
}
