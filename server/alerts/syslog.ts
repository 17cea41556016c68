/**
 * The syslog sink: each alert as one RFC 5424 message. Over UDP
 * (`udp:HOST:PORT`, RFC 5426: one message per datagram) the message is
 * formatted here; to the local syslog daemon (`/dev/log` or another Unix
 * datagram socket path) it goes through util-linux `logger --rfc5424`, since
 * Node has no Unix datagram sockets, with the same priority, app name, msgid
 * and message.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { hostname as osHostname } from 'node:os';
import type { AlertBody, AlertType } from './alert.js';

/** RFC 5424 §6.2.1: facility 10, security/authorization messages (private). */
const FACILITY_AUTHPRIV = 10;
const APP_NAME = 'acs-server';
/** RFC 5424 §6.2.1 severity names as syslog(3) and logger(1) spell them. */
const SEVERITY_NAMES: Record<number, string> = { 2: 'crit', 3: 'err', 4: 'warning', 5: 'notice' };
const BOM = '\uFEFF';

/** RFC 5424 §6.2.1 severities: 2 critical, 3 error, 4 warning, 5 notice. */
export function alertSeverity(alert: Pick<AlertBody, 'type' | 'details'>): number {
  const severities: Record<AlertType, number> = {
    'security.forged_quote': 2,
    'attestation.failed': 3,
    'machine.pcrinvalid': 3,
    'policy.violation': 3,
    'machine.stale': 4,
    'machine.state_changed': alert.details.new === 'trusted' ? 5 : 4,
  };
  return severities[alert.type];
}

/** RFC 5424 §6: PRINTUSASCII fields, "-" when empty, cut to their length limit. */
function field(value: string, max: number): string {
  const printable = value.replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return printable === '' ? '-' : printable;
}

/** The whole RFC 5424 message: HEADER SP STRUCTURED-DATA SP MSG, the MSG being the alert's JSON body in UTF-8 (BOM first). */
export function syslogMessage(alert: AlertBody, body: string, origin = osHostname(), procId = String(process.pid)): string {
  const pri = FACILITY_AUTHPRIV * 8 + alertSeverity(alert);
  return `<${pri}>1 ${alert.time} ${field(origin, 255)} ${APP_NAME} ${field(procId, 128)} ${field(alert.type, 32)} - ${BOM}${body}`;
}

export type SyslogTarget = { kind: 'udp'; host: string; port: number } | { kind: 'unix'; path: string };

/** `udp:HOST:PORT` (HOST may be [v6]) or an absolute socket path; none means /dev/log. */
export function parseSyslogTarget(text: string | undefined): SyslogTarget {
  if (text === undefined || text === '' ) return { kind: 'unix', path: '/dev/log' };
  if (text.startsWith('/')) return { kind: 'unix', path: text };
  const m = /^udp:(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) throw new RangeError(`--notify-syslog ${JSON.stringify(text)}: expected udp:HOST:PORT or a socket path`);
  return { kind: 'udp', host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

export function syslogTargetName(target: SyslogTarget): string {
  return target.kind === 'udp' ? `udp:${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}` : target.path;
}

/** Sends one alert; rejects when the datagram could not be sent or logger failed. */
export function sendSyslog(target: SyslogTarget, alert: AlertBody, body: string, timeoutMs: number): Promise<void> {
  return target.kind === 'udp' ? sendUdp(target, syslogMessage(alert, body), timeoutMs) : sendViaLogger(target.path, alert, body, timeoutMs);
}

function sendUdp(target: { host: string; port: number }, message: string, timeoutMs: number): Promise<void> {
  const socket = createSocket(target.host.includes(':') ? 'udp6' : 'udp4');
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('syslog send timed out')), timeoutMs);
    socket.once('error', reject);
    socket.send(Buffer.from(message, 'utf8'), target.port, target.host, (err) => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve();
    });
  }).finally(() => socket.close());
}

function sendViaLogger(path: string, alert: AlertBody, body: string, timeoutMs: number): Promise<void> {
  // logger takes the priority by name only.
  const priority = `authpriv.${SEVERITY_NAMES[alertSeverity(alert)]}`;
  const args = ['--socket', path, '--socket-errors=on', '--rfc5424', '--priority', priority, '--tag', APP_NAME, `--id=${process.pid}`, '--msgid', field(alert.type, 32)];
  return new Promise<void>((resolve, reject) => {
    const child = spawn('logger', args, { stdio: ['pipe', 'ignore', 'pipe'], timeout: timeoutMs });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`logger exited ${code}: ${stderr.trim().slice(0, 200)}`))));
    // A logger that exits before reading (socket refused) closes the pipe; its exit status says why, so EPIPE is not the error.
    child.stdin.once('error', () => undefined);
    child.stdin.end(`${body}\n`);
  });
}
