ALTER TABLE `machines` ADD `pending_ekcertificatepem` text;--> statement-breakpoint
ALTER TABLE `machines` ADD `pending_tpmvendor` varchar(64);