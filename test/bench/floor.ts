/**
 * The floor: what Node's own crypto does per second on this machine, measured
 * in the same run, so the product's figures can be read as a ratio to the
 * cheapest possible implementation — a quote cannot be checked faster than
 * one signature verification, an IMA entry not faster than its hashes.
 */
import { constants, generateKeyPairSync, hash, sign, verify } from 'node:crypto';
import { performance } from 'node:perf_hooks';

/**
 * Calls `batch` (which does `perBatch` units of work) repeatedly for three
 * trials of `minMs / 3` each and returns the best trial's units per second:
 * on a shared machine the best trial is the one least disturbed by other
 * processes. A short warm-up lets the JIT compile the measured path first.
 */
export function measureRate(perBatch: number, minMs: number, batch: () => void): number {
  const warmUntil = performance.now() + Math.min(50, minMs / 4);
  while (performance.now() < warmUntil) batch();
  let best = 0;
  for (let trial = 0; trial < 3; trial++) {
    let units = 0;
    const t0 = performance.now();
    let elapsed = 0;
    do {
      batch();
      units += perBatch;
      elapsed = performance.now() - t0;
    } while (elapsed < minMs / 3);
    best = Math.max(best, (units * 1000) / elapsed);
  }
  return best;
}

export interface Floor {
  rsa2048VerifyPerS: number;
  p256VerifyPerS: number;
  /** H(template data) alone, for the sample entry size. */
  sha256PerS: number;
  sha1PerS: number;
  /** The least hashing an IMA entry needs, entries per second: see imaHashFloor. */
  imaHashFloorSha1LogPerS: number;
  imaHashFloorSha256LogPerS: number;
  /** The same with digests taken as Buffers. */
  imaBufferHashFloorSha1LogPerS: number;
  imaBufferHashFloorSha256LogPerS: number;
  sampleTemplateDataBytes: number;
}

/**
 * Least hashing per IMA entry when PCR 10's SHA-256 bank is quoted:
 * SHA-1 template hashes need SHA-1(data) to check the logged hash plus
 * SHA-256(data) for the bank; SHA-256 template hashes need SHA-256(data)
 * once; both then extend (SHA-256 over 64 bytes). With 'binary', digests
 * are taken the cheapest way node:crypto gives them, as strings copied into
 * the extend buffer (the floor proper); with 'buffer', as Buffers, which
 * costs more than hashing an entry does (the floor as first defined, kept
 * for comparison across commits).
 */
function imaHashFloor(data: Buffer, sha1Log: boolean, minMs: number, output: 'binary' | 'buffer'): number {
  const pcr = Buffer.alloc(64);
  const into = (d: string, at: number): void => {
    for (let i = 0; i < d.length; i++) pcr[at + i] = d.charCodeAt(i);
  };
  if (output === 'buffer') {
    return measureRate(1000, minMs, () => {
      for (let i = 0; i < 1000; i++) {
        if (sha1Log) hash('sha1', data, 'buffer');
        hash('sha256', data, 'buffer').copy(pcr, 32);
        hash('sha256', pcr, 'buffer').copy(pcr, 0);
      }
    });
  }
  return measureRate(1000, minMs, () => {
    for (let i = 0; i < 1000; i++) {
      if (sha1Log) hash('sha1', data, 'binary');
      into(hash('sha256', data, 'binary'), 32);
      into(hash('sha256', pcr, 'binary'), 0);
    }
  });
}

export type ImaHashFloors = Pick<Floor, 'imaHashFloorSha1LogPerS' | 'imaHashFloorSha256LogPerS' | 'imaBufferHashFloorSha1LogPerS' | 'imaBufferHashFloorSha256LogPerS'>;

/** The IMA hash floors; run.ts measures them again after the parsers and keeps the better (less disturbed) values. */
export function measureImaHashFloors(sampleTemplateData: Buffer, minMs: number): ImaHashFloors {
  return {
    imaHashFloorSha1LogPerS: imaHashFloor(sampleTemplateData, true, minMs, 'binary'),
    imaHashFloorSha256LogPerS: imaHashFloor(sampleTemplateData, false, minMs, 'binary'),
    imaBufferHashFloorSha1LogPerS: imaHashFloor(sampleTemplateData, true, minMs, 'buffer'),
    imaBufferHashFloorSha256LogPerS: imaHashFloor(sampleTemplateData, false, minMs, 'buffer'),
  };
}

/** `sampleTemplateData`: a typical IMA template data, so the hash floor matches the parser runs. */
export function measureFloor(sampleTemplateData: Buffer, minMs: number): Floor {
  const message = Buffer.alloc(145, 0x5a); // about the size of a quote's TPMS_ATTEST
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rsaSig = sign('sha256', message, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PADDING });
  const ecSig = sign('sha256', message, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
  const n = 100;
  return {
    rsa2048VerifyPerS: measureRate(n, minMs, () => {
      for (let i = 0; i < n; i++) verify('sha256', message, { key: rsa.publicKey, padding: constants.RSA_PKCS1_PADDING }, rsaSig);
    }),
    p256VerifyPerS: measureRate(n, minMs, () => {
      for (let i = 0; i < n; i++) verify('sha256', message, { key: ec.publicKey, dsaEncoding: 'ieee-p1363' }, ecSig);
    }),
    sha256PerS: measureRate(1000, minMs, () => {
      for (let i = 0; i < 1000; i++) hash('sha256', sampleTemplateData, 'buffer');
    }),
    sha1PerS: measureRate(1000, minMs, () => {
      for (let i = 0; i < 1000; i++) hash('sha1', sampleTemplateData, 'buffer');
    }),
    ...measureImaHashFloors(sampleTemplateData, minMs),
    sampleTemplateDataBytes: sampleTemplateData.length,
  };
}
