-- The alert and policy tables hold client-supplied hostnames and paths: the same
-- utf8mb4 binary, no-pad collation as the other tables (see 0001_utf8mb4.sql).
ALTER TABLE `alert_outbox` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;--> statement-breakpoint
ALTER TABLE `alert_outbox` /*M!100202 CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin, */ ENGINE = InnoDB;--> statement-breakpoint
ALTER TABLE `policies` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;--> statement-breakpoint
ALTER TABLE `policies` /*M!100202 CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin, */ ENGINE = InnoDB;--> statement-breakpoint
ALTER TABLE `policy_assignments` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;--> statement-breakpoint
ALTER TABLE `policy_assignments` /*M!100202 CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin, */ ENGINE = InnoDB;
