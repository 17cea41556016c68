/**
 * What each PCR the attestation covers holds, per TCG PC Client Platform
 * Firmware Profile §3.3.4 (PCR Usage): PCR 0-7 are the platform firmware's
 * (0 SRTM and firmware code, 1 its configuration, 2-3 option ROMs / UEFI
 * drivers and their data, 4-5 boot manager code and data, 6 platform-specific,
 * 7 Secure Boot policy), PCR 8-15 belong to the static OS, of which the boot
 * loaders (GRUB, shim) measure into 8 and 9. Linux IMA extends PCR 10
 * (CONFIG_IMA_MEASURE_PCR_IDX).
 */

/**
 * The PCRs the firmware event log replays and the white list holds a machine
 * to: they are the same at every boot of an unchanged machine.
 */
export const FIRMWARE_PCRS: readonly number[] = Object.freeze([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);

/**
 * The PCR IMA extends: it changes with every file measured, so it is replayed
 * from the IMA log and never held to the white list.
 */
export const IMA_PCR = 10;
