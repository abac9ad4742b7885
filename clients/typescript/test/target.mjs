// What the suite needs from its target beyond the API: codes, the clock, the refresh count.
// AUTHSPEC_TARGET=mock|serve, AUTHSPEC_URL=origin, AUTHSPEC_CODES_URL (serve: the pytest side's
// SMTP sink, GET ?to=EMAIL answers the newest code), AUTHSPEC_ACCESS_TTL / AUTHSPEC_REFRESH_GRACE (serve).
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";

export const kind = process.env.AUTHSPEC_TARGET ?? "mock";
export const url = process.env.AUTHSPEC_URL ?? "http://127.0.0.1:4010";
const codesUrl = process.env.AUTHSPEC_CODES_URL;
const accessTtl = Number(process.env.AUTHSPEC_ACCESS_TTL ?? "3600");
const grace = Number(process.env.AUTHSPEC_REFRESH_GRACE ?? "10");

export const isMock = kind === "mock";

/** A namespace of its own per test on the mock (ignored by the service) and a fresh email. */
export function world() {
  const id = randomUUID().slice(0, 8);
  return { namespace: isMock ? `t-${id}` : undefined, email: `user-${id}@example.com` };
}

async function control(namespace, method, path, body) {
  const answer = await fetch(`${url}/__mock${path}`, {
    method,
    headers: { "X-Mock-Namespace": namespace, ...(body ? { "Content-Type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (!answer.ok) throw new Error(`${method} /__mock${path}: ${answer.status} ${await answer.text()}`);
  return (await answer.json()).data;
}

export async function codeFor(namespace, email) {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (isMock) {
      const messages = await control(namespace, "GET", `/outbox?to=${encodeURIComponent(email)}`);
      if (messages.length) return messages.at(-1).code;
    } else {
      const answer = await fetch(`${codesUrl}?to=${encodeURIComponent(email)}`);
      if (answer.status === 200) return (await answer.text()).trim();
    }
    await sleep(50);
  }
  throw new Error(`no code for ${email}`);
}

/** Let a second code be requested for the same email (the mock's 60 s cooldown; the service runs with 0). */
export async function passResendCooldown(namespace) {
  if (isMock) await control(namespace, "POST", "/clock", { advanceSeconds: 61 });
}

/** Let every access token issued so far expire. */
export async function expireAccessTokens(namespace) {
  if (isMock) await control(namespace, "POST", "/clock", { advanceSeconds: 3601 });
  else await sleep((accessTtl + 1) * 1000);
}

/** Let the refresh grace window pass. */
export async function passRefreshGrace(namespace) {
  if (isMock) await control(namespace, "POST", "/clock", { advanceSeconds: 11 });
  else await sleep((grace + 1) * 1000);
}

/** The refreshToken calls the mock logged in this namespace (null on the service). */
export async function refreshesLogged(namespace) {
  if (!isMock) return null;
  const log = await control(namespace, "GET", "/requests?limit=1000");
  return log.filter((entry) => entry.operationId === "refreshToken").length;
}

/** A fetch that counts calls by path suffix. */
export function countingFetch() {
  const counts = new Map();
  const wrapped = (input, init) => {
    const path = new URL(String(input)).pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    return fetch(input, init);
  };
  return { fetch: wrapped, count: (path) => counts.get(path) ?? 0 };
}
