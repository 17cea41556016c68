/**
 * Minimal DER (ITU-T X.690 §8.1, definite lengths only) TLV reader, for the
 * few structures IMA signature checks walk: ECDSA-Sig-Value, the BIT STRING
 * of a SubjectPublicKeyInfo, certificate names and PKCS#7 SignerInfo.
 * Throws RangeError on malformed input.
 */

export interface DerNode {
  tag: number;
  /** Offset of the tag byte: der.subarray(offset, end) is the whole element. */
  offset: number;
  /** Offset of the contents. */
  start: number;
  /** Offset just past the contents. */
  end: number;
}

export function readDer(b: Uint8Array, off: number, limit = b.length): DerNode {
  if (off + 2 > limit) throw new RangeError('truncated DER header');
  const tag = b[off];
  let len = b[off + 1];
  let start = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > limit) throw new RangeError('unsupported DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[start + i];
    start += n;
  }
  if (start + len > limit) throw new RangeError('DER length runs past the data');
  return { tag, offset: off, start, end: start + len };
}

/** The children of a constructed node. */
export function derChildren(b: Uint8Array, node: DerNode): DerNode[] {
  const out: DerNode[] = [];
  for (let off = node.start; off < node.end;) {
    const child = readDer(b, off, node.end);
    out.push(child);
    off = child.end;
  }
  return out;
}

/**
 * Length of the DER SEQUENCE at the start of `buf` (a certificate read from
 * an NV index may be followed by padding), or undefined when `buf` does not
 * start with a complete one.
 */
export function derSequenceLength(buf: Uint8Array): number | undefined {
  if (buf.length < 2 || buf[0] !== 0x30) return undefined;
  try {
    return readDer(buf, 0).end;
  } catch {
    return undefined;
  }
}
