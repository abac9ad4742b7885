// Two tabs (pages of one Chromium context) of one origin share the client's localStorage pair.
// Usage: node two_tabs.mjs PAGE_URL MOCK_URL; prints one JSON line of what happened.
import { launch } from "../../browser/chromium.mjs";

const [pageUrl, mock] = process.argv.slice(2);
const { context, close } = await launch();
const consoleLines = [];
const control = async (method, path, body) => {
  const answer = await fetch(`${mock}/__mock${path}`, {
    method, ...(body ? { headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) } : {}),
  });
  return (await answer.json()).data;
};
try {
  const open = async () => {
    const page = await context.newPage();
    page.on("console", (message) => consoleLines.push(`${message.type()}: ${message.text()}`));
    page.on("pageerror", (error) => consoleLines.push(`pageerror: ${error.message}`));
    await page.goto(pageUrl, { timeout: 30_000 });
    await page.waitForFunction(() => document.title === "ready", null, { timeout: 30_000 });
    return page;
  };
  const [a, b] = [await open(), await open()];
  const result = { origin: await a.evaluate(() => location.origin), locks: await a.evaluate(() => window.tab.locks) };
  result.login = await a.evaluate(() => window.tab.login("tabs@example.com"));
  result.sharedPair = await b.evaluate(async () => (await window.tab.client.getSession()) !== null);
  const before = (await control("GET", "/requests?limit=1000")).length;
  await control("POST", "/clock", { advanceSeconds: 3601 });
  // The refresh is held until all ten calls of both tabs have met the expired token, so both tabs
  // need a refresh at once: only the Web Lock keeps the second tab from rotating again.
  const expiredSince = async () =>
    (await control("GET", "/requests?limit=1000")).slice(before).filter((e) => e.errorCode === "token_expired").length;
  await context.route("**/api/v1/auth/refresh", async (route) => {
    const deadline = Date.now() + 10_000;
    while ((await expiredSince()) < 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await route.continue();
  });
  // Both tabs call at the same moment with the expired token (five calls each).
  const burst = () => window.tab.settle(Promise.all(Array.from({ length: 5 }, () => window.tab.client.sessions.list())));
  const [fromA, fromB] = await Promise.all([a.evaluate(burst), b.evaluate(burst)]);
  result.burst = [fromA, fromB].map((r) => (r.ok ? r.value.map((list) => list.length) : r));
  const log = (await control("GET", "/requests?limit=1000")).slice(before);
  result.refreshes = log.filter((e) => e.operationId === "refreshToken").map((e) => [e.status, e.errorCode]);
  result.expiredAnswers = log.filter((e) => e.errorCode === "token_expired").length;
  result.reuse = log.filter((e) => e.errorCode === "refresh_token_reused").length;
  result.afterBurst = await b.evaluate(async () => window.tab.settle(window.tab.client.auth.me().then((me) => me.email)));
  result.logout = await a.evaluate(async () => window.tab.settle(window.tab.client.sessions.logout("all")));
  result.otherTabSignedOut = await b.evaluate(() => Promise.race([
    window.tab.signedOut(), new Promise((resolve) => setTimeout(() => resolve(false), 10_000)),
  ]));
  result.otherTabPair = await b.evaluate(() => window.tab.client.getSession());
  result.otherTabCall = await b.evaluate(() => window.tab.settle(window.tab.client.sessions.list()));
  result.events = { a: await a.evaluate(() => window.tab.events), b: await b.evaluate(() => window.tab.events) };
  process.stdout.write(JSON.stringify({ ok: true, result, console: consoleLines }) + "\n");
} finally {
  await close();
}
