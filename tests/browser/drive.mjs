// Open the page in Debian's chromium (playwright-core, never a downloaded browser) and print what
// its flow returned as one JSON line. Usage: node drive.mjs PAGE_URL SCREENSHOT_PATH
import { launch } from "./chromium.mjs";

const [pageUrl, screenshot] = process.argv.slice(2);
const { context, close } = await launch();
const console_ = [];
try {
  const page = await context.newPage();
  page.on("console", (message) => console_.push(`${message.type()}: ${message.text()}`));
  await page.goto(pageUrl, { timeout: 30_000 });
  const outcome = await page.evaluate(() => window.flow);
  if (screenshot) await page.screenshot({ path: screenshot });
  process.stdout.write(JSON.stringify({ ...outcome, console: console_ }) + "\n");
} finally {
  await close();
}
