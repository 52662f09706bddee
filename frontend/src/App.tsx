import { useCallback, useEffect, useMemo, useState } from "react";
import { Api, ApiError } from "./api";
import { SessionContext } from "./app/context";
import { useRoute } from "./app/route";
import { clearSession, loadSession, saveSession } from "./app/session";
import { useTheme } from "./app/theme";
import { CreateRoom } from "./components/CreateRoom";
import { NameScreen } from "./components/NameScreen";
import { RoomView } from "./components/RoomView";
import { Sidebar } from "./components/Sidebar";
import type { Room, Session } from "./types";

export function App() {
  const [session, setSession] = useState<Session | null>(loadSession);
  const [expired, setExpired] = useState(false);
  const [theme, toggleTheme] = useTheme();

  const onSession = useCallback((s: Session) => {
    saveSession(s);
    setExpired(false);
    setSession(s);
  }, []);
  const signOut = useCallback((why: "expired" | "user") => {
    clearSession();
    setExpired(why === "expired");
    setSession(null);
  }, []);

  if (!session) return <NameScreen onSession={onSession} expired={expired} />;
  return <Shell session={session} theme={theme} onToggleTheme={toggleTheme} signOut={signOut} />;
}

interface ShellProps {
  session: Session;
  theme: ReturnType<typeof useTheme>[0];
  onToggleTheme: () => void;
  signOut: (why: "expired" | "user") => void;
}

function Shell({ session, theme, onToggleTheme, signOut }: ShellProps) {
  const route = useRoute();
  const api = useMemo(() => new Api(session.token), [session.token]);
  const context = useMemo(
    () => ({ session, api, signOut: () => signOut("expired") }),
    [session, api, signOut],
  );
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
      next[at] = room;
      return next;
    });
  }, []);

  return (
    <SessionContext.Provider value={context}>
      <div className="shell" data-view={route.name}>
        <Sidebar
          rooms={rooms}
          error={roomsError}
          route={route}
          theme={theme}
          onToggleTheme={onToggleTheme}
          onSignOut={() => signOut("user")}
        />
        <main className="main">
          {route.name === "room" ? (
            <RoomView key={route.roomId} roomId={route.roomId} onRoomChanged={upsertRoom} />
          ) : (
            <CreateRoom onCreated={upsertRoom} />
          )}
        </main>
      </div>
    </SessionContext.Provider>
  );
}
