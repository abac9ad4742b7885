// Type-checked with the package (tsc -p tsconfig.check.json): how an app uses the client.
import { AuthApiError, createAuthClient, localStorageAdapter, type ErrorCode, type Session, type ClientErrorCode } from "../src/index.js";

const client = createAuthClient({ baseUrl: "http://127.0.0.1:4010", storage: localStorageAdapter(), namespace: "demo" });

client.onAuthStateChange(({ event, reason }) => {
  if (event === "SIGNED_OUT") console.log("signed out:", reason);
});

export async function login(email: string, code: string): Promise<Session[]> {
  await client.auth.requestCode({ email });
  const result = await client.auth.verify({ email, code });
  if (result.status === "registration_required") {
    await client.auth.register({ registrationToken: result.registrationToken, firstName: "Ada", lastName: "Lovelace" });
  } else {
    const first: string = result.user.firstName;
    void first;
  }
  return client.sessions.list();
}

function assertNever(value: never): never {
  throw new Error(`unhandled ${String(value)}`);
}

export function describe(error: unknown): string {
  if (!(error instanceof AuthApiError)) return "unexpected";
  const code: ErrorCode | ClientErrorCode = error.errorCode;
  switch (code) {
    case "rate_limited":
    case "too_many_attempts":
      return `wait ${error.retryAfter ?? 60} s`;
    case "invalid_code":
      return "wrong code";
    case "validation_failed": case "malformed_request": case "authentication_required": case "invalid_token":
    case "token_expired": case "session_ended": case "invalid_registration_token": case "invalid_refresh_token":
    case "refresh_token_reused": case "invalid_client": case "forbidden": case "not_found": case "session_not_found":
    case "refresh_token_not_found": case "method_not_allowed": case "already_registered":
    case "session_already_revoked": case "refresh_token_already_revoked": case "payload_too_large":
    case "unsupported_media_type": case "internal_error": case "not_implemented": case "service_unavailable":
    case "network_error": case "invalid_response":
      return `${error.status} ${code}`;
    default:
      return assertNever(code);
  }
}

export async function revokeOthers(): Promise<number> {
  const sessions = await client.sessions.list();
  for (const s of sessions.filter((s) => !s.current)) await client.sessions.revoke(s.id);
  return (await client.sessions.logout("others")).revokedSessions;
}
