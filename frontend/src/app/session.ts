// The session itself lives in the httpOnly `chimera_session` cookie, out of the page's reach:
// nothing secret is stored here. Only the last display name is remembered, to offer it again.

const NAME_KEY = "chimera.name";
/** Where earlier versions kept a bearer token; removed on start. */
const LEGACY_SESSION_KEY = "chimera.session";

function storage(): Storage | null {
  try {
    return typeof localStorage === "undefined" ? null : localStorage;
  } catch {
    return null;
  }
}

/** Forget any bearer token an earlier version of the app stored. */
export function dropLegacySession(): void {
  storage()?.removeItem(LEGACY_SESSION_KEY);
}

export function rememberName(name: string): void {
  storage()?.setItem(NAME_KEY, name);
}

export function lastName(): string {
  return storage()?.getItem(NAME_KEY) ?? "";
}
