DROP INDEX `imalog_filename_idx` ON `imalog`;--> statement-breakpoint
DROP INDEX `imalog_filehash_idx` ON `imalog`;--> statement-breakpoint
-- filename is TEXT: InnoDB indexes its first 512 characters (2,048 bytes in utf8mb4; with the digest the key stays
-- inside the 3,072-byte limit); equality and prefix ranges on longer paths still seek here and compare the rest from the row.
CREATE INDEX `imalog_path_idx` ON `imalog` (`filename`(512),`machine_id`,`id`,`filehash`);--> statement-breakpoint
CREATE INDEX `imalog_filehash_idx` ON `imalog` (`filehash`,`machine_id`,`id`,`timestamp`);
