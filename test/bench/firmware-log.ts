/**
 * A small synthetic UEFI boot log for the benchmark fleet: a crypto-agile
 * TCG PC Client log (PFP §10.2) with SHA-1 and SHA-256 digests, shaped like a
 * real one — S-CRTM version and firmware volumes in PCR 0, handoff tables in
 * PCR 1, option-ROM drivers in PCR 2, the boot loaders in PCR 4, Secure Boot
 * state in PCR 7, GRUB commands and kernel files in PCRs 8 and 9, and an
 * EV_SEPARATOR closing PCRs 0-7. The variant number changes the measured
 * contents, so hosts of one fleet have different PCR values.
 */
import { hash } from 'node:crypto';
import type { FirmwareEvent, FirmwareLog, SpecIdEvent } from '../../shared/eventlog/firmware/event.js';
import { EV } from '../../shared/eventlog/firmware/event-types.js';
import { TPM_ALG } from '../../shared/tpm/constants.js';
import { BANKS, type BankDigests, type SoftwarePcrBanks } from '../../client/simulator/pcr-banks.js';

const SPEC_ID_SIGNATURE = Buffer.from('Spec ID Event03\0', 'latin1');

/** TCG_EfiSpecIDEventStruct (PFP §10.4.5.1) listing SHA-1 and SHA-256; integers little-endian. */
function specIdEventData(): Buffer {
  const b = Buffer.alloc(SPEC_ID_SIGNATURE.length + 8 + 4 + 2 * 4 + 1);
  let o = SPEC_ID_SIGNATURE.copy(b, 0);
  o = b.writeUInt32LE(0, o); // platformClass: client
  o = b.writeUInt8(0, o); // specVersionMinor
  o = b.writeUInt8(2, o); // specVersionMajor
  o = b.writeUInt8(2, o); // errata
  o = b.writeUInt8(2, o); // uintnSize: UINT64
  o = b.writeUInt32LE(2, o);
  o = b.writeUInt16LE(TPM_ALG.SHA1, o);
  o = b.writeUInt16LE(20, o);
  o = b.writeUInt16LE(TPM_ALG.SHA256, o);
  o = b.writeUInt16LE(32, o);
  b.writeUInt8(0, o); // vendorInfoSize
  return b;
}

const SPEC_ID: SpecIdEvent = {
  platformClass: 0,
  specVersionMinor: 0,
  specVersionMajor: 2,
  errata: 2,
  uintnSize: 2,
  algorithms: [{ algId: TPM_ALG.SHA1, digestSize: 20 }, { algId: TPM_ALG.SHA256, digestSize: 32 }],
  vendorInfo: Buffer.alloc(0),
};

const ucs2z = (s: string): Buffer => Buffer.from(`${s}\0`, 'utf16le');
const ascii = (s: string): Buffer => Buffer.from(s, 'latin1');

function u64Pair(a: number, b: number): Buffer {
  const out = Buffer.alloc(16);
  out.writeBigUInt64LE(BigInt(a), 0);
  out.writeBigUInt64LE(BigInt(b), 8);
  return out;
}

/** UEFI_IMAGE_LOAD_EVENT without a device path (PFP §10.4.4.3), UINTN = 64 bits. */
function imageLoad(base: number, length: number): Buffer {
  const b = Buffer.alloc(32);
  b.writeBigUInt64LE(BigInt(base), 0);
  b.writeBigUInt64LE(BigInt(length), 8);
  return b;
}

/** UEFI_VARIABLE_DATA (PFP §10.4.4.4) for an EFI_GLOBAL_VARIABLE. */
function globalVariable(name: string, value: Buffer): Buffer {
  const guid = Buffer.from('61dfe48bca93d211aa0d00e098032b8c', 'hex');
  const head = Buffer.alloc(32);
  guid.copy(head, 0);
  head.writeBigUInt64LE(BigInt(name.length), 16);
  head.writeBigUInt64LE(BigInt(value.length), 24);
  return Buffer.concat([head, Buffer.from(name, 'utf16le'), value]);
}

/** Digests of `measured` in both banks (what the firmware hashes need not be the event data). */
function digestsOf(measured: Buffer): BankDigests {
  return { sha1: hash('sha1', measured, 'buffer'), sha256: hash('sha256', measured, 'buffer') };
}

/** The log of one boot of firmware variant `variant` (same variant, same log). */
export function syntheticFirmwareLog(variant: number): FirmwareLog {
  const events: FirmwareEvent[] = [
    { index: 0, pcrIndex: 0, eventType: EV.NO_ACTION, digests: [{ alg: TPM_ALG.SHA1, digest: Buffer.alloc(20) }], data: specIdEventData() },
  ];
  const add = (pcrIndex: number, eventType: number, data: Buffer, measured: Buffer = data): void => {
    const d = digestsOf(measured);
    events.push({
      index: events.length,
      pcrIndex,
      eventType,
      digests: [{ alg: TPM_ALG.SHA1, digest: d.sha1 }, { alg: TPM_ALG.SHA256, digest: d.sha256 }],
      data,
    });
  };
  const separator = Buffer.alloc(4);
  add(0, EV.S_CRTM_VERSION, ucs2z(`1.${variant % 7}.0`));
  for (let fv = 0; fv < 3; fv++) add(0, EV.EFI_PLATFORM_FIRMWARE_BLOB, u64Pair(0xff000000 + fv * 0x100000, 0x100000), ascii(`firmware volume ${fv} v${variant % 7}`));
  add(1, EV.EFI_HANDOFF_TABLES, Buffer.concat([Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('31d29deb882dd3119a160090273fc14d', 'hex'), u64Pair(0x7f000000, 0).subarray(0, 8)]));
  add(1, EV.PLATFORM_CONFIG_FLAGS, ascii(`config ${variant % 3}`));
  add(2, EV.EFI_BOOT_SERVICES_DRIVER, imageLoad(0x7e000000, 0x20000), ascii(`option rom ${variant % 5}`));
  add(4, EV.EFI_ACTION, ascii('Calling EFI Application from Boot Option'));
  add(7, EV.EFI_VARIABLE_DRIVER_CONFIG, globalVariable('SecureBoot', Buffer.from([1])));
  for (let pcr = 0; pcr <= 7; pcr++) add(pcr, EV.SEPARATOR, separator);
  add(4, EV.EFI_BOOT_SERVICES_APPLICATION, imageLoad(0x6d000000, 0xe0000), ascii(`shimx64.efi ${variant}`));
  add(4, EV.EFI_BOOT_SERVICES_APPLICATION, imageLoad(0x6c000000, 0x2a0000), ascii(`grubx64.efi ${variant}`));
  for (const cmd of ['set root=hd0,gpt2', `linux /vmlinuz-6.1.0-${variant} root=/dev/sda2 ro quiet`, 'initrd /initrd.img']) {
    add(8, EV.IPL, ascii(`grub_cmd: ${cmd}\0`));
  }
  add(9, EV.IPL, ascii(`/boot/vmlinuz-6.1.0-${variant}\0`), ascii(`kernel image ${variant}`));
  add(9, EV.IPL, ascii('/boot/initrd.img\0'), ascii(`initrd ${variant}`));
  add(5, EV.EFI_ACTION, ascii('Exit Boot Services Invocation'));
  add(5, EV.EFI_ACTION, ascii('Exit Boot Services Returned with Success'));
  return { format: 'crypto-agile', specId: SPEC_ID, events };
}

/** What the platform does while booting: extend every measured event into the TPM (EV_NO_ACTION never is). */
export function measureFirmware(pcrs: SoftwarePcrBanks, log: FirmwareLog): void {
  for (const ev of log.events) {
    if (ev.eventType === EV.NO_ACTION) continue;
    const digests = {} as BankDigests;
    for (const bank of BANKS) {
      const alg = bank === 'sha1' ? TPM_ALG.SHA1 : TPM_ALG.SHA256;
      digests[bank] = ev.digests.find((d) => d.alg === alg)!.digest;
    }
    pcrs.extend(ev.pcrIndex, digests);
  }
}
