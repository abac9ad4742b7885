// better-auth as a peer of `make bench`: node server.mjs PORT DATABASE_FILE
//
// better-auth (pinned in package-lock.json) on better-sqlite3 in WAL mode, email and password
// sign-in, the bearer plugin (a session token in `Authorization: Bearer`), rate limiting and
// telemetry off. The schema is created at start with better-auth's own migrations. The benchmark
// signs users up and in over HTTP (the token comes back in `set-auth-token`), then measures
// GET /api/auth/list-sessions and GET /api/auth/get-session. BETTER_AUTH_SECRET comes from the
// environment (the benchmark generates one per run).
import { createServer } from "node:http";

import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { toNodeHandler } from "better-auth/node";
import { bearer } from "better-auth/plugins";
import Database from "better-sqlite3";

const [port, file] = process.argv.slice(2);
if (!port || !file) {
  console.error("usage: node server.mjs PORT DATABASE_FILE");
  process.exit(2);
}

const database = new Database(file);
database.pragma("journal_mode = WAL");

const auth = betterAuth({
  database,
  baseURL: `http://127.0.0.1:${port}`,
  emailAndPassword: { enabled: true },
  rateLimit: { enabled: false },
  telemetry: { enabled: false },
  plugins: [bearer()],
});

const { runMigrations } = await getMigrations(auth.options);
await runMigrations();

createServer(toNodeHandler(auth)).listen(Number(port), "127.0.0.1", () => {
  console.log(`better-auth listening on http://127.0.0.1:${port}`);
});
