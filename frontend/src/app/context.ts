import { createContext, useContext } from "react";
import type { Api } from "../api";
import type { Me } from "../types";

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
