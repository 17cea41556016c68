CREATE TABLE `security_events` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`timestamp` datetime(3) NOT NULL,
	`kind` varchar(64) NOT NULL,
	`hostname` varchar(255),
	`detail` text NOT NULL,
	CONSTRAINT `security_events_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
-- Client-supplied text stored verbatim, as every table since 0001_utf8mb4.
ALTER TABLE `security_events` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;--> statement-breakpoint
ALTER TABLE `security_events` /*M!100202 CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin, */ ENGINE = InnoDB;--> statement-breakpoint
ALTER TABLE `attestlog` ADD `diagnosis` text;--> statement-breakpoint
ALTER TABLE `attestlog` ADD `verdict` mediumtext;--> statement-breakpoint
ALTER TABLE `bioslog` ADD `refused` boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `imalog` ADD `refused` boolean DEFAULT false NOT NULL;--> statement-breakpoint
CREATE INDEX `security_events_kind_idx` ON `security_events` (`kind`,`id`);--> statement-breakpoint
-- One statement each: InnoDB needs an index led by machine_id for the machine_id foreign keys at every step.
ALTER TABLE `bioslog` DROP INDEX `bioslog_machine_idx`, ADD INDEX `bioslog_machine_idx` (`machine_id`,`refused`,`attestation_id`);--> statement-breakpoint
ALTER TABLE `imalog` DROP INDEX `imalog_boot_entry_idx`, ADD INDEX `imalog_boot_entry_idx` (`machine_id`,`boottime`,`refused`,`entrynum`,`id`,`badevent`,`nosig`,`nokey`,`badsig`,`timestamp`);
