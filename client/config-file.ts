/**
 * /etc/acs-client/client.conf: the host's settings, so the systemd unit and
 * cron line stay `acs-client attest`. One `key = value` per line, `#`
 * comments. Precedence: command line, then environment (ACS_TPM, ACS_DIR),
 * then this file, then the built-in defaults.
 */
import { readFile } from 'node:fs/promises';
import { UsageError } from './exit-codes.js';

export const DEFAULT_CONFIG_FILE = '/etc/acs-client/client.conf';

/** The keys the file may set; each is the long option of the same name. */
export const CONFIG_KEYS = ['server', 'tpm', 'hostname', 'state-dir'] as const;
export type ConfigKey = (typeof CONFIG_KEYS)[number];
export type ClientConfig = Partial<Record<ConfigKey, string>>;

export function parseConfig(text: string, file: string): ClientConfig {
  const config: ClientConfig = {};
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^([a-z-]+)\s*=\s*(.*)$/.exec(line);
    if (!m) throw new UsageError(`${file}:${i + 1}: expected "key = value"`);
    const key = m[1] as ConfigKey;
    if (!CONFIG_KEYS.includes(key)) throw new UsageError(`${file}:${i + 1}: unknown key "${m[1]}" (known: ${CONFIG_KEYS.join(', ')})`);
    if (m[2] === '') throw new UsageError(`${file}:${i + 1}: "${key}" has no value`);
    config[key] = m[2];
  });
  return config;
}

/**
 * The settings in `file`. The default file may be absent (nothing is
 * configured yet); a file named on the command line must exist.
 */
export async function loadConfig(file: string | undefined): Promise<{ file: string; config: ClientConfig }> {
  const path = file ?? DEFAULT_CONFIG_FILE;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (file === undefined && (e as NodeJS.ErrnoException).code === 'ENOENT') return { file: path, config: {} };
    throw new UsageError(`config file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return { file: path, config: parseConfig(text, path) };
}
