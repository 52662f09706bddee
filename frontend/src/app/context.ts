import { createContext, useCallback, useContext, useState } from "react";
import { type Api, ApiError } from "../api/api";
import type { Me } from "../api/types";

/** Why the app is back at the sign-in screen. */
export type SignOutReason = "user" | "expired" | "ended";

export interface SessionContextValue {
  user: Me;
  api: Api;
  /** The session is no longer accepted (401, close 4401) or ended elsewhere (close 1008). */
  signOut: (why: SignOutReason) => void;
  /** Rooms may have changed (joined, left, removed): read the list again. */
  refreshRooms: () => void;
}

export const SessionContext = createContext<SessionContextValue | null>(null);

export function useSession(): SessionContextValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error("useSession outside SessionContext");
  return value;
}

/** An error to show, and the handler for a failed call: a 401 signs out (the session expired);
 * anything else becomes the error. */
export function useFailure(): {
  error: string | null;
  setError: (error: string | null) => void;
  failed: (e: unknown) => void;
} {
  const { signOut } = useSession();
  const [error, setError] = useState<string | null>(null);
  const failed = useCallback(
    (e: unknown) => {
      if (e instanceof ApiError && e.status === 401) signOut("expired");
      else setError(e instanceof Error ? e.message : String(e));
    },
    [signOut],
  );
  return { error, setError, failed };
}
