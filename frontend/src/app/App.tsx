import { type ReactNode, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { TokensPage } from "../account/TokensPage";
import { Api, ApiError, currentUser, logout } from "../api/api";
import type { Me, Room } from "../api/types";
import { InviteAccept } from "../members/InviteAccept";
import { RoomView } from "../room/RoomView";
import { CreateRoom } from "../room-settings/CreateRoom";
import { AuthScreen } from "./AuthScreen";
import { SessionContext, type SignOutReason } from "./context";
import { useRoute } from "./route";
import { Sidebar } from "./Sidebar";
import { dropLegacySession, rememberName } from "./session";
import { useTheme } from "./theme";

type AuthState =
  | { status: "loading" }
  | { status: "unreachable"; message: string }
  | { status: "signedOut"; reason: SignOutReason | null }
  | { status: "signedIn"; user: Me };

export function App() {
  const [auth, setAuth] = useState<AuthState>({ status: "loading" });
  const [theme, toggleTheme] = useTheme();
  const route = useRoute();

  // The session is the httpOnly cookie: ask the server who it belongs to.
  const restore = useCallback(() => {
    setAuth({ status: "loading" });
    currentUser().then(
      (user) => setAuth(user ? { status: "signedIn", user } : { status: "signedOut", reason: null }),
      (e: unknown) => setAuth({ status: "unreachable", message: e instanceof Error ? e.message : String(e) }),
    );
  }, []);

  useEffect(() => {
    dropLegacySession();
    restore();
  }, [restore]);

  const onSignedIn = useCallback((user: Me) => {
    rememberName(user.name);
    setAuth({ status: "signedIn", user });
  }, []);

  const signingOut = useRef(false);
  const signOut = useCallback((why: SignOutReason) => {
    if (why !== "user") {
      // The server no longer accepts the session: it is over already. (While we sign out
      // ourselves, the server's 1008 on our own sockets is no news.)
      if (signingOut.current) return;
      setAuth((current) => (current.status === "signedOut" ? current : { status: "signedOut", reason: why }));
      return;
    }
    if (signingOut.current) return;
    signingOut.current = true;
    // Wait for the server to end it (and clear the cookies) before a new sign-in can start.
    void logout()
      .catch(() => undefined)
      .finally(() => {
        signingOut.current = false;
        setAuth({ status: "signedOut", reason: "user" });
      });
  }, []);

  switch (auth.status) {
    case "loading":
      return (
        <main className="welcome" aria-busy="true">
          <p className="hint">Loading…</p>
        </main>
      );
    case "unreachable":
      return (
        <main className="welcome">
          <div className="card form welcome-card">
            <h1>Chimera</h1>
            <p role="alert" className="form-error">
              {auth.message}
            </p>
            <button type="button" className="btn btn-primary" onClick={restore}>
              Try again
            </button>
          </div>
        </main>
      );
    case "signedOut":
      return <AuthScreen onSignedIn={onSignedIn} reason={auth.reason} invite={route.name === "invite"} />;
    case "signedIn":
      return <Shell key={auth.user.id} user={auth.user} theme={theme} onToggleTheme={toggleTheme} signOut={signOut} />;
  }
}

interface ShellProps {
  user: Me;
  theme: ReturnType<typeof useTheme>[0];
  onToggleTheme: () => void;
  signOut: (why: SignOutReason) => void;
}

function Shell({ user, theme, onToggleTheme, signOut }: ShellProps) {
  const route = useRoute();
  const api = useMemo(() => new Api(), []);
  const [rooms, setRooms] = useState<Room[] | null>(null);
  const [roomsError, setRoomsError] = useState<string | null>(null);

  const refresh = useCallback(() => {
    api.listRooms().then(
      (list) => {
        setRooms(list);
        setRoomsError(null);
      },
      (e: unknown) => {
        if (e instanceof ApiError && e.status === 401) signOut("expired");
        else setRoomsError(e instanceof Error ? e.message : String(e));
      },
    );
  }, [api, signOut]);

  const context = useMemo(() => ({ user, api, signOut, refreshRooms: refresh }), [user, api, signOut, refresh]);

  // Rooms made by others are not pushed: look again when the window comes back into view.
  useEffect(() => {
    refresh();
    window.addEventListener("focus", refresh);
    return () => window.removeEventListener("focus", refresh);
  }, [refresh]);

  const upsertRoom = useCallback((room: Room) => {
    setRooms((list) => {
      const rest = (list ?? []).filter((r) => r.id !== room.id);
      const at = (list ?? []).findIndex((r) => r.id === room.id);
      if (at < 0) return [room, ...rest];
      const next = [...(list ?? [])];
      // Broadcast room frames carry no role of mine: keep the one the list had.
      next[at] = { ...room, role: room.role === undefined ? next[at].role : room.role };
      return next;
    });
  }, []);

  let main: ReactNode;
  switch (route.name) {
    case "room":
      main = <RoomView key={route.roomId} roomId={route.roomId} onRoomChanged={upsertRoom} />;
      break;
    case "tokens":
      main = <TokensPage />;
      break;
    case "invite":
      main = <InviteAccept key={route.token} token={route.token} onJoined={upsertRoom} />;
      break;
    default:
      main = <CreateRoom onCreated={upsertRoom} />;
  }

  return (
    <SessionContext.Provider value={context}>
      <div className="shell" data-view={route.name === "home" || route.name === "room" ? route.name : "page"}>
        <Sidebar
          rooms={rooms}
          error={roomsError}
          route={route}
          theme={theme}
          onToggleTheme={onToggleTheme}
          onSignOut={() => signOut("user")}
        />
        <main className="main">{main}</main>
      </div>
    </SessionContext.Provider>
  );
}
