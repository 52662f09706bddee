import { useEffect, useRef, useState, type FormEvent } from "react";
import { useSession } from "../app/context";
import { autopilotPatch, toAutopilotDraft, validateAutopilot } from "../rooms/autopilot";
import { fromDraft, toDraft, validateDrafts, type PersonaDraft } from "../rooms/personas";
import { useModels } from "../rooms/useModels";
import type { AutopilotPatch, Room } from "../types";
import { AutopilotSettings } from "./AutopilotSettings";
import { PersonaEditor } from "./PersonaEditor";
import { SummaryPanel } from "./SummaryPanel";

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
    if (!name.trim() || Object.keys(errors).length || Object.keys(autopilotErrors).length) return;
    const personas = drafts.map(fromDraft);
    const patch: { name?: string; personas?: typeof personas; autopilot?: AutopilotPatch } = {};
    if (name.trim() !== room.name) patch.name = name.trim();
    if (JSON.stringify(personas) !== JSON.stringify(room.personas.map((p) => fromDraft(toDraft(p))))) {
      patch.personas = personas;
    }
    const autopilotChange = autopilotPatch(autopilot, room.autopilot);
    if (autopilotChange) patch.autopilot = autopilotChange;
    if (!patch.name && !patch.personas && !patch.autopilot) return onClose();
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
        <AutopilotSettings
          autopilot={room.autopilot}
          draft={autopilot}
          onChange={setAutopilot}
          personas={drafts}
          onPersonasChange={setDrafts}
          models={models}
          errors={showErrors ? autopilotErrors : {}}
          personaErrors={showErrors ? errors : {}}
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
