-- Before any DDL (MySQL commits each one): a database holding one EK under several enrolled hostnames
-- cannot take the unique key; a unique key of this name refuses them first, naming the EK's fingerprint.
DROP TEMPORARY TABLE IF EXISTS `one_ek_check`;--> statement-breakpoint
CREATE TEMPORARY TABLE `one_ek_check` (`ek_fingerprint` char(64) NOT NULL, CONSTRAINT `one_EK_enrolled_under_several_hostnames_see_README` UNIQUE (`ek_fingerprint`));--> statement-breakpoint
INSERT INTO `one_ek_check` SELECT `ek_fingerprint` FROM `machines` WHERE `enrolled` IS NOT NULL;--> statement-breakpoint
DROP TEMPORARY TABLE `one_ek_check`;--> statement-breakpoint
ALTER TABLE `machines` ADD `enrolled_ek_fingerprint` char(64) GENERATED ALWAYS AS ((case when `enrolled` is null then null else rtrim(`ek_fingerprint`) end)) STORED;--> statement-breakpoint
ALTER TABLE `machines` ADD CONSTRAINT `machines_enrolled_ek_uq` UNIQUE(`enrolled_ek_fingerprint`);