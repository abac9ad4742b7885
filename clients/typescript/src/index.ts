export { createAuthClient } from "./client.js";
export type { AuthClient, AuthClientOptions } from "./client.js";
export { AuthApiError, isAuthApiError } from "./errors.js";
export type { ClientErrorCode } from "./errors.js";
export { localStorageAdapter, memoryStorage } from "./storage.js";
export type { StorageAdapter } from "./storage.js";
export { sessionIdOf } from "./session.js";
export type { AuthChange, AuthEvent, AuthListener, SignOutReason } from "./session.js";
export type * from "./types.js";
