import { useState, type FormEvent } from "react";
import { useSession } from "../app/context";
import { navigate, roomHref } from "../app/route";
import { fromDraft, validateDrafts, type PersonaDraft } from "./personas";
import { useModels } from "./useModels";
import type { Room, RoomAccess } from "../api/types";
import { AccessFields } from "./AccessFields";
import { PersonaEditor } from "./PersonaEditor";

/** The form that creates a room, optionally with personas. */
export function CreateRoom({ onCreated }: { onCreated: (room: Room) => void }) {
  const { api, user } = useSession();
  const { models, error: modelsError } = useModels(api);
  const [name, setName] = useState("");
  const [access, setAccess] = useState<RoomAccess>("invite");
  const [allowGuests, setAllowGuests] = useState(false);
  const guest = user.kind === "guest";
  const [drafts, setDrafts] = useState<PersonaDraft[]>([]);
  const [showErrors, setShowErrors] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const errors = validateDrafts(drafts);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setShowErrors(true);
    if (!name.trim() || Object.keys(errors).length) return;
    setBusy(true);
    setError(null);
    try {
      const room = await api.createRoom(name.trim(), drafts.map(fromDraft), {
        access,
        allow_guests: allowGuests || guest,
      });
      onCreated(room);
      navigate(roomHref(room.id));
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
      setBusy(false);
    }
  };

  return (
    <section className="page" aria-labelledby="create-room-title">
      <form className="card form" onSubmit={submit} noValidate>
        <h2 id="create-room-title">New room</h2>
        <div className="field">
          <label htmlFor="room-name">Room name</label>
          <input
            id="room-name"
            value={name}
            maxLength={200}
            onChange={(e) => setName(e.target.value)}
            aria-invalid={showErrors && !name.trim()}
            aria-describedby={showErrors && !name.trim() ? "room-name-error" : undefined}
            placeholder="Design review"
          />
          {showErrors && !name.trim() && (
            <p id="room-name-error" className="field-error">
              Give the room a name.
            </p>
          )}
        </div>
        <AccessFields
          access={access}
          allowGuests={allowGuests}
          guestOwner={guest}
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
          <button type="submit" className="btn btn-primary" disabled={busy}>
            Create room
          </button>
        </div>
      </form>
    </section>
  );
}
