import { useEffect, useRef, useState, type FormEvent } from "react";
import { useSession } from "../app/context";
import { autopilotPatch, toAutopilotDraft, validateAutopilot } from "../autopilot/autopilot";
import { fromDraft, toDraft, validateDrafts, type PersonaDraft } from "./personas";
import { useModels } from "./useModels";
import type { Room, RoomAccess, RoomSettingsPatch } from "../api/types";
import { AccessFields } from "./AccessFields";
import { AutopilotSettings } from "../autopilot/AutopilotSettings";
import { PersonaEditor } from "./PersonaEditor";
import { SummaryPanel } from "../room/SummaryPanel";

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
  const [access, setAccess] = useState<RoomAccess>(room.access ?? "invite");
  const [allowGuests, setAllowGuests] = useState(room.allow_guests ?? false);
  const { models, error: modelsError } = useModels(api);
  const dialog = useRef<HTMLDialogElement>(null);
  const [name, setName] = useState(room.name);
  const [drafts, setDrafts] = useState<PersonaDraft[]>(() => room.personas.map(toDraft));
  const [showErrors, setShowErrors] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const errors = validateDrafts(drafts);
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
    setShowErrors(true);
    if (Object.keys(autopilotErrors).length) return;
    if (owner && (!name.trim() || Object.keys(errors).length)) return;
    const personas = drafts.map(fromDraft);
    const patch: RoomSettingsPatch = {};
    // Only the owner may change anything but the autopilot (a member's PATCH carries it alone).
    if (owner) {
      if (name.trim() !== room.name) patch.name = name.trim();
      if (JSON.stringify(personas) !== JSON.stringify(room.personas.map((p) => fromDraft(toDraft(p))))) {
        patch.personas = personas;
      }
      if (access !== (room.access ?? "invite")) patch.access = access;
      if (allowGuests !== (room.allow_guests ?? false)) patch.allow_guests = allowGuests;
    }
    const autopilotChange = autopilotPatch(autopilot, room.autopilot);
    if (autopilotChange) patch.autopilot = autopilotChange;
    if (Object.keys(patch).length === 0) return onClose();
    setBusy(true);
    setError(null);
    try {
      onSaved(await api.updateRoom(room.id, patch));
      onClose();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
      setBusy(false);
    }
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
          <>
            <div className="field">
              <label htmlFor="settings-room-name">Room name</label>
              <input
                id="settings-room-name"
                value={name}
                maxLength={200}
                onChange={(e) => setName(e.target.value)}
                aria-invalid={showErrors && !name.trim()}
              />
              {showErrors && !name.trim() && <p className="field-error">Give the room a name.</p>}
            </div>
            <AccessFields
              access={access}
              allowGuests={allowGuests}
              guestOwner={user.kind === "guest"}
              onChange={(patch) => {
                if (patch.access) setAccess(patch.access);
                if (patch.allowGuests !== undefined) setAllowGuests(patch.allowGuests);
              }}
            />
            <PersonaEditor
              drafts={drafts}
              onChange={setDrafts}
              models={models}
              modelsError={modelsError}
              errors={showErrors ? errors : {}}
            />
          </>
        ) : (
          <p className="hint" role="note">
            Only the room’s owner can change its name, who can join and its personas.
          </p>
        )}
        <AutopilotSettings
          autopilot={room.autopilot}
          draft={autopilot}
          onChange={setAutopilot}
          personas={drafts}
          onPersonasChange={setDrafts}
          models={models}
          errors={showErrors ? autopilotErrors : {}}
          personaErrors={showErrors ? errors : {}}
          personasLocked={!owner}
        />
        <SummaryPanel room={room} />
        {error && (
          <p role="alert" className="form-error">
            {error}
          </p>
        )}
        <div className="form-actions">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy}>
            Save
          </button>
        </div>
      </form>
    </dialog>
  );
}
