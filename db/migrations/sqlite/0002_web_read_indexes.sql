DROP INDEX `imalog_machine_boot_idx`;--> statement-breakpoint
CREATE INDEX `imalog_boot_entry_idx` ON `imalog` (`machine_id`,`boottime`,`entrynum`,`id`,`badevent`,`nosig`,`nokey`,`badsig`,`timestamp`);--> statement-breakpoint
CREATE INDEX `attestlog_pcrschanged_idx` ON `attestlog` (`pcrschanged`,`id`);