import { createContext, useContext } from "react";
import type { Api } from "../api";
import type { Session } from "../types";

export interface SessionContextValue {
  session: Session;
  api: Api;
  /** The token is no longer accepted: back to the name screen. */
  signOut: () => void;
}

export const SessionContext = createContext<SessionContextValue | null>(null);

export function useSession(): SessionContextValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error("useSession outside SessionContext");
  return value;
}
