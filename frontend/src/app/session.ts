// The session (user and token) lives in localStorage so a reload keeps it.
import type { Session } from "../types";

const SESSION_KEY = "chimera.session";
const NAME_KEY = "chimera.name";

export function loadSession(): Session | null {
  try {
    const data = JSON.parse(localStorage.getItem(SESSION_KEY) ?? "null");
    if (data && typeof data.token === "string" && typeof data.user?.id === "string") return data;
  } catch {
    // Unreadable: treat as no session.
  }
  return null;
}

export function saveSession(session: Session): void {
  localStorage.setItem(SESSION_KEY, JSON.stringify(session));
  localStorage.setItem(NAME_KEY, session.user.name);
}

/** Forget the token but remember the name, to offer it again. */
export function clearSession(): void {
  localStorage.removeItem(SESSION_KEY);
}

export function lastName(): string {
  return localStorage.getItem(NAME_KEY) ?? "";
}
