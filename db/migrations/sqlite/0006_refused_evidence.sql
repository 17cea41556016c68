CREATE TABLE `security_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`timestamp` text NOT NULL,
	`kind` text NOT NULL,
	`hostname` text,
	`detail` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `security_events_kind_idx` ON `security_events` (`kind`,`id`);--> statement-breakpoint
DROP INDEX `bioslog_machine_idx`;--> statement-breakpoint
ALTER TABLE `bioslog` ADD `refused` integer DEFAULT false NOT NULL;--> statement-breakpoint
CREATE INDEX `bioslog_machine_idx` ON `bioslog` (`machine_id`,`refused`,`attestation_id`);--> statement-breakpoint
DROP INDEX `imalog_boot_entry_idx`;--> statement-breakpoint
ALTER TABLE `imalog` ADD `refused` integer DEFAULT false NOT NULL;--> statement-breakpoint
CREATE INDEX `imalog_boot_entry_idx` ON `imalog` (`machine_id`,`boottime`,`refused`,`entrynum`,`id`,`badevent`,`nosig`,`nokey`,`badsig`,`timestamp`);--> statement-breakpoint
ALTER TABLE `attestlog` ADD `diagnosis` text;--> statement-breakpoint
ALTER TABLE `attestlog` ADD `verdict` text;