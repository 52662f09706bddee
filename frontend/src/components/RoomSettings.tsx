import { useEffect, useRef, useState, type FormEvent } from "react";
import { useSession } from "../app/context";
import { fromDraft, toDraft, validateDrafts, type PersonaDraft } from "../rooms/personas";
import { useModels } from "../rooms/useModels";
import type { Room } from "../types";
import { PersonaEditor } from "./PersonaEditor";

interface Props {
  room: Room;
  onClose: () => void;
  onSaved: (room: Room) => void;
}

/** Rename the room and edit its personas (the list is replaced as a whole). */
export function RoomSettings({ room, onClose, onSaved }: Props) {
  const { api } = useSession();
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
    const patch: { name?: string; personas?: typeof personas } = {};
    if (name.trim() !== room.name) patch.name = name.trim();
    if (JSON.stringify(personas) !== JSON.stringify(room.personas.map((p) => fromDraft(toDraft(p))))) {
      patch.personas = personas;
    }
    if (!patch.name && !patch.personas) return onClose();
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
