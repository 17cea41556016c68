/**
 * Object commands, TPM 2.0 Part 3: TPM2_CreatePrimary (§24.1), TPM2_Create
 * (§12.1), TPM2_Load (§12.2), TPM2_ReadPublic (§12.4), TPM2_EvictControl
 * (§28.5), TPM2_FlushContext (§28.4). Public areas cross this API as
 * TpmPublic structures plus the exact bytes the TPM returned (what a Name
 * is computed over and what the server receives).
 */
import { BufferReader, BufferWriter } from '../../../shared/tpm/buffer.js';
import { TPM_RH } from '../../../shared/tpm/constants.js';
import { marshalPublic, unmarshalPublic, type TpmPublic } from '../../../shared/tpm/public.js';
import { passwordAuth, TPM_CC } from '../command.js';
import type { Tpm } from '../tpm.js';

/** A loaded object: its transient handle, TPMT_PUBLIC bytes (no size), parsed public area and Name. */
export interface LoadedObject {
  handle: number;
  publicBytes: Buffer;
  pub: TpmPublic;
  name: Buffer;
}

/** The key blobs TPM2_Create returns, to be stored and loaded again later. */
export interface KeyBlobs {
  /** TPM2B_PRIVATE contents (no size). */
  privateBytes: Buffer;
  /** TPMT_PUBLIC (no size). */
  publicBytes: Buffer;
}

/** TPM2B_SENSITIVE_CREATE with an authValue and no data (Part 2 §11.1.16). */
function sensitiveCreate(userAuth: Buffer): Buffer {
  const inner = new BufferWriter().tpm2b(userAuth).tpm2b(Buffer.alloc(0)).finish();
  return new BufferWriter().tpm2b(inner).finish();
}

/** inSensitive | inPublic | outsideInfo (empty) | creationPCR (empty TPML_PCR_SELECTION). */
function createParams(template: TpmPublic, userAuth: Buffer): Buffer {
  return new BufferWriter(512)
    .bytes(sensitiveCreate(userAuth))
    .tpm2b(marshalPublic(template))
    .tpm2b(Buffer.alloc(0))
    .u32(0)
    .finish();
}

function readPublicBytes(r: BufferReader): Buffer {
  return Buffer.from(r.tpm2b('TPM2B_PUBLIC'));
}

/** Creates a primary key in `hierarchy` (owner, endorsement...) whose authValue is empty. */
export function createPrimary(
  tpm: Tpm,
  hierarchy: number,
  template: TpmPublic,
  opts: { hierarchyAuth?: Buffer; userAuth?: Buffer } = {},
): Promise<LoadedObject> {
  return tpm.execute(
    {
      cc: TPM_CC.CreatePrimary,
      handles: [hierarchy],
      auth: [passwordAuth(opts.hierarchyAuth)],
      params: createParams(template, opts.userAuth ?? Buffer.alloc(0)),
      responseHandles: 1,
    },
    (res) => {
      const r = new BufferReader(res.params);
      const publicBytes = readPublicBytes(r);
      r.tpm2b('TPM2B_CREATION_DATA');
      r.tpm2b('creationHash');
      r.u16('creationTicket.tag');
      r.u32('creationTicket.hierarchy');
      r.tpm2b('creationTicket.digest');
      const name = Buffer.from(r.tpm2b('TPM2B_NAME'));
      r.done('TPM2_CreatePrimary response');
      return { handle: res.handles[0], publicBytes, pub: unmarshalPublic(publicBytes), name };
    },
  );
}

/** Creates an ordinary key under a loaded parent (authorized with an empty password). */
export function create(tpm: Tpm, parent: number, template: TpmPublic, userAuth = Buffer.alloc(0)): Promise<KeyBlobs> {
  return tpm.execute(
    { cc: TPM_CC.Create, handles: [parent], auth: [passwordAuth()], params: createParams(template, userAuth) },
    (res) => {
      const r = new BufferReader(res.params);
      const privateBytes = Buffer.from(r.tpm2b('TPM2B_PRIVATE'));
      const publicBytes = readPublicBytes(r);
      unmarshalPublic(publicBytes);
      return { privateBytes, publicBytes };
    },
  );
}

/** Loads key blobs under a loaded parent; returns the transient object. */
export function load(tpm: Tpm, parent: number, blobs: KeyBlobs): Promise<LoadedObject> {
  const pub = unmarshalPublic(blobs.publicBytes);
  const params = new BufferWriter(1024).tpm2b(blobs.privateBytes).tpm2b(blobs.publicBytes).finish();
  return tpm.execute(
    { cc: TPM_CC.Load, handles: [parent], auth: [passwordAuth()], params, responseHandles: 1 },
    (res) => {
      const r = new BufferReader(res.params);
      const name = Buffer.from(r.tpm2b('TPM2B_NAME'));
      return { handle: res.handles[0], publicBytes: Buffer.from(blobs.publicBytes), pub, name };
    },
  );
}

export function readPublic(tpm: Tpm, handle: number): Promise<LoadedObject> {
  return tpm.execute({ cc: TPM_CC.ReadPublic, handles: [handle] }, (res) => {
    const r = new BufferReader(res.params);
    const publicBytes = readPublicBytes(r);
    const name = Buffer.from(r.tpm2b('TPM2B_NAME'));
    r.tpm2b('qualifiedName');
    r.done('TPM2_ReadPublic response');
    return { handle, publicBytes, pub: unmarshalPublic(publicBytes), name };
  });
}

/**
 * Makes a transient object persistent at `persistentHandle` (or, given a
 * persistent handle twice, removes it), with owner authorization.
 */
export function evictControl(tpm: Tpm, objectHandle: number, persistentHandle: number, ownerAuth?: Buffer): Promise<void> {
  return tpm.execute(
    {
      cc: TPM_CC.EvictControl,
      handles: [TPM_RH.OWNER, objectHandle],
      auth: [passwordAuth(ownerAuth)],
      params: new BufferWriter(4).u32(persistentHandle).finish(),
    },
    () => undefined,
  );
}

/** Unloads a transient object or ends a session; the handle is a parameter here, not a handle (Part 3 §28.4). */
export function flushContext(tpm: Tpm, handle: number): Promise<void> {
  return tpm.execute({ cc: TPM_CC.FlushContext, params: new BufferWriter(4).u32(handle).finish() }, () => undefined);
}

/**
 * Runs `fn`, then `release` (a flush) on success and on failure; a release
 * error never hides the error of `fn`.
 */
export async function withRelease<T>(fn: () => Promise<T>, release: () => Promise<void>): Promise<T> {
  let result: T;
  try {
    result = await fn();
  } catch (err) {
    await release().catch(() => undefined);
    throw err;
  }
  await release();
  return result;
}

/** Runs `fn` with a transient object or session and flushes its handle afterwards. */
export async function withFlushed<H extends { handle: number }, T>(tpm: Tpm, obtain: Promise<H>, fn: (h: H) => Promise<T>): Promise<T> {
  const h = await obtain;
  return withRelease(() => fn(h), () => flushContext(tpm, h.handle));
}
