/**
 * Store backends and row builders shared by the store tests: every suite runs
 * against SQLite (in memory) and a fresh MariaDB database.
 */
import { createHash } from 'node:crypto';
import type { Test } from 'tap';
import { openStore } from '../../db/open.js';
import type { SqlStore } from '../../db/sql-store.js';
import type { BiosEventRow, ImaEventRow, NewAttestation, NewMachine, PcrBanks } from '../../db/store.js';
import { NOT_YET_ATTESTED } from '../../server/enrollment.js';
import { freshMariaDb } from './mariadb.js';

export interface Backend {
  name: 'sqlite' | 'mariadb';
  /** Opens a migrated store on an empty database; closed and dropped at the test's teardown. */
  open(t: Test): Promise<SqlStore>;
}

export const BACKENDS: Backend[] = [
  {
    name: 'sqlite',
    async open(t) {
      const store = await openStore('sqlite::memory:');
      t.teardown(() => store.close());
      return store;
    },
  },
  {
    name: 'mariadb',
    async open(t) {
      const db = await freshMariaDb();
      t.teardown(db.drop);
      const store = await openStore(db.url);
      t.teardown(() => store.close());
      return store;
    },
  },
];

export function hex(seed: string, bytes = 32): string {
  return createHash('sha512').update(seed).digest('hex').slice(0, bytes * 2);
}

export function pcrBanks(seed: string): PcrBanks {
  return {
    sha256: Array.from({ length: 24 }, (_, i) => (i < 10 ? hex(`${seed}/256/${i}`) : i === 10 ? null : '00'.repeat(32))),
    sha1: Array.from({ length: 24 }, (_, i) => (i < 10 ? hex(`${seed}/1/${i}`, 20) : null)),
  };
}

/** Times with millisecond precision, as both dialects keep them. */
export function at(iso: string): Date {
  return new Date(iso);
}

export function newMachine(hostname: string, over: Partial<NewMachine> = {}): NewMachine {
  return {
    hostname,
    tpmvendor: 'IBM',
    challenge: hex(`challenge ${hostname}`),
    challengeExpires: at('2030-01-01T00:05:00.123Z'),
    ekcertificatepem: `-----BEGIN CERTIFICATE-----\n${hex(hostname, 300)}\n-----END CERTIFICATE-----\n`,
    ekcertificatetext: `Subject: CN=${hostname}\n`.repeat(50),
    ekFingerprint: hex(`ek ${hostname}`),
    ekAlg: 'rsa2048',
    attestpub: hex(`ak ${hostname}`, 280),
    akName: `000b${hex(`akname ${hostname}`)}`,
    akAlg: 'rsa',
    pendingAttestpub: null,
    pendingAkName: null,
    pendingAkAlg: null,
    pendingEkcertificatepem: null,
    pendingTpmvendor: null,
    akcertificatepem: null,
    akcertificatetext: null,
    enrolled: null,
    ...NOT_YET_ATTESTED,
    boottime: '2030-01-01 00:00:00',
    ...over,
  };
}

export function newAttestation(machineId: number, hostname: string, nonceSeed: string, over: Partial<NewAttestation> = {}): NewAttestation {
  return {
    machineId,
    hostname,
    userid: 'root',
    boottime: '2030-01-01 00:00:00',
    timestamp: at('2030-01-02T03:04:05.678Z'),
    nonce: hex(`nonce ${nonceSeed}`),
    nonceExpires: at('2030-01-02T03:09:05.678Z'),
    pcrselect: '00000002000b03ff0700000403000000',
    biosentry: 0,
    imaentry: 0,
    newBoot: true,
    ...over,
  };
}

export function biosEvents(machineId: number, attestationId: number, hostname: string, n: number): BiosEventRow[] {
  return Array.from({ length: n }, (_, i) => ({
    machineId,
    attestationId,
    hostname,
    timestamp: at('2030-01-02T03:04:06.001Z'),
    entrynum: i,
    // EV_EFI_VARIABLE_DRIVER_CONFIG events carry whole certificate databases.
    biosEntry: hex(`bios ${i}`, 64).repeat(i === 3 ? 200 : 1),
    pcrindex: i % 8,
    pcrsha1: hex(`bios sha1 ${i}`, 20),
    pcrsha256: hex(`bios sha256 ${i}`),
    eventtype: i === 0 ? 'EV_NO_ACTION' : 'EV_EFI_VARIABLE_DRIVER_CONFIG',
    event: `event ${i} "data" <b>\u00e9</b>`,
    refused: false,
  }));
}

export function imaEvents(
  machineId: number, attestationId: number, hostname: string, from: number, n: number, over: Partial<ImaEventRow> = {},
): ImaEventRow[] {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return {
      machineId,
      attestationId,
      hostname,
      boottime: '2030-01-01 00:00:00',
      timestamp: at('2030-01-02T03:04:06.002Z'),
      entrynum: i,
      imaEntry: hex(`ima ${i}`, 200),
      filename: `/usr/lib/x86_64-linux-gnu/lib${i}.so`,
      template: 'ima-ng',
      filehash: `sha256:${hex(`file ${i}`)}`,
      badevent: false,
      nosig: true,
      nokey: false,
      badsig: false,
      refused: false,
      ...over,
    };
  });
}
