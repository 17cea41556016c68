import { randomBytes } from 'node:crypto';
import t from 'tap';
import { describeEventData } from '../../shared/eventlog/firmware/event-data.js';
import { EV, eventTypeName } from '../../shared/eventlog/firmware/event-types.js';
import { parseUefiVariableData } from '../../shared/eventlog/firmware/efi-variable.js';
import { parseFirmwareLog, type FirmwareEvent } from '../../shared/eventlog/firmware/event.js';
import { biosFile, biosFiles, fixture } from './fixtures.js';

function described(name: string): string[] {
  return parseFirmwareLog(fixture(biosFile(name).file)).events.map((e) => `${eventTypeName(e.eventType)} ${describeEventData(e)}`);
}

t.test('event types have their PFP names', async (t) => {
  t.equal(eventTypeName(EV.EFI_VARIABLE_DRIVER_CONFIG), 'EV_EFI_VARIABLE_DRIVER_CONFIG');
  t.equal(eventTypeName(4), 'EV_SEPARATOR');
  t.equal(eventTypeName(0x800000e0), 'EV_EFI_VARIABLE_AUTHORITY');
  t.equal(eventTypeName(0x40e), '0x0000040e');
});

t.test('a UEFI Linux boot reads as text', async (t) => {
  const d = described('keylime_binary_bios_measurements.bin');
  t.equal(d[0], 'EV_NO_ACTION Spec ID Event03: sha1, sha256');
  t.equal(d[1], 'EV_NO_ACTION StartupLocality 3');
  t.equal(d[4], 'EV_EFI_PLATFORM_FIRMWARE_BLOB base 0xfff00000 length 0x59d0');
  t.equal(d[10], 'EV_POST_CODE ACPI DATA');
  t.equal(d[12], 'EV_EFI_VARIABLE_DRIVER_CONFIG SecureBoot [EFI_GLOBAL_VARIABLE] = disabled');
  t.equal(d[15], 'EV_EFI_VARIABLE_DRIVER_CONFIG db [EFI_IMAGE_SECURITY_DATABASE] = 4 entries (x509: 4)');
  t.equal(d[16], 'EV_EFI_VARIABLE_DRIVER_CONFIG dbx [EFI_IMAGE_SECURITY_DATABASE] = 460 entries (x509: 2, sha256: 458)');
  t.equal(d[17], 'EV_SEPARATOR 00000000 (separator)');
  t.equal(d[28], 'EV_EFI_VARIABLE_BOOT Boot0000 [EFI_GLOBAL_VARIABLE] = "Fedora" HD(1,GPT,b8f6bee9-bc10-4c72-b34a-6db8fd8f772c,0x800,0x80000)/\\EFI\\fedora\\shimx64.efi');
  t.equal(d[41], 'EV_EFI_ACTION Calling EFI Application from Boot Option');
  t.equal(d[51], 'EV_EFI_GPT_EVENT GPT disk 79ac79fb-f286-4728-8e0d-68114f67364a, 3 partitions: "EFI System Partition", "", ""');
  t.match(d[52], /^EV_EFI_BOOT_SERVICES_APPLICATION PciRoot\(0x0\)\/Pci\(0x6,0x0\)\/Pci\(0x0,0x0\)\/NVMe\(0x1,002538b221d13750\)\/HD\(1,GPT,.*\)\/\\EFI\\fedora\\shimx64\.efi \(image at 0x897ab018, 949424 bytes\)$/);
  t.equal(d[55], 'EV_EFI_VARIABLE_AUTHORITY SbatLevel [SHIM_LOCK] = "sbat,1,2021030218\\n"', 'line breaks escaped');
  t.equal(d[61], 'EV_IPL grub_cmd: set prefix=(hd3,gpt2)/grub2');
});

t.test('Windows, OpenPOWER and odd firmware records', async (t) => {
  const p511 = described('ibmtss_p511.bin');
  t.match(p511[40], /^EV_EFI_VARIABLE_AUTHORITY db \[EFI_IMAGE_SECURITY_DATABASE\] = owner MICROSOFT, certificate .*CN=Microsoft Windows Production PCA 2011/);
  t.equal(p511[44], 'EV_EVENT_TAG tag 0x40010001, 240 bytes');
  t.equal(p511[19], 'EV_EFI_VARIABLE_BOOT Boot0000 [EFI_GLOBAL_VARIABLE] = "Windows Boot Manager" HD(1,GPT,31771b76-1333-43a8-97b9-5c898e443aac,0x800,0x177000)/\\EFI\\Microsoft\\Boot\\bootmgfw.efi');
  const rom = described('goatt_option_rom.bin');
  t.equal(rom[11], 'EV_EFI_BOOT_SERVICES_DRIVER PciRoot(0x0)/Pci(0x2,0x0)/Pci(0x0,0x0)/Offset(0xf600,0x207ff) (image at 0xc483a018, 135488 bytes)');
  t.equal(rom[19], 'EV_EFI_VARIABLE_BOOT Boot000F [EFI_GLOBAL_VARIABLE] = "CDROM:  " (inactive) BBS(0xffff)/PciRoot(0x0)/Pci(0x1f,0x2)/Sata(0x0,0x0,0x0)');
  t.equal(described('acs_tpmbios.bin')[3], 'EV_EFI_BOOT_SERVICES_DRIVER (no device path) (image at 0x7e47f018, 5792 bytes)', 'a link-time address above 2^53 is not read');
  const acs = described('acs_tpm2bios.bin');
  t.equal(acs[1], 'EV_ACTION Security Switches');
  t.equal(acs[19], 'EV_SEPARATOR Skiboot Boot');
  t.equal(described('ibmtss_hp1.bin')[1], 'EV_S_CRTM_VERSION 546bfb1e-1d0c-4055-a4ad-4ef4bf17b83a', 'GUID version');
  t.equal(described('keylime_binary_bios_measurements.bin')[3], 'EV_S_CRTM_VERSION N40ET41W ', 'UTF-16 version');
});

t.test('UEFI_VARIABLE_DATA parses into GUID, name and data', async (t) => {
  const log = parseFirmwareLog(fixture(biosFile('ibmtss_sm1.bin').file));
  const sb = log.events.find((e) => e.eventType === EV.EFI_VARIABLE_DRIVER_CONFIG)!;
  const v = parseUefiVariableData(sb.data);
  t.equal(v.vendorGuid, '8be4df61-93ca-11d2-aa0d-00e098032b8c');
  t.equal(v.name, 'SecureBoot');
  t.equal(v.data.length, 1);
  t.throws(() => parseUefiVariableData(sb.data.subarray(0, 40)));
});

t.test('never throws: every record, and garbage under every event type', async (t) => {
  let n = 0;
  for (const f of biosFiles.filter((x) => x.expect_parse === 'ok')) {
    for (const e of parseFirmwareLog(fixture(f.file)).events) {
      if (typeof describeEventData(e) !== 'string') t.fail(`${f.file} record ${e.index}`);
      n++;
    }
  }
  t.ok(n > 1500, `${n} records described`);
  const types = [...Object.values(EV), 0x1234];
  for (const eventType of types) {
    for (const size of [0, 1, 4, 16, 17, 33, 64, 200, 3000]) {
      for (let i = 0; i < 4; i++) {
        const data = randomBytes(size);
        if (i === 1 && size >= 32) data.writeBigUInt64LE(BigInt(size - 32), 24); // plausible lengths
        if (i === 2 && size >= 8) data.fill(0xff, 0, 8);
        const ev: FirmwareEvent = { index: 1, pcrIndex: 0, eventType, digests: [], data };
        const out = describeEventData(ev);
        if (typeof out !== 'string' || out.includes('\n')) t.fail(`type ${eventType.toString(16)} size ${size}`);
      }
    }
  }
  const big: FirmwareEvent = { index: 1, pcrIndex: 0, eventType: EV.EVENT_TAG + 0x1000, digests: [], data: Buffer.alloc(100000, 0x80) };
  t.ok(describeEventData(big).length < 3000, 'hex of unknown data is bounded');
});
