// The client against a started target (authspec mock or authspec serve): the same suite on both.
import assert from "node:assert/strict";
import { test } from "node:test";
import { AuthApiError, createAuthClient, memoryStorage } from "../dist/index.js";
import * as target from "./target.mjs";

function client(namespace, extra = {}) {
  return createAuthClient({ baseUrl: target.url, ...(namespace ? { namespace } : {}), ...extra });
}

/** Log `email` in (registering it when new); returns what verify answered. */
async function login(api, namespace, email) {
  await api.auth.requestCode({ email });
  const result = await api.auth.verify({ email, code: await target.codeFor(namespace, email) });
  if (result.status === "registration_required") {
    await api.auth.register({ registrationToken: result.registrationToken, firstName: "Ada", lastName: "Lovelace", deviceName: "node" });
  }
  return result;
}

async function rejects(promise, status, errorCode) {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AuthApiError, `not an AuthApiError: ${error}`);
    assert.deepEqual([error.status, error.errorCode], [status, errorCode], error.message);
    return error;
  }
  assert.fail(`resolved, expected ${status} ${errorCode}`);
}

test("every method answers its typed data", async () => {
  const { namespace, email } = target.world();
  const api = client(namespace);
  const events = [];
  api.onAuthStateChange(({ event, reason }) => events.push(reason ? `${event}:${reason}` : event));

  const sent = await api.auth.requestCode({ email });
  assert.equal(typeof sent.expiresIn, "number");
  assert.equal(typeof sent.resendAfter, "number");
  const first = await api.auth.verify({ email, code: await target.codeFor(namespace, email) });
  assert.equal(first.status, "registration_required");
  assert.equal(await api.getSession(), null);
  const registered = await api.auth.register({ registrationToken: first.registrationToken, firstName: "Ada", lastName: "Lovelace" });
  assert.equal(registered.user.email, email);
  assert.deepEqual(await api.getSession(), registered.tokens);

  const me = await api.auth.me();
  assert.deepEqual([me.email, me.firstName, me.id], [email, "Ada", registered.user.id]);

  await target.passResendCooldown(namespace);
  const other = client(namespace);
  const second = await login(other, namespace, email);
  assert.equal(second.status, "authenticated");
  assert.equal(second.user.id, registered.user.id);

  const sessions = await api.sessions.list();
  assert.equal(sessions.length, 2);
  assert.equal(sessions.filter((s) => s.current).length, 1);

  const before = await api.getSession();
  const rotated = await api.tokens.refresh();
  assert.notEqual(rotated.refreshToken, before.refreshToken);
  assert.deepEqual(await api.getSession(), rotated);

  const jwks = await api.tokens.jwks();
  assert.ok(jwks.keys.length >= 1 && jwks.keys.every((k) => k.kty === "OKP"));
  assert.equal((await api.health.live()).status, "ok");

  const otherSession = sessions.find((s) => !s.current);
  const revoked = await api.sessions.revoke(otherSession.id);
  assert.equal(revoked.id, otherSession.id);
  await rejects(other.auth.me(), 401, "session_ended");
  assert.equal(await other.getSession(), null, "an ended session clears the pair");

  const third = client(namespace);
  await target.passResendCooldown(namespace);
  await login(third, namespace, email);
  const thirdPair = await third.getSession();
  const revokedToken = await api.tokens.revoke({ refreshToken: thirdPair.refreshToken });
  assert.equal(typeof revokedToken.sessionId, "string");
  await rejects(third.tokens.refresh(), 401, "invalid_refresh_token");
  assert.equal(await third.getSession(), null);

  const out = await api.sessions.logout("all");
  assert.equal(out.revokedSessions, 1);
  assert.equal(await api.getSession(), null);
  await rejects(api.auth.me(), 401, "authentication_required");
  assert.deepEqual(events, ["SIGNED_IN", "TOKEN_REFRESHED", "SIGNED_OUT:logout"]);
});

test("errors are AuthApiErrors with status, errorCode, errors and retryAfter", async () => {
  const { namespace, email } = target.world();
  const api = client(namespace);
  const bad = await rejects(api.auth.requestCode({ email: "not-an-email" }), 400, "validation_failed");
  assert.ok(bad.errors.length >= 2, bad.errors);
  await api.auth.requestCode({ email });
  const wrong = (await target.codeFor(namespace, email)) === "000000" ? "111111" : "000000";
  const invalid = await rejects(api.auth.verify({ email, code: wrong }), 401, "invalid_code");
  assert.equal(invalid.operation, "verifyEmailCode");
  await rejects(api.sessions.list(), 401, "authentication_required");
  if (target.isMock) {
    // The service in this suite runs without a resend cooldown; the mock keeps its 60 s.
    const limited = await rejects(api.auth.requestCode({ email }), 429, "rate_limited");
    assert.ok(limited.retryAfter > 0, String(limited.retryAfter));
  }
  await login(api, namespace, target.world().email);
  await rejects(api.sessions.revoke("00000000-0000-4000-8000-000000000000"), 404, "session_not_found");
  const offline = createAuthClient({ baseUrl: "http://127.0.0.1:9" });
  const lost = await rejects(offline.health.live(), 0, "network_error");
  assert.ok(lost.cause);
  assert.throws(() => createAuthClient({ baseUrl: "not a url" }), TypeError);
});

test("20 parallel calls with an expired access token share exactly one refresh", async () => {
  const { namespace, email } = target.world();
  const counter = target.countingFetch();
  const api = client(namespace, { fetch: counter.fetch });
  await login(api, namespace, email);
  const stale = await api.getSession();
  const before = await target.refreshesLogged(namespace);
  await target.expireAccessTokens(namespace);
  const results = await Promise.all(Array.from({ length: 20 }, () => api.auth.me()));
  assert.equal(results.length, 20);
  assert.ok(results.every((me) => me.email === email));
  assert.equal(counter.count("/api/v1/auth/refresh"), 1);
  if (target.isMock) assert.equal((await target.refreshesLogged(namespace)) - before, 1);
  assert.equal(counter.count("/api/v1/auth/me"), 40, "each call: one expired attempt, one retry");
  const fresh = await api.getSession();
  assert.notEqual(fresh.refreshToken, stale.refreshToken);
  assert.equal((await api.sessions.list()).length, 1, "the session stays active");
});

test("refresh_token_reused signs the client out", async () => {
  const { namespace, email } = target.world();
  const api = client(namespace);
  const events = [];
  api.onAuthStateChange(({ event, reason }) => events.push(reason ? `${event}:${reason}` : event));
  await login(api, namespace, email);
  const stale = await api.getSession();
  await api.tokens.refresh();
  await target.passRefreshGrace(namespace);
  await api.setSession(stale); // as a tab that missed the rotation would hold it
  await rejects(api.tokens.refresh(), 401, "refresh_token_reused");
  assert.equal(await api.getSession(), null);
  assert.deepEqual(events, ["SIGNED_IN", "TOKEN_REFRESHED", "SIGNED_IN", "SIGNED_OUT:refresh_token_reused"]);
});

test("a lost refresh answer does not sign out: the retry gets the successor pair", async () => {
  const { namespace, email } = target.world();
  let dropped = 0;
  const lossy = async (input, init) => {
    const answer = await fetch(input, init);
    if (new URL(String(input)).pathname.endsWith("/auth/refresh") && dropped === 0) {
      dropped += 1;
      throw new TypeError("fetch failed (answer lost)");
    }
    return answer;
  };
  const api = client(namespace, { fetch: lossy });
  await login(api, namespace, email);
  const pair = await api.tokens.refresh();
  assert.equal(dropped, 1);
  assert.deepEqual(await api.getSession(), pair);
  assert.equal((await api.auth.me()).email, email);
});

test("storage adapters: a shared storage is adopted by a second client", async () => {
  const { namespace, email } = target.world();
  const storage = memoryStorage();
  const a = client(namespace, { storage });
  const b = client(namespace, { storage });
  await login(a, namespace, email);
  assert.equal((await b.auth.me()).email, email);
  await b.sessions.logout("current");
  assert.equal(await a.getSession(), null);
});
