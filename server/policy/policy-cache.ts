/**
 * The policies assigned to a machine, compiled: read by id and update time in
 * the report's transaction, and parsed and compiled only when that version is
 * not already held (a distribution's runtime policy runs to megabytes).
 */
import type { StoreTx } from '../../db/store.js';
import type { PolicyRef } from '../../db/policy-store.js';
import { compileImaPolicy, type CompiledImaPolicy } from './ima-policy-check.js';
import { parseReferenceValues, referencePcrBanks } from './reference-values.js';
import type { PcrBanks } from '../../shared/tpm/pcr-banks.js';
import { parseKeylimePolicy } from './runtime-policy.js';

/** Reference values ready to compare (server/verify AcceptedState.reference). */
export interface NamedReference {
  name: string;
  pcrs: PcrBanks;
}

export interface MachinePolicies {
  ima: CompiledImaPolicy | null;
  reference: NamedReference | null;
}

type Compiled = CompiledImaPolicy | NamedReference;

/** Compiled policies kept at once; each machine has at most two, fleets share a few. */
const MAX_CACHED = 64;

export class PolicyCache {
  private readonly compiled = new Map<number, { version: number; value: Compiled }>();

  /** The compiled form of a machine's assigned policies (`refs`, read in its report's transaction). */
  async compile(tx: StoreTx, refs: readonly PolicyRef[]): Promise<MachinePolicies> {
    const out: MachinePolicies = { ima: null, reference: null };
    for (const ref of refs) {
      let entry = this.compiled.get(ref.id);
      if (!entry || entry.version !== ref.updatedAt.getTime()) {
        const body = await tx.policyBody(ref.id);
        if (body === undefined) continue;
        const value: Compiled = ref.kind === 'ima' ? compileImaPolicy(ref.name, parseKeylimePolicy(body)) : { name: ref.name, pcrs: referencePcrBanks(parseReferenceValues(body)) };
        entry = { version: ref.updatedAt.getTime(), value };
        if (this.compiled.size >= MAX_CACHED) this.compiled.delete(this.compiled.keys().next().value!);
        this.compiled.set(ref.id, entry);
      }
      if (ref.kind === 'ima') out.ima = { ...(entry.value as CompiledImaPolicy), name: ref.name };
      else out.reference = { ...(entry.value as NamedReference), name: ref.name };
    }
    return out;
  }
}
