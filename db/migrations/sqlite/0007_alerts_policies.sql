CREATE TABLE `alert_outbox` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`alert_id` text NOT NULL,
	`sink` text NOT NULL,
	`type` text NOT NULL,
	`hostname` text,
	`body` text NOT NULL,
	`created_at` text NOT NULL,
	`state` text NOT NULL,
	`attempts` integer NOT NULL,
	`next_attempt_at` text NOT NULL,
	`claim_token` text,
	`last_error` text,
	`delivered_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `alert_outbox_alert_sink_uq` ON `alert_outbox` (`alert_id`,`sink`);--> statement-breakpoint
CREATE INDEX `alert_outbox_due_idx` ON `alert_outbox` (`state`,`next_attempt_at`);--> statement-breakpoint
CREATE TABLE `policies` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`kind` text NOT NULL,
	`body` text NOT NULL,
	`is_default` integer NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `policies_name_uq` ON `policies` (`name`);--> statement-breakpoint
CREATE TABLE `policy_assignments` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`hostname` text NOT NULL,
	`kind` text NOT NULL,
	`policy_id` integer NOT NULL,
	`created_at` text NOT NULL,
	FOREIGN KEY (`policy_id`) REFERENCES `policies`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `policy_assignments_host_kind_uq` ON `policy_assignments` (`hostname`,`kind`);--> statement-breakpoint
CREATE INDEX `policy_assignments_policy_idx` ON `policy_assignments` (`policy_id`);--> statement-breakpoint
ALTER TABLE `attestlog` ADD `policy_violations` integer;--> statement-breakpoint
ALTER TABLE `machines` ADD `policy_violations` integer;