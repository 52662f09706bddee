import { type FormEvent, useEffect, useRef, useState } from "react";
import type { Room, RoomSettingsPatch } from "../api/types";
import { useSession } from "../app/context";
import { AutopilotSettings } from "../autopilot/AutopilotSettings";
import { autopilotPatch, toAutopilotDraft, validateAutopilot } from "../autopilot/autopilot";
import { SummaryPanel } from "../room/SummaryPanel";
import { RoomFields, roomChanges, toRoomDraft, useRoomForm } from "./RoomForm";

interface Props {
  room: Room;
  onClose: () => void;
  onSaved: (room: Room) => void;
}

/**
 * A room's settings. The owner changes everything: name, who can join, personas (the list is
 * replaced as a whole, talkativeness and mute included) and the autopilot. A member (anyone who
 * may send) changes only the autopilot settings and may post a summary; `room.role` says which.
 */
export function RoomSettings({ room, onClose, onSaved }: Props) {
  const { api, user } = useSession();
  const owner = room.role === "owner";
  const dialog = useRef<HTMLDialogElement>(null);
  const form = useRoomForm(api, () => toRoomDraft(room));
  const [autopilot, setAutopilot] = useState(() => toAutopilotDraft(room.autopilot));
  const autopilotErrors = validateAutopilot(autopilot);

  useEffect(() => {
    const el = dialog.current;
    if (!el || el.open) return;
    if (typeof el.showModal === "function") el.showModal();
    else el.setAttribute("open", "");
  }, []);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    form.revealErrors();
    if (Object.keys(autopilotErrors).length) return;
    if (owner && !form.valid) return;
    // Only the owner may change anything but the autopilot (a member's PATCH carries it alone).
    const patch: RoomSettingsPatch = owner ? roomChanges(form.draft, room) : {};
    const autopilotChange = autopilotPatch(autopilot, room.autopilot);
    if (autopilotChange) patch.autopilot = autopilotChange;
    if (Object.keys(patch).length === 0) return onClose();
    await form.save(async () => {
      onSaved(await api.updateRoom(room.id, patch));
      onClose();
    });
  };

  return (
    <dialog
      ref={dialog}
      className="dialog"
      aria-labelledby="settings-title"
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <form className="form" onSubmit={submit} noValidate>
        <h2 id="settings-title">Room settings</h2>
        {owner ? (
          <RoomFields form={form} nameId="settings-room-name" guestOwner={user.kind === "guest"} />
        ) : (
          <p className="hint" role="note">
            Only the room’s owner can change its name, who can join and its personas.
          </p>
        )}
        <AutopilotSettings
          autopilot={room.autopilot}
          draft={autopilot}
          onChange={setAutopilot}
          personas={form.draft.personas}
          onPersonasChange={(personas) => form.update({ personas })}
          models={form.models}
          errors={form.showErrors ? autopilotErrors : {}}
          personaErrors={form.personaErrors}
          personasLocked={!owner}
        />
        <SummaryPanel room={room} />
        {form.error && (
          <p role="alert" className="form-error">
            {form.error}
          </p>
        )}
        <div className="form-actions">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={form.busy}>
            Save
          </button>
        </div>
      </form>
    </dialog>
  );
}
