import type { Room } from "../api/types";
import { KeyIcon, MoonIcon, PlusIcon, SunIcon } from "../ui/icons";
import { useSession } from "./context";
import { type Route, roomHref, TOKENS_HREF } from "./route";
import type { Theme } from "./theme";

interface Props {
  rooms: Room[] | null;
  error: string | null;
  route: Route;
  theme: Theme;
  onToggleTheme: () => void;
  onSignOut: () => void;
}

/** The rooms list, with the way to a new room, the theme toggle and who you are. */
export function Sidebar({ rooms, error, route, theme, onToggleTheme, onSignOut }: Props) {
  const { user } = useSession();
  const current = route.name === "room" ? route.roomId : null;
  return (
    <nav className="sidebar" aria-label="Rooms">
      <div className="sidebar-head">
        <span className="brand">Chimera</span>
        <button
          type="button"
          className="icon-btn"
          onClick={onToggleTheme}
          aria-label={theme === "dark" ? "Switch to light theme" : "Switch to dark theme"}
          title={theme === "dark" ? "Switch to light theme" : "Switch to dark theme"}
        >
          {theme === "dark" ? <SunIcon /> : <MoonIcon />}
        </button>
      </div>
      <a href="#/" className="new-room" aria-current={route.name === "home" ? "page" : undefined}>
        <PlusIcon /> New room
      </a>
      <div className="sidebar-rooms">
        {rooms && rooms.length > 0 && (
          <ul className="room-list">
            {rooms.map((room) => (
              <li key={room.id}>
                <a href={roomHref(room.id)} aria-current={room.id === current ? "page" : undefined}>
                  <span className="room-list-name">
                    {room.name}
                    {room.role === "viewer" && <span className="badge">view only</span>}
                  </span>
                  {room.personas.length > 0 && (
                    <span className="room-list-meta">{room.personas.map((p) => `@${p.handle}`).join(" ")}</span>
                  )}
                </a>
              </li>
            ))}
          </ul>
        )}
        {rooms?.length === 0 && <p className="hint sidebar-note">No rooms yet.</p>}
        {error && <p className="field-error sidebar-note">{error}</p>}
      </div>
      {user.kind === "user" && (
        <a
          href={TOKENS_HREF}
          className="new-room sidebar-link"
          aria-current={route.name === "tokens" ? "page" : undefined}
        >
          <KeyIcon /> API tokens
        </a>
      )}
      <div className="sidebar-foot">
        <span className="me" title={user.username ? `Signed in as ${user.username}` : "Guest"}>
          <span className="me-name">{user.name}</span>
          <span className="me-detail">{user.username ? `@${user.username}` : "guest"}</span>
        </span>
        <button type="button" className="btn btn-quiet" onClick={onSignOut}>
          Sign out
        </button>
      </div>
    </nav>
  );
}
