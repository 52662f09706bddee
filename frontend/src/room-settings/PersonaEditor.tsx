import { useId } from "react";
import type { ModelInfo, Voice } from "../api/types";
import { type DraftErrors, newDraft, type PersonaDraft } from "./personas";
import { VoiceFields } from "./VoiceFields";

interface Props {
  drafts: PersonaDraft[];
  onChange: (drafts: PersonaDraft[]) => void;
  models: ModelInfo[] | null;
  modelsError: string | null;
  /** The voice registry (null: loading); absent where the form offers no voices. */
  voices?: Voice[] | null;
  voicesError?: string | null;
  onPreview?: (voice: string, text: string, rate: number) => Promise<ArrayBuffer>;
  errors: Record<string, DraftErrors>;
}

/** Add, remove and edit a room's personas. */
export function PersonaEditor({ drafts, onChange, models, modelsError, errors, ...voice }: Props) {
  const update = (key: string, patch: Partial<PersonaDraft>) =>
    onChange(drafts.map((d) => (d.key === key ? { ...d, ...patch } : d)));
  const add = () =>
    onChange([
      ...drafts,
      newDraft(
        models ?? [],
        drafts.map((d) => d.handle),
      ),
    ]);
  const remove = (key: string) => onChange(drafts.filter((d) => d.key !== key));
  const noneAvailable = models !== null && !models.some((m) => m.available);

  return (
    <div className="personas">
      <div className="personas-head">
        <h3>Personas</h3>
        <button type="button" className="btn" onClick={add}>
          Add persona
        </button>
      </div>
      {modelsError && <p className="field-error">Models could not be loaded: {modelsError}</p>}
      {noneAvailable && !modelsError && (
        <p className="hint">No model is available right now; see each model's reason below.</p>
      )}
      {drafts.length === 0 && (
        <p className="hint">No personas. Add one to have an AI answer when someone writes @its-handle.</p>
      )}
      {drafts.map((draft, i) => (
        <PersonaFields
          key={draft.key}
          index={i + 1}
          draft={draft}
          models={models}
          voices={voice.voices ?? null}
          voicesError={voice.voicesError ?? null}
          onPreview={voice.onPreview}
          errors={errors[draft.key] ?? {}}
          onChange={(patch) => update(draft.key, patch)}
          onRemove={() => remove(draft.key)}
        />
      ))}
    </div>
  );
}

interface FieldsProps {
  index: number;
  draft: PersonaDraft;
  models: ModelInfo[] | null;
  voices: Voice[] | null;
  voicesError: string | null;
  onPreview?: (voice: string, text: string, rate: number) => Promise<ArrayBuffer>;
  errors: DraftErrors;
  onChange: (patch: Partial<PersonaDraft>) => void;
  onRemove: () => void;
}

function PersonaFields(props: FieldsProps) {
  const { index, draft, models, errors, onChange, onRemove } = props;
  const id = useId();
  const selected = models?.find((m) => m.id === draft.model);
  const known = !draft.model || !models || selected !== undefined;
  return (
    <fieldset className="persona">
      <legend>Persona {index}</legend>
      <button type="button" className="btn btn-quiet persona-remove" onClick={onRemove}>
        Remove persona {index}
      </button>
      <div className="persona-grid">
        <div className="field">
          <label htmlFor={`${id}-model`}>Model</label>
          <select
            id={`${id}-model`}
            value={draft.model}
            onChange={(e) => onChange({ model: e.target.value })}
            aria-invalid={!!errors.model}
            aria-describedby={`${id}-model-note`}
          >
            <option value="" disabled>
              {models === null ? "Loading models…" : "Choose a model"}
            </option>
            {!known && <option value={draft.model}>{draft.model} (not in the registry)</option>}
            {models?.map((m) => (
              <option key={m.id} value={m.id} disabled={!m.available}>
                {m.available ? `${m.id} · ${m.backend}` : `${m.id} · unavailable: ${m.reason ?? "unknown reason"}`}
              </option>
            ))}
          </select>
          <p
            id={`${id}-model-note`}
            className={errors.model || (selected && !selected.available) ? "field-error" : "hint"}
          >
            {errors.model ??
              (selected && !selected.available
                ? `Unavailable: ${selected.reason ?? "unknown reason"}`
                : selected
                  ? `${selected.model}, ${selected.context_window.toLocaleString()} tokens of context`
                  : "")}
          </p>
        </div>
        <div className="field">
          <label htmlFor={`${id}-handle`}>Handle</label>
          <div className="input-prefix">
            <span aria-hidden="true">@</span>
            <input
              id={`${id}-handle`}
              value={draft.handle}
              onChange={(e) => onChange({ handle: e.target.value.toLowerCase() })}
              autoCapitalize="off"
              autoCorrect="off"
              spellCheck={false}
              maxLength={32}
              aria-invalid={!!errors.handle}
              aria-describedby={`${id}-handle-note`}
            />
          </div>
          <p id={`${id}-handle-note`} className={errors.handle ? "field-error" : "hint"}>
            {errors.handle ?? "Mention it to get an answer."}
          </p>
        </div>
        <div className="field">
          <label htmlFor={`${id}-name`}>Persona name</label>
          <input
            id={`${id}-name`}
            value={draft.name}
            placeholder={draft.handle}
            maxLength={64}
            onChange={(e) => onChange({ name: e.target.value })}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-temp`}>Temperature</label>
          <input
            id={`${id}-temp`}
            type="number"
            inputMode="decimal"
            min={0}
            max={2}
            step={0.1}
            value={draft.temperature}
            onChange={(e) => onChange({ temperature: e.target.value })}
            aria-invalid={!!errors.temperature}
            aria-describedby={errors.temperature ? `${id}-temp-note` : undefined}
          />
          {errors.temperature && (
            <p id={`${id}-temp-note`} className="field-error">
              {errors.temperature}
            </p>
          )}
        </div>
        <div className="field field-wide">
          <label htmlFor={`${id}-prompt`}>System prompt</label>
          <textarea
            id={`${id}-prompt`}
            rows={3}
            value={draft.system_prompt}
            placeholder="You are a calm, concise advisor."
            onChange={(e) => onChange({ system_prompt: e.target.value })}
          />
        </div>
        <VoiceFields
          draft={draft}
          voices={props.voices}
          voicesError={props.voicesError}
          error={errors.voice_rate}
          onChange={onChange}
          onPreview={props.onPreview}
        />
      </div>
    </fieldset>
  );
}
