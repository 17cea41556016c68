DROP INDEX `imalog_filename_idx`;--> statement-breakpoint
CREATE INDEX `imalog_path_idx` ON `imalog` (`filename`,`machine_id`,`id`,`filehash`);