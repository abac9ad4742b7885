// Compiles under `tsc --strict` only if the generated types name Session and type the verify
// answer as a union discriminated by `status`, with `data` required.
import type { components, paths } from "./api";

type Session = components["schemas"]["Session"];
type VerifyAnswer = paths["/auth/email/verify"]["post"]["responses"][200]["content"]["application/json"];

export function describeSession(session: Session): string {
  const id: string = session.id;
  const current: boolean = session.current;
  const device: string | null = session.deviceName;
  return `${id} ${current ? "this device" : device ?? "unknown device"} since ${session.createdAt}`;
}

export const sample: Session = {
  id: "7d9f2c1e-3b4a-4e5f-8a6b-1c2d3e4f5a6b",
  createdAt: "2026-01-15T10:00:00.000Z",
  lastActiveAt: "2026-01-15T10:29:00.000Z",
  expiresAt: "2026-02-14T10:00:00.000Z",
  ip: null,
  userAgent: null,
  deviceName: "Firefox on Linux",
  current: true,
};

export function nextStep(answer: VerifyAnswer): string {
  const data = answer.data; // required: no "possibly undefined"
  if (data.status === "authenticated") {
    const access: string = data.tokens.accessToken; // only the login variant has tokens
    return `logged in as ${data.user.email} with ${access}`;
  }
  const registration: string = data.registrationToken; // only the registration variant has this
  return `register within ${data.expiresIn} s using ${registration}`;
}
