-- Every text column holds client-supplied data stored verbatim: utf8mb4 for the
-- full Unicode range and a binary collation, so comparisons and the unique
-- hostname index match exact code points whatever the server's defaults are.
-- MariaDB (executable comments /*M! ... */) also gets the NO PAD variant so
-- trailing spaces are significant, as they are in SQLite; on MySQL the second
-- statement of each pair is a no-op rebuild of an empty table.
ALTER TABLE `machines` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;--> statement-breakpoint
ALTER TABLE `machines` /*M!100202 CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin, */ ENGINE = InnoDB;--> statement-breakpoint
ALTER TABLE `attestlog` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;--> statement-breakpoint
ALTER TABLE `attestlog` /*M!100202 CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin, */ ENGINE = InnoDB;--> statement-breakpoint
ALTER TABLE `bioslog` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;--> statement-breakpoint
ALTER TABLE `bioslog` /*M!100202 CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin, */ ENGINE = InnoDB;--> statement-breakpoint
ALTER TABLE `imalog` CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;--> statement-breakpoint
ALTER TABLE `imalog` /*M!100202 CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin, */ ENGINE = InnoDB;
