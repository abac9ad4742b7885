// Must NOT compile: Session.current is a boolean.
import type { components } from "./api";

export function flag(session: components["schemas"]["Session"]): string {
  const current: string = session.current;
  return current;
}
