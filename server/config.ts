/**
 * acs-server configuration: each option of `serve`, `web`, `init` and
 * `migrate` is one entry of OPTIONS below (flag, default, bounds, help text).
 * The CLI builds its flags from the table, the server, its listener and the
 * web UI read the resolved ServerConfig, and tests start servers from
 * resolveServerConfig(overrides). The user, token and policy commands take
 * their own few flags, and limits fixed in code are not options.
 *
 * Values are held in the unit the code uses (milliseconds, bytes); an entry
 * with a `unit` is given on the command line in that unit (seconds, hours).
 */
import { DEFAULT_STALE_AFTER_MS } from '../db/queries.js';
import { DEFAULT_MAX_FRAME_BYTES } from '../shared/protocol/frame.js';
import { DEFAULT_EVENT_LIMITS, type EventLimits } from '../shared/protocol/messages.js';
import { AUTH_MODES, authModeProblem } from '../web/auth/web-auth.js';

/** Which commands take an option: `serve` takes all, `web` web+store, `migrate` store, `init` ca. */
export type OptionGroup = 'attest' | 'web' | 'store' | 'ca';

interface Unit {
  name: 'seconds' | 'hours';
  symbol: 's' | 'h';
  /** Internal value per command-line unit. */
  scale: number;
}

const SECONDS: Unit = { name: 'seconds', symbol: 's', scale: 1000 };
const HOURS: Unit = { name: 'hours', symbol: 'h', scale: 3_600_000 };

interface BaseSpec {
  /** The command-line flag, without `--`. */
  flag: string;
  describe: string;
  group: OptionGroup;
  /** Environment variable read when the flag is absent. */
  env?: string;
}
interface IntSpec extends BaseSpec {
  kind: 'int';
  default: number;
  min: number;
  max?: number;
  unit?: Unit;
}
interface OptionalIntSpec extends BaseSpec {
  kind: 'int?';
  min: number;
  max: number;
}
interface StringSpec extends BaseSpec {
  kind: 'string';
  default: string;
}
interface OptionalStringSpec extends BaseSpec {
  kind: 'string?';
}
interface StringsSpec extends BaseSpec {
  kind: 'strings';
  default: readonly string[];
}
interface BooleanSpec extends BaseSpec {
  kind: 'boolean';
  default: boolean;
}
interface ChoiceSpec extends BaseSpec {
  kind: 'choice';
  choices: readonly string[];
  default: string;
}
type OptionSpec = IntSpec | OptionalIntSpec | StringSpec | OptionalStringSpec | StringsSpec | BooleanSpec | ChoiceSpec;

type ValueOf<S> = S extends ChoiceSpec ? S['choices'][number]
  : S extends IntSpec ? number
  : S extends OptionalIntSpec ? number | undefined
  : S extends BooleanSpec ? boolean
  : S extends StringsSpec ? string[]
  : S extends OptionalStringSpec ? string | undefined
  : string;

const MIB = 1024 * 1024;

export const OPTIONS = {
  port: { kind: 'int', flag: 'port', group: 'attest', env: 'ACS_PORT', default: 2323, min: 0, max: 65535, describe: 'TCP port for clients, IBM ACS\'s by default (0: any free port)' },
  host: { kind: 'string', flag: 'host', group: 'attest', default: '0.0.0.0', describe: 'address to listen on' },
  tlsPort: { kind: 'int?', flag: 'tls-port', group: 'attest', min: 0, max: 65535, describe: 'also serve the same protocol over TLS 1.3 on this port (needs --tls-cert and --tls-key)' },
  tlsCert: { kind: 'string?', flag: 'tls-cert', group: 'attest', describe: 'certificate chain (PEM file) of --tls-port' },
  tlsKey: { kind: 'string?', flag: 'tls-key', group: 'attest', describe: 'private key (PEM file) of --tls-cert' },
  db: { kind: 'string?', flag: 'db', group: 'store', describe: 'mysql://user:pass@host:port/db or sqlite:PATH (default: ACS_SQL_* variables, else sqlite:./acs.db)' },
  caDir: { kind: 'string', flag: 'ca-dir', group: 'ca', default: './acs-data/ca', describe: 'privacy CA directory (cakey.pem, cacert.pem)' },
  roots: { kind: 'strings', flag: 'roots', group: 'attest', default: [], describe: 'directory of extra trusted EK CA certificates (repeatable)' },
  allowReenroll: { kind: 'boolean', flag: 'allow-reenroll', group: 'attest', default: false, describe: 'let a hostname re-enroll with a different EK' },
  nonceTtlMs: { kind: 'int', flag: 'nonce-ttl', group: 'attest', unit: SECONDS, default: 300_000, min: 1, describe: 'how long a nonce stays valid' },
  challengeTtlMs: { kind: 'int', flag: 'challenge-ttl', group: 'attest', unit: SECONDS, default: 300_000, min: 1, describe: 'how long an enrollment challenge stays valid' },
  imaKeyFiles: { kind: 'strings', flag: 'ima-keys', group: 'attest', default: [], describe: 'IMA signing key or certificate files (DER or PEM)' },
  maxFrameBytes: { kind: 'int', flag: 'max-frame-bytes', group: 'attest', default: DEFAULT_MAX_FRAME_BYTES, min: 16, max: 0xffffffff, describe: 'largest request frame in bytes' },
  maxConnections: { kind: 'int', flag: 'max-connections', group: 'attest', default: 4096, min: 1, describe: 'connections held open, idle ones included; beyond it the oldest without a whole request is closed' },
  maxConnectionsPerSource: { kind: 'int', flag: 'max-connections-per-source', group: 'attest', default: 256, min: 1, describe: 'connections held from one IPv4 address or IPv6 /64 (behind a load balancer: --max-connections)' },
  maxRequests: { kind: 'int', flag: 'max-requests', group: 'attest', default: 64, min: 1, describe: 'whole requests verified and answered at once' },
  maxQueuedRequests: { kind: 'int', flag: 'max-queued-requests', group: 'attest', default: 1024, min: 0, describe: 'whole requests waiting for a turn; beyond them requests are answered 90000103' },
  maxBufferedBytes: { kind: 'int', flag: 'max-buffered-bytes', group: 'attest', default: 128 * MIB, min: 16, describe: 'request bytes held across all connections; larger frames wait for room' },
  firstByteTimeoutMs: { kind: 'int', flag: 'first-byte-timeout', group: 'attest', unit: SECONDS, default: 5_000, min: 1, describe: 'time from connecting to the first request byte' },
  minRequestRate: { kind: 'int', flag: 'min-request-rate', group: 'attest', default: 512, min: 1, describe: 'bytes per second a request must arrive at, over each 5 s' },
  readTimeoutMs: { kind: 'int', flag: 'read-timeout', group: 'attest', unit: SECONDS, default: 60_000, min: 1, describe: 'time to receive a whole request' },
  idleTimeoutMs: { kind: 'int', flag: 'idle-timeout', group: 'attest', unit: SECONDS, default: 15_000, min: 1, describe: 'silence allowed once a request has begun' },
  lingerMs: { kind: 'int', flag: 'linger', group: 'attest', unit: SECONDS, default: 2_000, min: 1, describe: 'after the response, how long to wait for the client to close' },
  maxEvents: { kind: 'int', flag: 'max-events', group: 'attest', default: DEFAULT_EVENT_LIMITS.maxEvents, min: 1, describe: 'most firmware events per quote' },
  maxImaEvents: { kind: 'int', flag: 'max-ima-events', group: 'attest', default: DEFAULT_EVENT_LIMITS.maxImaEvents, min: 1, describe: 'most IMA events per quote' },
  maxEventBytes: { kind: 'int', flag: 'max-event-bytes', group: 'attest', default: DEFAULT_EVENT_LIMITS.maxEventBytes, min: 1, max: 64 * MIB, describe: 'largest single event in bytes' },
  keepRefused: { kind: 'int', flag: 'keep-refused', group: 'attest', default: 20, min: 0, describe: 'refused reports per machine whose firmware and IMA events are kept as evidence' },
  verbose: { kind: 'boolean', flag: 'verbose', group: 'attest', default: false, describe: 'log every request and response frame (secrets redacted)' },
  webPort: { kind: 'int', flag: 'web-port', group: 'web', default: 8080, min: 0, max: 65535, describe: 'port of the web UI and JSON API (with serve, 0 disables it)' },
  webHost: { kind: 'string', flag: 'web-host', group: 'web', default: '127.0.0.1', describe: 'address the web UI listens on' },
  staleAfterMs: { kind: 'int', flag: 'stale-after', group: 'web', unit: HOURS, default: DEFAULT_STALE_AFTER_MS, min: 3_600_000, describe: 'time without attestation before a machine counts as stale' },
  webAuth: { kind: 'choice', flag: 'web-auth', group: 'web', choices: AUTH_MODES, default: 'required', describe: 'login for the web UI and API; off only on a loopback --web-host' },
  webPublicNames: { kind: 'strings', flag: 'web-public-name', group: 'web', default: [], describe: 'host name (NAME or NAME:PORT) the web UI answers besides its listen address and the loopback names (repeatable)' },
  webTrustedProxies: { kind: 'strings', flag: 'web-trusted-proxy', group: 'web', default: [], describe: 'address of a single sign-on reverse proxy trusted to name the user (repeatable)' },
  webProxyUserHeader: { kind: 'string?', flag: 'web-proxy-user-header', group: 'web', describe: 'header in which the trusted proxy names the user, e.g. X-Forwarded-User' },
  webTlsCert: { kind: 'string?', flag: 'web-tls-cert', group: 'web', describe: 'serve the web UI over HTTPS with this certificate chain (PEM file)' },
  webTlsKey: { kind: 'string?', flag: 'web-tls-key', group: 'web', describe: 'private key (PEM file) of --web-tls-cert' },
  notifyWebhooks: { kind: 'strings', flag: 'notify-webhook', group: 'attest', default: [], describe: 'POST each alert, signed, to this URL (repeatable)' },
  notifySecret: { kind: 'string?', flag: 'notify-secret', group: 'attest', describe: 'file holding the HMAC-SHA256 key of the X-ACS-Signature header (needed with --notify-webhook)' },
  notifySyslog: { kind: 'string?', flag: 'notify-syslog', group: 'attest', describe: 'send alerts to syslog as RFC 5424: /dev/log when given no value, a socket path, or udp:HOST:PORT' },
  notifyTimeoutMs: { kind: 'int', flag: 'notify-timeout', group: 'attest', unit: SECONDS, default: 10_000, min: 1, describe: 'how long one alert delivery may take' },
  publicUrl: { kind: 'string?', flag: 'public-url', group: 'attest', describe: 'base URL of the web UI that alerts link reports under (default http(s)://WEB_HOST:WEB_PORT)' },
} as const satisfies Record<string, OptionSpec>;

export type OptionName = keyof typeof OPTIONS;
export type ServerConfig = { -readonly [K in OptionName]: ValueOf<(typeof OPTIONS)[K]> };

/** The listener's part of the configuration. */
export type ListenerConfig = Pick<ServerConfig,
  | 'port' | 'host' | 'maxFrameBytes' | 'maxConnections' | 'maxConnectionsPerSource' | 'maxRequests' | 'maxQueuedRequests'
  | 'maxBufferedBytes' | 'firstByteTimeoutMs' | 'minRequestRate' | 'readTimeoutMs' | 'idleTimeoutMs' | 'lingerMs' | 'verbose'> & EventLimits;

/** A value outside its option's bounds; the message names the flag and is one line. */
export class ConfigError extends RangeError {
  override name = 'ConfigError';
  constructor(readonly option: OptionName, message: string) {
    super(message);
  }
}

const entries = Object.entries(OPTIONS) as [OptionName, OptionSpec][];

function defaults(): ServerConfig {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of entries) {
    if (spec.kind === 'strings') out[name] = [...spec.default];
    else if (spec.kind !== 'string?' && spec.kind !== 'int?') out[name] = spec.default;
  }
  return out as ServerConfig;
}

/** The configuration a server starts with when given nothing. */
export const DEFAULT_SERVER_CONFIG: Readonly<ServerConfig> = Object.freeze(defaults());

function shown(spec: IntSpec | OptionalIntSpec, value: number): string {
  const unit = spec.kind === 'int' ? spec.unit : undefined;
  return unit ? `${value / unit.scale} ${unit.symbol}` : String(value);
}

function check(name: OptionName, spec: OptionSpec, value: unknown): void {
  const bad = (what: string): never => {
    throw new ConfigError(name, `--${spec.flag} ${what}`);
  };
  switch (spec.kind) {
    case 'int?':
    case 'int': {
      if (spec.kind === 'int?' && value === undefined) return;
      const n = value as number;
      const unit = spec.kind === 'int' ? spec.unit : undefined;
      const given = typeof n === 'number' && unit ? n / unit.scale : value;
      if (typeof n !== 'number' || !Number.isSafeInteger(n)) bad(`must be ${unit ? 'a number' : 'a whole number'}, got ${String(given)}`);
      if (n < spec.min || (spec.max !== undefined && n > spec.max)) {
        const range = spec.max === undefined ? `at least ${shown(spec, spec.min)}` : `from ${shown(spec, spec.min)} to ${shown(spec, spec.max)}`;
        bad(`must be ${range}, got ${String(given)}`);
      }
      return;
    }
    case 'boolean':
      if (typeof value !== 'boolean') bad(`must be true or false, got ${String(value)}`);
      return;
    case 'choice':
      if (!spec.choices.includes(value as string)) bad(`must be one of ${spec.choices.join(', ')}, got ${String(value)}`);
      return;
    case 'strings':
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) bad('must be a list of strings');
      return;
    case 'string?':
      if (value !== undefined && typeof value !== 'string') bad('must be a string');
      return;
    case 'string':
      if (typeof value !== 'string' || value === '') bad('must be a non-empty string');
  }
}

/** The defaults overlaid with `input`; throws ConfigError for the first value out of bounds. */
export function resolveServerConfig(input: Partial<ServerConfig> = {}): ServerConfig {
  const config = { ...defaults(), ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) } as ServerConfig;
  for (const [name, spec] of entries) check(name, spec, config[name]);
  checkCombinations(config);
  return config;
}

/** Options that only work together. */
function checkCombinations(c: ServerConfig): void {
  if ((c.tlsPort !== undefined) !== (!!c.tlsCert && !!c.tlsKey)) {
    throw new ConfigError('tlsPort', '--tls-port, --tls-cert and --tls-key go together');
  }
  if (c.maxBufferedBytes < c.maxFrameBytes) {
    throw new ConfigError('maxBufferedBytes', `--max-buffered-bytes must be at least --max-frame-bytes (${c.maxFrameBytes}), got ${c.maxBufferedBytes}`);
  }
  const auth = authModeProblem(c.webAuth, c.webHost);
  if (auth) throw new ConfigError('webAuth', auth);
  if (!c.webTlsCert !== !c.webTlsKey) throw new ConfigError(c.webTlsCert ? 'webTlsKey' : 'webTlsCert', '--web-tls-cert and --web-tls-key go together');
  if (c.webTrustedProxies.length > 0 && !c.webProxyUserHeader) throw new ConfigError('webProxyUserHeader', '--web-trusted-proxy needs --web-proxy-user-header');
}

/** The options of `groups`, as yargs option definitions keyed by flag. */
type CliOption = { type: 'number' | 'string' | 'boolean'; array?: true; choices?: readonly string[]; describe: string };

export function cliOptions(groups: readonly OptionGroup[]): Record<string, CliOption> {
  const out: Record<string, CliOption> = {};
  for (const [, spec] of entries) {
    if (!groups.includes(spec.group)) continue;
    const env = spec.env ? `, env ${spec.env}` : '';
    switch (spec.kind) {
      case 'int':
        out[spec.flag] = { type: 'number', describe: `${spec.describe}${spec.unit ? `, in ${spec.unit.name}` : ''} (default ${spec.unit ? spec.default / spec.unit.scale : spec.default}${env})` };
        break;
      case 'boolean':
        out[spec.flag] = { type: 'boolean', describe: `${spec.describe} (default ${spec.default})` };
        break;
      case 'choice':
        out[spec.flag] = { type: 'string', choices: spec.choices, describe: `${spec.describe} (default ${spec.default})` };
        break;
      case 'strings':
        out[spec.flag] = { type: 'string', array: true, describe: spec.describe };
        break;
      case 'string':
        out[spec.flag] = { type: 'string', describe: `${spec.describe} (default ${spec.default}${env})` };
        break;
      case 'int?':
        out[spec.flag] = { type: 'number', describe: spec.describe };
        break;
      case 'string?':
        out[spec.flag] = { type: 'string', describe: spec.describe };
    }
  }
  return out;
}

/** Parsed command-line values (keyed by flag) and the environment to a validated configuration. */
export function configFromArgv(argv: Record<string, unknown>, groups: readonly OptionGroup[], env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const input: Record<string, unknown> = {};
  for (const [name, spec] of entries) {
    if (!groups.includes(spec.group)) continue;
    let value = argv[spec.flag];
    if (value === undefined && spec.env && env[spec.env] !== undefined) value = spec.kind === 'int' ? Number(env[spec.env]) : env[spec.env];
    if (value === undefined) continue;
    input[name] = spec.kind === 'int' && spec.unit ? Math.round((value as number) * spec.unit.scale) : value;
  }
  return resolveServerConfig(input as Partial<ServerConfig>);
}
