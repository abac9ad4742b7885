// Named types of the contract, taken from the generated `components.schemas` (never restated here).
import type { components } from "./generated/api.js";

type Schemas = components["schemas"];

export type { components, paths, operations } from "./generated/api.js";

export type User = Schemas["User"];
export type Session = Schemas["Session"];
export type SessionList = Schemas["SessionList"];
export type TokenPair = Schemas["TokenPair"];
/** The union of the contract's stable error codes. */
export type ErrorCode = Schemas["ErrorCode"];
export type VerifyResult = Schemas["VerifyResult"];
export type Authenticated = Schemas["Authenticated"];
export type RegistrationRequired = Schemas["RegistrationRequired"];
export type Registered = Schemas["Registered"];
export type CodeSent = Schemas["CodeSent"];
export type LoggedOut = Schemas["LoggedOut"];
export type RevokedToken = Schemas["RevokedToken"];
export type RevokedSession = Schemas["RevokedSession"];
export type Jwk = Schemas["Jwk"];
export type JwkSet = Schemas["JwkSet"];
export type Health = Schemas["Health"];
export type ErrorEnvelope = Schemas["ErrorEnvelope"];

// Request bodies.
export type RequestCodeBody = Schemas["RequestCodeBody"];
export type VerifyCodeBody = Schemas["VerifyCodeBody"];
export type RegisterBody = Schemas["RegisterBody"];
export type RefreshBody = Schemas["RefreshBody"];
export type RevokeTokenBody = Schemas["RevokeTokenBody"];
export type LogoutBody = Schemas["LogoutBody"];
export type LogoutScope = NonNullable<LogoutBody["scope"]>;
