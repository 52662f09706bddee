// A persona's voice: which one (only available voices can be chosen), its rate, and a preview.
import { useId, useState } from "react";
import type { Voice } from "../api/types";
import { sharedPlayer } from "../voice/useSpeech";
import type { PersonaDraft } from "./personas";

interface Props {
  draft: PersonaDraft;
  /** null: loading. */
  voices: Voice[] | null;
  voicesError: string | null;
  error?: string;
  onChange: (patch: Partial<PersonaDraft>) => void;
  onPreview?: (voice: string, text: string, rate: number) => Promise<ArrayBuffer>;
  /** Plays the preview's audio (the page's speech player by default). */
  play?: (wav: ArrayBuffer) => Promise<void>;
}

export function sampleSentence(draft: PersonaDraft): string {
  const name = draft.name.trim() || draft.handle.trim() || "a persona";
  return `Hello, I am ${name}. This is how I sound in your room.`;
}

function voiceLabel(v: Voice): string {
  const what = [v.name || v.id, v.language].filter(Boolean).join(", ");
  return v.available ? what : `${what} · unavailable: ${v.reason ?? "unknown reason"}`;
}

export function VoiceFields({ draft, voices, voicesError, error, onChange, onPreview, play }: Props) {
  const id = useId();
  const [previewing, setPreviewing] = useState(false);
  const [previewError, setPreviewError] = useState<string | null>(null);
  const selected = voices?.find((v) => v.id === draft.voice);
  const known = !draft.voice || !voices || selected !== undefined;
  const rate = Number(draft.voice_rate);
  const canPreview = !!onPreview && !!selected?.available && !error && !previewing;

  const preview = async () => {
    if (!onPreview || !draft.voice) return;
    setPreviewing(true);
    setPreviewError(null);
    const player = play ?? ((wav: ArrayBuffer) => sharedPlayer().playClip(wav));
    if (!play) sharedPlayer().context();
    try {
      await player(await onPreview(draft.voice, sampleSentence(draft), rate));
    } catch (e) {
      setPreviewError(e instanceof Error ? e.message : String(e));
    } finally {
      setPreviewing(false);
    }
  };

  const note =
    voicesError !== null
      ? `Voices could not be loaded: ${voicesError}`
      : selected && !selected.available
        ? `Unavailable: ${selected.reason ?? "unknown reason"}`
        : !known
          ? "This voice is not in the registry."
          : draft.voice
            ? "Replies are read aloud to members who switch sound on."
            : "Not heard: replies are only written.";
  const noteIsError = voicesError !== null || (selected !== undefined && !selected.available) || !known;

  return (
    <>
      <div className="field">
        <label htmlFor={`${id}-voice`}>Voice</label>
        <select
          id={`${id}-voice`}
          value={draft.voice}
          onChange={(e) => onChange({ voice: e.target.value })}
          aria-describedby={`${id}-voice-note`}
        >
          <option value="">{voices === null ? "Loading voices…" : "No voice"}</option>
          {!known && <option value={draft.voice}>{draft.voice} (not in the registry)</option>}
          {voices?.map((v) => (
            <option key={v.id} value={v.id} disabled={!v.available}>
              {voiceLabel(v)}
            </option>
          ))}
        </select>
        <p id={`${id}-voice-note`} className={noteIsError ? "field-error" : "hint"}>
          {note}
        </p>
      </div>
      <div className="field">
        <label htmlFor={`${id}-rate`}>Speaking rate</label>
        <div className="voice-rate">
          <input
            id={`${id}-rate`}
            type="number"
            inputMode="decimal"
            min={0.5}
            max={2}
            step={0.1}
            value={draft.voice_rate}
            disabled={!draft.voice}
            onChange={(e) => onChange({ voice_rate: e.target.value })}
            aria-invalid={!!error}
            aria-describedby={error ? `${id}-rate-note` : undefined}
          />
          {onPreview && (
            <button type="button" className="btn" disabled={!canPreview} onClick={() => void preview()}>
              {previewing ? "Playing…" : "Preview"}
            </button>
          )}
        </div>
        {error && (
          <p id={`${id}-rate-note`} className="field-error">
            {error}
          </p>
        )}
        {previewError && (
          <p className="field-error" role="alert">
            Preview failed: {previewError}
          </p>
        )}
      </div>
    </>
  );
}
