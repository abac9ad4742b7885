// Open the page in Debian's chromium (playwright-core, never a downloaded browser) and print what
// its flow returned as one JSON line. Usage: node drive.mjs PAGE_URL SCREENSHOT_PATH
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [pageUrl, screenshot] = process.argv.slice(2);
const profile = mkdtempSync(join(tmpdir(), "authspec-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.AUTHSPEC_CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
  timeout: 60_000,
});
const console_ = [];
try {
  const page = await context.newPage();
  page.on("console", (message) => console_.push(`${message.type()}: ${message.text()}`));
  await page.goto(pageUrl, { timeout: 30_000 });
  const outcome = await page.evaluate(() => window.flow);
  if (screenshot) await page.screenshot({ path: screenshot });
  process.stdout.write(JSON.stringify({ ...outcome, console: console_ }) + "\n");
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
