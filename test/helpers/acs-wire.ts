/**
 * The IBM ACS wire fixtures (test/fixtures/acs-wire): each raw/*.frame with
 * the JSON file holding its payload (top level or errors/).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ACS_WIRE_DIR = fileURLToPath(new URL('../../../test/fixtures/acs-wire/', import.meta.url));

export type WireJson = Record<string, unknown>;

export interface WireFixture {
  /** File name without extension, e.g. "nonce-request". */
  name: string;
  /** Exact bytes captured on the wire. */
  frame: Buffer;
  /** The payload as the fixture's .json file holds it. */
  json: WireJson;
  /** JSON file path relative to ACS_WIRE_DIR. */
  jsonFile: string;
  kind: 'request' | 'response';
}

export function readWireJson(relative: string): WireJson {
  return JSON.parse(readFileSync(`${ACS_WIRE_DIR}${relative}`, 'utf8')) as WireJson;
}

export function readWireFrame(name: string): Buffer {
  return readFileSync(`${ACS_WIRE_DIR}raw/${name}.frame`);
}

export function loadWireFixtures(): WireFixture[] {
  return readdirSync(`${ACS_WIRE_DIR}raw`)
    .filter((f) => f.endsWith('.frame'))
    .sort()
    .map((file) => {
      const name = file.slice(0, -'.frame'.length);
      const jsonFile = existsSync(`${ACS_WIRE_DIR}${name}.json`) ? `${name}.json` : `errors/${name}.json`;
      const kind = /-request(-|$)/.test(name) ? 'request' : 'response';
      return { name, frame: readWireFrame(name), json: readWireJson(jsonFile), jsonFile, kind };
    });
}
