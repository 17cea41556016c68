/** NV index reads: TPM2_NV_ReadPublic (Part 3 §31.6) and TPM2_NV_Read (Part 3 §31.13). */
import { BufferReader, BufferWriter, MarshalError } from '../../../shared/tpm/buffer.js';
import { TPM_RH } from '../../../shared/tpm/constants.js';
import { readDigest2b } from '../../../shared/tpm/tpm2b.js';
import { passwordAuth, TPM_CC } from '../command.js';
import type { Tpm } from '../tpm.js';
import { getTpmProperty, TPM_PT } from './capability.js';

/** TPMA_NV read-authorization bits, Part 2 §13.4. */
export const TPMA_NV = {
  PPREAD: 1 << 16,
  OWNERREAD: 1 << 17,
  AUTHREAD: 1 << 18,
  POLICYREAD: 1 << 19,
  WRITTEN: 1 << 29,
} as const;

/** TPMS_NV_PUBLIC, Part 2 §13.5. */
export interface NvPublic {
  nvIndex: number;
  nameAlg: number;
  attributes: number;
  authPolicy: Buffer;
  dataSize: number;
}

export class NvReadError extends Error {
  override name = 'NvReadError';
  constructor(readonly nvIndex: number, message: string) {
    super(`NV index 0x${nvIndex.toString(16).padStart(8, '0')}: ${message}`);
  }
}

export function nvReadPublic(tpm: Tpm, nvIndex: number): Promise<NvPublic> {
  return tpm.execute({ cc: TPM_CC.NV_ReadPublic, handles: [nvIndex] }, (res) => {
    const outer = new BufferReader(res.params);
    const r = new BufferReader(outer.tpm2b('TPM2B_NV_PUBLIC'));
    const pub: NvPublic = {
      nvIndex: r.u32('nvIndex'),
      nameAlg: r.u16('nameAlg'),
      attributes: r.u32('attributes'),
      authPolicy: readDigest2b(r, 'authPolicy'),
      dataSize: r.u16('dataSize'),
    };
    r.done('TPMS_NV_PUBLIC');
    if (pub.nvIndex !== nvIndex) throw new MarshalError(`NV_ReadPublic answered for 0x${pub.nvIndex.toString(16)}`);
    return pub;
  });
}

/** Chunk size for NV_Read: TPM_PT_NV_BUFFER_MAX, or 512 (every TPM allows at least that) if unreported. */
export async function nvBufferMax(tpm: Tpm): Promise<number> {
  const v = await getTpmProperty(tpm, TPM_PT.NV_BUFFER_MAX);
  return v && v > 0 ? Math.min(v, 2048) : 512;
}

function readChunk(tpm: Tpm, authHandle: number, nvIndex: number, size: number, offset: number): Promise<Buffer> {
  const params = new BufferWriter(4).u16(size).u16(offset).finish();
  return tpm.execute(
    { cc: TPM_CC.NV_Read, handles: [authHandle, nvIndex], auth: [passwordAuth()], params },
    (res) => {
      const r = new BufferReader(res.params);
      const data = Buffer.from(r.tpm2b('TPM2B_MAX_NV_BUFFER', size));
      if (data.length !== size) throw new MarshalError(`NV_Read returned ${data.length} of ${size} bytes`);
      return data;
    },
  );
}

/**
 * Reads a whole NV index in chunks of at most `chunk` bytes. The index must
 * be readable with an empty authValue, by itself (AUTHREAD) or by the owner
 * (OWNERREAD), as EK certificate indices are (TCG EK Credential Profile §2.2.1.5).
 */
export async function nvReadAll(tpm: Tpm, nvIndex: number, chunk?: number): Promise<{ pub: NvPublic; data: Buffer }> {
  const pub = await nvReadPublic(tpm, nvIndex);
  if (!(pub.attributes & TPMA_NV.WRITTEN)) throw new NvReadError(nvIndex, 'index was never written');
  const authHandle = pub.attributes & TPMA_NV.AUTHREAD ? nvIndex
    : pub.attributes & TPMA_NV.OWNERREAD ? TPM_RH.OWNER
    : undefined;
  if (authHandle === undefined) throw new NvReadError(nvIndex, 'index is readable neither with its own nor with owner authorization');
  const step = chunk ?? (await nvBufferMax(tpm));
  const parts: Buffer[] = [];
  for (let offset = 0; offset < pub.dataSize; offset += step) {
    parts.push(await readChunk(tpm, authHandle, nvIndex, Math.min(step, pub.dataSize - offset), offset));
  }
  return { pub, data: Buffer.concat(parts) };
}
