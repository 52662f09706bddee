import { useEffect, useRef, useState, type FormEvent } from "react";
import { useSession } from "../app/context";
import { fromDraft, toDraft, validateDrafts, type PersonaDraft } from "../rooms/personas";
import { useModels } from "../rooms/useModels";
import type { Room, RoomAccess, RoomSettingsPatch } from "../types";
import { AccessFields } from "./AccessFields";
import { PersonaEditor } from "./PersonaEditor";

interface Props {
  room: Room;
  onClose: () => void;
  onSaved: (room: Room) => void;
}

/** The owner's settings: name, who can join, personas (the list is replaced as a whole). */
export function RoomSettings({ room, onClose, onSaved }: Props) {
  const { api, user } = useSession();
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

  useEffect(() => {
    const el = dialog.current;
    if (!el || el.open) return;
    if (typeof el.showModal === "function") el.showModal();
    else el.setAttribute("open", "");
  }, []);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setShowErrors(true);
    if (!name.trim() || Object.keys(errors).length) return;
    const personas = drafts.map(fromDraft);
    const patch: RoomSettingsPatch = {};
    if (name.trim() !== room.name) patch.name = name.trim();
    if (JSON.stringify(personas) !== JSON.stringify(room.personas.map((p) => fromDraft(toDraft(p))))) {
      patch.personas = personas;
    }
    if (access !== (room.access ?? "invite")) patch.access = access;
    if (allowGuests !== (room.allow_guests ?? false)) patch.allow_guests = allowGuests;
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
