/** drizzle-kit configuration for the MySQL/MariaDB migrations: `npx drizzle-kit generate --config db/drizzle.mysql.config.ts`. */
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'mysql',
  schema: './db/schema/mysql.ts',
  out: './db/migrations/mysql',
});
