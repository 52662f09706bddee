import { useId } from "react";
import type { RoomAccess } from "../api/types";

interface Props {
  access: RoomAccess;
  allowGuests: boolean;
  onChange: (patch: { access?: RoomAccess; allowGuests?: boolean }) => void;
  /** A guest's own room always admits guests (else its owner could not use it). */
  guestOwner?: boolean;
}

/** Who may join a room: invited people only, or anyone signed in; and whether guests count. */
export function AccessFields({ access, allowGuests, onChange, guestOwner = false }: Props) {
  const id = useId();
  return (
    <fieldset className="access">
      <legend>Who can join</legend>
      <label className="choice">
        <input
          type="radio"
          name={`${id}-access`}
          value="invite"
          checked={access === "invite"}
          onChange={() => onChange({ access: "invite" })}
          aria-describedby={`${id}-invite-hint`}
        />
        <span>
          Invited people only
          <span id={`${id}-invite-hint`} className="hint choice-hint">
            Members join through invite links you share. Others cannot even see the room.
          </span>
        </span>
      </label>
      <label className="choice">
        <input
          type="radio"
          name={`${id}-access`}
          value="open"
          checked={access === "open"}
          onChange={() => onChange({ access: "open" })}
          aria-describedby={`${id}-open-hint`}
        />
        <span>
          Anyone signed in
          <span id={`${id}-open-hint`} className="hint choice-hint">
            Listed for everyone with an account on this server; anyone can join.
          </span>
        </span>
      </label>
      <label className="choice">
        <input
          type="checkbox"
          checked={allowGuests || guestOwner}
          disabled={guestOwner}
          onChange={(e) => onChange({ allowGuests: e.target.checked })}
          aria-describedby={`${id}-guests-hint`}
        />
        <span>
          Allow guests
          <span id={`${id}-guests-hint`} className="hint choice-hint">
            {guestOwner
              ? "Rooms made by a guest always admit guests."
              : "People without an account can join too (with an invite, or freely in an open room)."}
          </span>
        </span>
      </label>
    </fieldset>
  );
}
