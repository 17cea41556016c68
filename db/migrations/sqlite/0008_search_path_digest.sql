DROP INDEX `imalog_filename_idx`;--> statement-breakpoint
DROP INDEX `imalog_filehash_idx`;--> statement-breakpoint
CREATE INDEX `imalog_path_idx` ON `imalog` (`filename`,`machine_id`,`id`,`filehash`);--> statement-breakpoint
CREATE INDEX `imalog_filehash_idx` ON `imalog` (`filehash`,`machine_id`,`id`,`timestamp`);