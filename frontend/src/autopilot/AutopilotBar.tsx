import type { AutopilotPatch, AutopilotStatus, Room } from "../api/types";
import { DEFAULT_AUTOPILOT, statusText } from "./autopilot";

interface Props {
  room: Room;
  status: AutopilotStatus;
  onChange: (patch: AutopilotPatch) => void;
  /** A viewer may not switch it: no switch, only what it is doing while it is on. */
  readOnly?: boolean;
}

/** The room's autopilot under the timeline: a switch, and what it is doing. */
export function AutopilotBar({ room, status, onChange, readOnly = false }: Props) {
  const autopilot = room.autopilot ?? DEFAULT_AUTOPILOT;
  const doing = statusText(status, room.personas);
  const limits = `${autopilot.turns}/${autopilot.max_turns} turns`;
  if (readOnly) {
    if (!autopilot.enabled) return null;
    return (
      <div className="autopilot-bar">
        <span className="autopilot-doing" aria-live="polite">
          {["Autopilot on", doing, limits].filter(Boolean).join(" · ")}
        </span>
      </div>
    );
  }
  return (
    <div className="autopilot-bar">
      <button
        type="button"
        className={autopilot.enabled ? "btn autopilot-switch autopilot-on" : "btn autopilot-switch"}
        aria-pressed={autopilot.enabled}
        disabled={room.personas.length === 0}
        title={room.personas.length ? "Let the personas talk on their own" : "Add a persona first"}
        onClick={() => onChange({ enabled: !autopilot.enabled })}
      >
        Autopilot {autopilot.enabled ? "on" : "off"}
      </button>
      <span className="autopilot-doing" aria-live="polite">
        {autopilot.enabled ? [doing, limits].filter(Boolean).join(" · ") : ""}
      </span>
    </div>
  );
}
