-- One ALTER: the two indexes are rebuilt in one pass over imalog, online (attestation keeps writing).
-- filename is TEXT: InnoDB indexes its first 512 characters (2,048 bytes in utf8mb4; with the digest the key stays
-- inside the 3,072-byte limit); equality and prefix ranges on longer paths still seek here and compare the rest from the row.
ALTER TABLE `imalog` DROP INDEX `imalog_filename_idx`, DROP INDEX `imalog_filehash_idx`,
  ADD INDEX `imalog_path_idx` (`filename`(512),`machine_id`,`id`,`filehash`),
  ADD INDEX `imalog_filehash_idx` (`filehash`,`machine_id`,`id`,`timestamp`);
