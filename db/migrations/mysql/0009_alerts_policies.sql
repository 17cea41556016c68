CREATE TABLE `alert_outbox` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`alert_id` char(36) NOT NULL,
	`sink` varchar(255) NOT NULL,
	`type` varchar(64) NOT NULL,
	`hostname` varchar(255),
	`body` mediumtext NOT NULL,
	`created_at` datetime(3) NOT NULL,
	`state` varchar(16) NOT NULL,
	`attempts` int unsigned NOT NULL,
	`next_attempt_at` datetime(3) NOT NULL,
	`claim_token` char(36),
	`last_error` text,
	`delivered_at` datetime(3),
	CONSTRAINT `alert_outbox_id` PRIMARY KEY(`id`),
	CONSTRAINT `alert_outbox_alert_sink_uq` UNIQUE(`alert_id`,`sink`)
);
--> statement-breakpoint
CREATE TABLE `policies` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`name` varchar(128) NOT NULL,
	`kind` varchar(16) NOT NULL,
	`body` mediumtext NOT NULL,
	`is_default` boolean NOT NULL,
	`created_at` datetime(3) NOT NULL,
	`updated_at` datetime(3) NOT NULL,
	CONSTRAINT `policies_id` PRIMARY KEY(`id`),
	CONSTRAINT `policies_name_uq` UNIQUE(`name`)
);
--> statement-breakpoint
CREATE TABLE `policy_assignments` (
	`id` int unsigned AUTO_INCREMENT NOT NULL,
	`hostname` varchar(255) NOT NULL,
	`kind` varchar(16) NOT NULL,
	`policy_id` int unsigned NOT NULL,
	`created_at` datetime(3) NOT NULL,
	CONSTRAINT `policy_assignments_id` PRIMARY KEY(`id`),
	CONSTRAINT `policy_assignments_host_kind_uq` UNIQUE(`hostname`,`kind`)
);
--> statement-breakpoint
ALTER TABLE `attestlog` ADD `policy_violations` int unsigned;--> statement-breakpoint
ALTER TABLE `machines` ADD `policy_violations` int unsigned;--> statement-breakpoint
ALTER TABLE `policy_assignments` ADD CONSTRAINT `policy_assignments_policy_id_policies_id_fk` FOREIGN KEY (`policy_id`) REFERENCES `policies`(`id`) ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX `alert_outbox_due_idx` ON `alert_outbox` (`state`,`next_attempt_at`);--> statement-breakpoint
CREATE INDEX `policy_assignments_policy_idx` ON `policy_assignments` (`policy_id`);