/**
 * The credential file of tpm2_makecredential / tpm2_activatecredential
 * (tpm2-tools 5.x): UINT32 0xBADCC0DE, UINT32 version 1, TPM2B_ID_OBJECT,
 * TPM2B_ENCRYPTED_SECRET.
 */
const MAGIC = 0xbadcc0de;

export function parseToolsCredential(file: Buffer): { credentialBlob: Buffer; secret: Buffer } {
  if (file.readUInt32BE(0) !== MAGIC || file.readUInt32BE(4) !== 1) throw new Error('not a tpm2-tools credential file');
  const body = file.subarray(8);
  const idLen = 2 + body.readUInt16BE(0);
  return { credentialBlob: body.subarray(0, idLen), secret: body.subarray(idLen) };
}

export function toolsCredential(made: { credentialBlob: Buffer; secret: Buffer }): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(MAGIC, 0);
  head.writeUInt32BE(1, 4);
  return Buffer.concat([head, made.credentialBlob, made.secret]);
}
