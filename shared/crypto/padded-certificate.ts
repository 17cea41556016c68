/**
 * A DER certificate followed by padding: a TPM's EK certificate NV index is
 * sized by the manufacturer (TCG EK Credential Profile v2.5 §2.2.1.4), and
 * IBM's client sends the whole index, so the certificate's outer SEQUENCE
 * length (X.690 §8.1.3) is what says where it ends.
 */
import { fromBER } from 'asn1js';

/**
 * Length of the definite-length SEQUENCE at the start of `data`, or
 * undefined when `data` does not start with a complete, well-formed one.
 * DER forbids the indefinite form (X.690 §10.1), so it is refused.
 */
export function leadingSequenceLength(data: Uint8Array): number | undefined {
  if (data.length < 2 || data[0] !== 0x30) return undefined;
  const { offset, result } = fromBER(data);
  if (offset < 0 || result.error || result.lenBlock.isIndefiniteForm) return undefined;
  return offset;
}
