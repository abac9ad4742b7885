// Must NOT compile: a registration-required answer has no tokens, so `status` must be checked first.
import type { paths } from "./api";

type VerifyAnswer = paths["/auth/email/verify"]["post"]["responses"][200]["content"]["application/json"];

export function accessToken(answer: VerifyAnswer): string {
  return answer.data.tokens.accessToken;
}
