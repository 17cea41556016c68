CREATE INDEX `attestlog_pcrschanged_idx` ON `attestlog` (`pcrschanged`,`id`);--> statement-breakpoint
CREATE INDEX `imalog_boot_entry_idx` ON `imalog` (`machine_id`,`boottime`,`entrynum`,`id`,`badevent`,`nosig`,`nokey`,`badsig`,`timestamp`);--> statement-breakpoint
-- Dropped only now: InnoDB needs an index led by machine_id for the imalog.machine_id foreign key at every step.
DROP INDEX `imalog_machine_boot_idx` ON `imalog`;
