/**
 * What this process has sent to MySQL/MariaDB servers, counted where it is
 * sent (db/mysql-driver.ts, db/mysql-batch.ts): every round trip, and every
 * statement in them, transaction control included. The benchmark reads it
 * to report round trips per attestation as they happened, not as a caller
 * would guess them. A statement's first execution on a connection also
 * prepares it, one round trip more that mysql2 makes and this does not see.
 */
export const mysqlTraffic = { roundTrips: 0, statements: 0 };

/** One round trip carrying `statements` statements. */
export function countRoundTrip(statements: number): void {
  mysqlTraffic.roundTrips++;
  mysqlTraffic.statements += statements;
}
