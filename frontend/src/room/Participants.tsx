import type { Persona, User } from "../api/types";
import { CloseIcon } from "../ui/icons";
import { Avatar } from "./MessageItem";

interface Props {
  id: string;
  open: boolean;
  onClose: () => void;
  people: User[];
  online: Record<string, true>;
  meId: string | null;
  personas: Persona[];
  /** Presence is only live while connected; otherwise it is what was last known. */
  connected: boolean;
}

/** Who is in the room: people (online first) and the personas with their models. */
export function Participants({ id, open, onClose, people, online, meId, personas, connected }: Props) {
  const sorted = [...people].sort(
    (a, b) => Number(!!online[b.id]) - Number(!!online[a.id]) || a.name.localeCompare(b.name),
  );
  const onlineCount = people.filter((p) => online[p.id]).length;
  return (
    <aside id={id} className="participants" data-open={open} aria-label="Participants">
      <div className="participants-head">
        <h2>Participants</h2>
        <button type="button" className="icon-btn participants-close" aria-label="Close participants" onClick={onClose}>
          <CloseIcon />
        </button>
      </div>
      <h3>
        People <span className="count">{onlineCount} online</span>
      </h3>
      {!connected && <p className="hint">Not connected: this may be out of date.</p>}
      <ul className="people" data-stale={!connected}>
        {sorted.map((p) => (
          <li key={p.id} data-online={!!online[p.id]}>
            <Avatar id={p.id} name={p.name} ai={false} />
            <span className="person-name">
              {p.name}
              {p.id === meId && <span className="hint"> (you)</span>}
            </span>
            <span className="presence">
              <span className="presence-dot" aria-hidden="true" />
              {online[p.id] ? "online" : "offline"}
            </span>
          </li>
        ))}
      </ul>
      <h3>Personas</h3>
      {personas.length === 0 ? (
        <p className="hint">None yet. Add one in the room settings.</p>
      ) : (
        <ul className="persona-list">
          {personas.map((p) => (
            <li key={p.handle}>
              <Avatar id={`persona:${p.handle}`} name={p.name} ai />
              <span className="persona-text">
                <span className="person-name">{p.name}</span>
                <span className="hint">
                  @{p.handle} · {p.model}
                </span>
              </span>
            </li>
          ))}
        </ul>
      )}
    </aside>
  );
}
