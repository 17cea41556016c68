CREATE INDEX `bioslog_sha256_idx` ON `bioslog` (`pcrsha256`,`machine_id`,`id`);--> statement-breakpoint
CREATE INDEX `bioslog_sha1_idx` ON `bioslog` (`pcrsha1`,`machine_id`,`id`);--> statement-breakpoint
CREATE INDEX `imalog_filehash_idx` ON `imalog` (`filehash`,`machine_id`,`id`);--> statement-breakpoint
-- filename is TEXT: InnoDB indexes its first 512 characters (2,048 bytes in utf8mb4, inside the 3,072-byte key
-- limit); equality and prefix ranges on longer paths still seek here and compare the rest from the row.
CREATE INDEX `imalog_filename_idx` ON `imalog` (`filename`(512),`machine_id`,`id`);
