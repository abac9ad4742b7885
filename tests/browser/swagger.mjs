// Swagger UI of a running app, as a person uses it: which server is preselected, and what
// "Try it out" → "Execute" on one operation answers. Prints one JSON line.
// Usage: node swagger.mjs DOCS_URL TAG OPERATION_ID SCREENSHOT_PATH
import { launch } from "./chromium.mjs";

const [docsUrl, tag, operationId, screenshot] = process.argv.slice(2);
const { context, close } = await launch();
try {
  const page = await context.newPage();
  const requested = [];
  page.on("request", (request) => requested.push(request.url()));
  await page.goto(docsUrl, { timeout: 30_000 });
  const select = page.locator(".servers select");
  await select.waitFor({ timeout: 30_000 });
  const selected = await select.evaluate((element) => element.value);
  const operation = page.locator(`#operations-${tag}-${operationId}`);
  await operation.locator(".opblock-summary").first().click();
  await operation.locator("button.try-out__btn").click();
  await operation.locator("button.execute").click();
  const status = operation.locator(".live-responses-table .response .response-col_status").first();
  await status.waitFor({ timeout: 30_000 });
  const answered = (await status.innerText()).trim();
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: false });
  const calls = requested.filter((url) => !url.includes("/docs/") && !url.endsWith("openapi.json"));
  process.stdout.write(JSON.stringify({ selected, status: answered, calls }) + "\n");
} finally {
  await close();
}
