// What "New room" and the owner's "Room settings" share: the fields, their state and validation.
import { useState } from "react";
import type { Api } from "../api/api";
import type { Room, RoomAccess, RoomSettingsPatch } from "../api/types";
import { AccessFields } from "./AccessFields";
import { PersonaEditor } from "./PersonaEditor";
import { fromDraft, type PersonaDraft, toDraft, validateDrafts } from "./personas";
import { useModels } from "./useModels";
import { useVoices } from "./useVoices";

/** A room as its form edits it. */
export interface RoomDraft {
  name: string;
  access: RoomAccess;
  allowGuests: boolean;
  personas: PersonaDraft[];
}

export const NEW_ROOM: RoomDraft = { name: "", access: "invite", allowGuests: false, personas: [] };

export function toRoomDraft(room: Room): RoomDraft {
  return {
    name: room.name,
    access: room.access ?? "invite",
    allowGuests: room.allow_guests ?? false,
    personas: room.personas.map(toDraft),
  };
}

/** What the owner changed: the personas are replaced as a whole when any of them differs. */
export function roomChanges(draft: RoomDraft, room: Room): RoomSettingsPatch {
  const patch: RoomSettingsPatch = {};
  const name = draft.name.trim();
  if (name !== room.name) patch.name = name;
  const personas = draft.personas.map(fromDraft);
  if (JSON.stringify(personas) !== JSON.stringify(room.personas.map((p) => fromDraft(toDraft(p))))) {
    patch.personas = personas;
  }
  if (draft.access !== (room.access ?? "invite")) patch.access = draft.access;
  if (draft.allowGuests !== (room.allow_guests ?? false)) patch.allow_guests = draft.allowGuests;
  return patch;
}

export type RoomForm = ReturnType<typeof useRoomForm>;

/**
 * A room form's state: the draft, its errors (shown from the first submit on), the models for
 * the persona pickers, and the save in progress.
 */
export function useRoomForm(api: Api, initial: RoomDraft | (() => RoomDraft)) {
  const [draft, setDraft] = useState(initial);
  const [showErrors, setShowErrors] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const { models, error: modelsError } = useModels(api);
  const { voices, error: voicesError } = useVoices(api);
  const personaErrors = validateDrafts(draft.personas);

  /** Busy while `action` runs; if it fails, its message shows and the form can be sent again. */
  const save = async (action: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
      setBusy(false);
    }
  };

  return {
    draft,
    update: (patch: Partial<RoomDraft>) => setDraft((d) => ({ ...d, ...patch })),
    valid: draft.name.trim() !== "" && Object.keys(personaErrors).length === 0,
    showErrors,
    revealErrors: () => setShowErrors(true),
    personaErrors: showErrors ? personaErrors : {},
    models,
    modelsError,
    voices,
    voicesError,
    /** Say a sample sentence in a voice (the bytes of a WAV). */
    preview: (voice: string, text: string, rate: number) => api.previewSpeech(voice, text, rate),
    busy,
    error,
    save,
  };
}

interface Props {
  form: RoomForm;
  /** The name input's id (its error's id derives from it). */
  nameId: string;
  placeholder?: string;
  /** A guest's own room always admits guests. */
  guestOwner: boolean;
}

/** The room's name, who can join, and its personas. */
export function RoomFields({ form, nameId, placeholder, guestOwner }: Props) {
  const { draft, update } = form;
  const nameMissing = form.showErrors && !draft.name.trim();
  return (
    <>
      <div className="field">
        <label htmlFor={nameId}>Room name</label>
        <input
          id={nameId}
          value={draft.name}
          maxLength={200}
          onChange={(e) => update({ name: e.target.value })}
          aria-invalid={nameMissing}
          aria-describedby={nameMissing ? `${nameId}-error` : undefined}
          placeholder={placeholder}
        />
        {nameMissing && (
          <p id={`${nameId}-error`} className="field-error">
            Give the room a name.
          </p>
        )}
      </div>
      <AccessFields access={draft.access} allowGuests={draft.allowGuests} guestOwner={guestOwner} onChange={update} />
      <PersonaEditor
        drafts={draft.personas}
        onChange={(personas) => update({ personas })}
        models={form.models}
        modelsError={form.modelsError}
        voices={form.voices}
        voicesError={form.voicesError}
        onPreview={form.preview}
        errors={form.personaErrors}
      />
    </>
  );
}
