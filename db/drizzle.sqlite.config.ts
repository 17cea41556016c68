/** drizzle-kit configuration for the SQLite migrations: `npx drizzle-kit generate --config db/drizzle.sqlite.config.ts`. */
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'sqlite',
  schema: './db/schema/sqlite.ts',
  out: './db/migrations/sqlite',
});
