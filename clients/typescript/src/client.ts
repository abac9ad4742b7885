import { AuthApiError } from "./errors.js";
import { SessionManager, sessionIdOf, type AuthListener } from "./session.js";
import { memoryStorage, type StorageAdapter } from "./storage.js";
import type {
  CodeSent, ErrorCode, Health, JwkSet, LoggedOut, LogoutScope, Registered, RegisterBody, RequestCodeBody,
  RevokedSession, RevokedToken, RevokeTokenBody, Session, TokenPair, User, VerifyCodeBody, VerifyResult,
} from "./types.js";

export interface AuthClientOptions {
  /** The API's base URL (`https://auth.example.com/api/v1`) or just its origin (`/api/v1` is added). */
  baseUrl: string;
  /** Where the token pair is kept: `memoryStorage()` (the default) or `localStorageAdapter()`. */
  storage?: StorageAdapter;
  /** The key of the pair in the storage (default `authspec.session`). */
  storageKey?: string;
  /** A `fetch` of your own (tests, instrumentation); the global one by default. */
  fetch?: typeof fetch;
  /** Sent as `X-Mock-Namespace` on every call: a world of its own in `authspec mock`. */
  namespace?: string;
  /** Extra headers sent on every call. */
  headers?: Record<string, string>;
}

type Method = "GET" | "POST";

interface Call {
  operation: string;
  method: Method;
  path: string;
  body?: unknown;
  /** At the site root (the origin), not under the API's base path. */
  root?: boolean;
  /** The answer is the bare document (JWKS), not the envelope. */
  bare?: boolean;
}

function apiBase(baseUrl: string): { api: string; origin: string } {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch (cause) {
    throw new TypeError(`createAuthClient: baseUrl is not an absolute URL: ${JSON.stringify(baseUrl)}`, { cause });
  }
  const path = url.pathname.replace(/\/+$/, "");
  return { api: url.origin + (path === "" ? "/api/v1" : path), origin: url.origin };
}

function retryAfterOf(response: Response): number | null {
  const value = response.headers.get("Retry-After");
  if (value === null) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

export type AuthClient = ReturnType<typeof createAuthClient>;

/**
 * One method per operation, grouped by tag. Successes return the envelope's typed `data`; every
 * failure throws an {@link AuthApiError}. Authenticated calls send the stored access token and,
 * on `token_expired`, refresh once (single flight) and retry once.
 */
export function createAuthClient(options: AuthClientOptions) {
  const { api, origin } = apiBase(options.baseUrl);
  const doFetch: typeof fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const storage = options.storage ?? memoryStorage();
  const key = options.storageKey ?? "authspec.session";

  async function send<T>(call: Call, accessToken?: string): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json", ...options.headers };
    if (options.namespace !== undefined) headers["X-Mock-Namespace"] = options.namespace;
    if (call.body !== undefined) headers["Content-Type"] = "application/json";
    if (accessToken) headers["Authorization"] = `Bearer ${accessToken}`;
    const url = (call.root ? origin : api) + call.path;
    let response: Response;
    try {
      response = await doFetch(url, {
        method: call.method,
        headers,
        ...(call.body !== undefined ? { body: JSON.stringify(call.body) } : {}),
      });
    } catch (cause) {
      throw new AuthApiError({ status: 0, errorCode: "network_error", operation: call.operation, cause,
        errors: [cause instanceof Error ? cause.message : String(cause)] });
    }
    const text = await response.text().catch(() => "");
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch (cause) {
      body = undefined;
      void cause;
    }
    const envelope = body as { isSuccess?: unknown; data?: unknown; errorCode?: unknown; errors?: unknown } | undefined;
    if (response.ok && call.bare && body !== undefined) return body as T;
    if (envelope && typeof envelope === "object" && typeof envelope.isSuccess === "boolean") {
      if (envelope.isSuccess && response.ok) return envelope.data as T;
      if (!envelope.isSuccess && typeof envelope.errorCode === "string") {
        throw new AuthApiError({
          status: response.status,
          errorCode: envelope.errorCode as ErrorCode,
          errors: Array.isArray(envelope.errors) ? envelope.errors.map(String) : [],
          retryAfter: retryAfterOf(response),
          operation: call.operation,
        });
      }
    }
    throw new AuthApiError({
      status: response.status, errorCode: "invalid_response", operation: call.operation,
      retryAfter: retryAfterOf(response),
      errors: [`Not the contract's envelope (${response.headers.get("Content-Type") ?? "no content type"}).`],
    });
  }

  const rotate = (refreshToken: string) =>
    send<TokenPair>({ operation: "refreshToken", method: "POST", path: "/auth/refresh", body: { refreshToken } });
  const session = new SessionManager(storage, key, rotate);

  /** A call with the bearer token: refresh once on `token_expired`, sign out on an ended session. */
  async function authed<T>(call: Call): Promise<T> {
    let pair = await session.getPair();
    try {
      return await send<T>(call, pair?.accessToken);
    } catch (error) {
      if (!(error instanceof AuthApiError) || !pair) throw error;
      if (error.errorCode !== "token_expired") {
        await session.signOutOn(error, pair);
        throw error;
      }
    }
    pair = await session.refresh(pair);
    try {
      return await send<T>(call, pair.accessToken);
    } catch (error) {
      await session.signOutOn(error, pair);
      throw error; // a second token_expired is reported, never retried again
    }
  }

  async function signedIn<T extends { tokens: TokenPair }>(result: T): Promise<T> {
    await session.setPair(result.tokens, "SIGNED_IN");
    return result;
  }

  return {
    auth: {
      /** `requestEmailCode`: send a 6-digit code to `email`. */
      requestCode: (body: RequestCodeBody) =>
        send<CodeSent>({ operation: "requestEmailCode", method: "POST", path: "/auth/email/request-code", body }),
      /** `verifyEmailCode`: narrow the answer on `status`; `authenticated` stores the pair. */
      verify: async (body: VerifyCodeBody): Promise<VerifyResult> => {
        const result = await send<VerifyResult>({
          operation: "verifyEmailCode", method: "POST", path: "/auth/email/verify", body,
        });
        if (result.status === "authenticated") await signedIn(result);
        return result;
      },
      /** `completeRegistration`: create the account; stores the pair. */
      register: async (body: RegisterBody): Promise<Registered> =>
        signedIn(await send<Registered>({ operation: "completeRegistration", method: "POST", path: "/auth/register", body })),
      /** `getCurrentUser`. */
      me: () => authed<User>({ operation: "getCurrentUser", method: "GET", path: "/auth/me" }),
    },
    tokens: {
      /**
       * `refreshToken`. Without an argument: rotate the stored pair (shared single flight) and store
       * the successor. With a token: a plain call whose pair is returned, not stored.
       */
      refresh: async (refreshToken?: string): Promise<TokenPair> => {
        if (refreshToken !== undefined) return rotate(refreshToken);
        const pair = await session.getPair();
        if (!pair) {
          throw new AuthApiError({ status: 401, errorCode: "session_ended", operation: "refreshToken",
            errors: ["No session: sign in first."] });
        }
        return session.refresh(pair);
      },
      /** `revokeRefreshToken`: end the session a refresh token belongs to (the stored one by default). */
      revoke: async (body?: RevokeTokenBody): Promise<RevokedToken> => {
        const pair = await session.getPair();
        const target = body ?? (pair ? { refreshToken: pair.refreshToken } : undefined);
        if (!target) {
          throw new AuthApiError({ status: 401, errorCode: "session_ended", operation: "revokeRefreshToken",
            errors: ["No session: sign in first."] });
        }
        const result = await authed<RevokedToken>({
          operation: "revokeRefreshToken", method: "POST", path: "/auth/revoke-token", body: target,
        });
        const now = await session.getPair();
        if (now && (now.refreshToken === target.refreshToken || sessionIdOf(now.accessToken) === result.sessionId)) {
          await session.clear("revoked", now);
        }
        return result;
      },
      /** `getJwks`, at the site root. */
      jwks: () => send<JwkSet>({ operation: "getJwks", method: "GET", path: "/.well-known/jwks.json", root: true, bare: true }),
    },
    sessions: {
      /** `listSessions`: the caller's sessions; `current` marks this one. */
      list: () => authed<Session[]>({ operation: "listSessions", method: "GET", path: "/auth/sessions" }),
      /** `revokeSession`: end one session at once; revoking this one signs out. */
      revoke: async (id: string): Promise<RevokedSession> => {
        const result = await authed<RevokedSession>({
          operation: "revokeSession", method: "POST", path: `/sessions/${encodeURIComponent(id)}/revoke`,
        });
        const now = await session.getPair();
        if (now && sessionIdOf(now.accessToken) === result.id) await session.clear("revoked", now);
        return result;
      },
      /** `logout`: `all` (the default), `current` or `others`; the first two clear the pair in every tab. */
      logout: async (scope: LogoutScope = "all"): Promise<LoggedOut> => {
        const pair = await session.getPair();
        const result = await authed<LoggedOut>({ operation: "logout", method: "POST", path: "/auth/logout", body: { scope } });
        if (scope !== "others") await session.clear("logout", (await session.getPair()) ?? pair ?? undefined);
        return result;
      },
    },
    health: {
      /** `getHealth` (liveness), at the site root. */
      live: () => send<Health>({ operation: "getHealth", method: "GET", path: "/healthz", root: true }),
      /** `getReadiness`, at the site root. */
      ready: () => send<Health>({ operation: "getReadiness", method: "GET", path: "/readyz", root: true }),
    },
    /** The stored pair, or null when signed out. */
    getSession: () => session.getPair(),
    /** Store a pair obtained elsewhere (a server-side login, a test). */
    setSession: (pair: TokenPair) => session.setPair(pair, "SIGNED_IN"),
    /** Forget the pair locally (no server call); emits `SIGNED_OUT`. */
    signOutLocally: () => session.clear("logout"),
    /** Subscribe to `SIGNED_IN`, `TOKEN_REFRESHED` and `SIGNED_OUT` (also from other tabs); returns the unsubscribe. */
    onAuthStateChange: (listener: AuthListener) => session.onChange(listener),
    /** Stop listening to the storage. */
    dispose: () => session.dispose(),
  };
}
