import type { ErrorCode } from "./types.js";

/**
 * Codes the client itself reports when there is no contract answer to read:
 * - `network_error`: `fetch` failed (offline, DNS, CORS refused, aborted); `status` is 0.
 * - `invalid_response`: the answer is not the contract's JSON envelope (a proxy's HTML page, ...).
 */
export type ClientErrorCode = "network_error" | "invalid_response";

/** Every failure of a call: a contract error envelope, or one of the client's own codes. */
export class AuthApiError extends Error {
  override readonly name = "AuthApiError";
  /** The HTTP status (0 when no answer arrived). */
  readonly status: number;
  /** The envelope's `errorCode`, or the client's own code; switch on it exhaustively. */
  readonly errorCode: ErrorCode | ClientErrorCode;
  /** The envelope's `errors` lines (the generic message of the status first). */
  readonly errors: readonly string[];
  /** `Retry-After` in seconds, when the answer carried one. */
  readonly retryAfter: number | null;
  /** The operation that failed (its operationId). */
  readonly operation: string;

  constructor(init: {
    status: number;
    errorCode: ErrorCode | ClientErrorCode;
    errors?: readonly string[];
    retryAfter?: number | null;
    operation: string;
    cause?: unknown;
  }) {
    const errors = init.errors ?? [];
    super(`${init.operation}: ${init.status} ${init.errorCode}${errors.length ? ` (${errors.join("; ")})` : ""}`, {
      cause: init.cause,
    });
    this.status = init.status;
    this.errorCode = init.errorCode;
    this.errors = errors;
    this.retryAfter = init.retryAfter ?? null;
    this.operation = init.operation;
  }
}

export function isAuthApiError(value: unknown): value is AuthApiError {
  return value instanceof AuthApiError;
}

/** The codes after which the session cannot continue: the client clears its pair and signs out. */
export const SIGN_OUT_CODES: ReadonlySet<ErrorCode | ClientErrorCode> = new Set([
  "refresh_token_reused",
  "invalid_refresh_token",
  "session_ended",
]);
