-- The web login tables get the same exact-code-point collation as every other
-- table (see 0001_utf8mb4.sql): user and token names match byte for byte.
ALTER TABLE `web_users` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;--> statement-breakpoint
ALTER TABLE `web_users` /*M!100202 CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin, */ ENGINE = InnoDB;--> statement-breakpoint
ALTER TABLE `web_sessions` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;--> statement-breakpoint
ALTER TABLE `web_sessions` /*M!100202 CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin, */ ENGINE = InnoDB;--> statement-breakpoint
ALTER TABLE `api_tokens` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;--> statement-breakpoint
ALTER TABLE `api_tokens` /*M!100202 CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin, */ ENGINE = InnoDB;
