// Debian's chromium under playwright-core, as the tests run it: never a downloaded browser, a
// fresh profile each time, removed on close.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

/** A persistent context on a fresh user-data dir; `close()` also removes the dir. */
export async function launch() {
  const profile = mkdtempSync(join(tmpdir(), "authspec-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.AUTHSPEC_CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: FLAGS,
    timeout: 60_000,
  });
  const close = async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  };
  return { context, close };
}
