CREATE INDEX `bioslog_sha256_idx` ON `bioslog` (`pcrsha256`,`machine_id`,`id`);--> statement-breakpoint
CREATE INDEX `bioslog_sha1_idx` ON `bioslog` (`pcrsha1`,`machine_id`,`id`);--> statement-breakpoint
CREATE INDEX `imalog_filehash_idx` ON `imalog` (`filehash`,`machine_id`,`id`);--> statement-breakpoint
CREATE INDEX `imalog_filename_idx` ON `imalog` (`filename`,`machine_id`,`id`);